//go:build linux && race

package uringnet

// raceOrder orders the call it is made in, for the race detector, after
// every earlier Read, Write or Close on f and before every later one, as
// package net's descriptor lock (internal/poll's fdMutex, one word for
// both directions) orders them: the detector takes an atomic operation on
// one word as a synchronising one. Only the race build pays for it.
func (f *netFD) raceOrder() { f.order.Add(1) }
