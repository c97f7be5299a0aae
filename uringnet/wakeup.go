package uringnet

import "sync"

// wakeup is the one-token semaphore an op's goroutine parks on until its
// completion is handed to it: give puts the token, take waits for it and
// removes it. At most one token is ever outstanding, because the engine
// gives only to an op it holds (queued, parked or owed a wake-up) and the
// op's goroutine takes the token before it queues the op again.
//
// It is a sync.Mutex that is locked while no token is there (a Mutex may
// be unlocked by a goroutine other than the one that locked it): eight
// bytes inside the op where a channel costs an allocation of 96 bytes per
// side, with the same happens-before edge from give to take for the race
// detector.
type wakeup struct{ mu sync.Mutex }

// empty readies w, which starts without a token. It runs once, before the
// op is first used.
func (w *wakeup) empty() { w.mu.Lock() }

// give hands the token over; the caller holds the engine's mu.
func (w *wakeup) give() { w.mu.Unlock() }

// take waits for the token.
func (w *wakeup) take() { w.mu.Lock() }
