//go:build linux && !race

package uringnet_test

const raceEnabled = false
