//go:build linux && !race

package uringnet

// raceOrder costs nothing outside the race build; see raceorder_race.go.
func (f *netFD) raceOrder() {}
