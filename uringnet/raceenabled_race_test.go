//go:build linux && race

package uringnet_test

// raceEnabled says the tests run under the race detector.
const raceEnabled = true
