//go:build !race

package uringnet_test

const raceEnabled = false
