//go:build !race

package compat_test

// raceEnabled says this test binary has the race detector, so the example
// server it builds gets it too.
const raceEnabled = false
