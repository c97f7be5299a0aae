//go:build linux

package uringnet

import "sync"

// wakeup is the one-token semaphore an op's goroutine parks on until its
// completion is handed to it: give puts the token, take waits for it and
// removes it.
//
// Owner rule: take is called only by the op's own goroutine, holding the
// side's mu; give only under the engine's mu, for an op the engine holds
// (in flight, parked, or owed a wake-up). At most one token is ever
// outstanding, because the op's goroutine takes the token before it
// queues the op again; a second give without a take would panic (a
// negative WaitGroup counter) where a channel would have blocked with the
// engine's mu held.
//
// It is a sync.WaitGroup whose counter is 1 while no token is there: 16
// bytes inside the op where a channel costs an allocation of 96 bytes per
// side, with the same happens-before edge from give to take for the race
// detector. Not a sync.Mutex, though one would do the same in 8 bytes: a
// goroutine parked in Mutex.Lock counts as mutex contention, so every
// Read waiting for its peer would show in the runtime's
// /sync/mutex/wait/total:seconds and in mutex profiles.
type wakeup struct{ wg sync.WaitGroup }

// empty readies w, which starts without a token. It runs once, before the
// op is first used.
func (w *wakeup) empty() { w.wg.Add(1) }

// give hands the token over.
func (w *wakeup) give() { w.wg.Done() }

// take waits for the token, and leaves w empty again for the op's next
// wait: the Add follows this goroutine's own Wait, as WaitGroup reuse
// requires.
func (w *wakeup) take() {
	w.wg.Wait()
	w.wg.Add(1)
}

// After Close, each side's wakeup is a gate instead. Close opens it as its
// last step, once the descriptor is closed, and a call that failed with
// net.ErrClosed passes it before returning, so none returns before the
// socket is gone: a listener's port refuses connections and a connection's
// peer has its FIN by then, as with package net, where the last reference
// to a descriptor closes it. Opening leaves the counter at 0 for good; no
// op waits on a closed side again.

// open is Close's last act on the side, holding the side's mu, so no token
// is outstanding: the counter goes from 1 to 0 and stays there.
func (w *wakeup) open() { w.wg.Done() }

// waitOpen waits until Close has opened the gate.
func (w *wakeup) waitOpen() { w.wg.Wait() }
