package uringnet

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// op is one direction's in-flight operation: a goroutine parks on done
// until the ring completes it. It is reused for every operation in that
// direction, so the steady state allocates nothing.
type op struct {
	done     chan struct{}
	res      int32
	h        core.Handle
	sa       unix.RawSockaddrAny
	e        *engine
	inflight bool // guarded by the engine's mu, as are the fields below
	// A parked op is on e.waiters, linked through prev and next; takeover
	// tells its goroutine, woken while the op is still in flight, that it
	// is now the engine's poller (see wait.go).
	parked, takeover bool
	prev, next       *op
	// small: the receive is into the side's own buffer; detached: its
	// goroutine has left it in flight at a deadline (orphan.go); off: how
	// much of its result a Read has taken.
	small, detached bool
	off             int32
	// ms: the op is a Read's wait on the side's multishot receive
	// (mshot.go), not an operation of its own; owed: detach could not
	// wake it yet and its poll must (wait.go).
	ms, owed bool
	// rw: the op is a Read waiting for its socket's readiness (ready.go),
	// into buf; sub: its receive has been submitted; stop: a deadline or
	// Close cancelled that receive.
	rw, sub, stop bool
	buf           []byte
}

func (o *op) init(e *engine) {
	o.done = make(chan struct{}, 1)
	o.e = e
}

// opDone is the completion callback of every uringnet operation. It runs
// under the engine's mu.
func opDone(_ core.Runtime, t *core.Task) error {
	o := core.UserdataAs[*op](t)
	o.res = t.Result.Res
	if o.rw {
		o.sub = false
		if o.res == -int32(unix.EAGAIN) && !o.detached && !o.stop {
			// The readiness was stale: the Read goes on waiting.
			return nil
		}
	}
	if t.Result.Op == core.OpAccept {
		o.sa = *t.RemoteSockaddr()
	}
	o.inflight = false
	o.off = 0
	if o.detached {
		// Nobody waits: the next Read takes the result.
		o.detached = false
		return nil
	}
	o.e.wake(o)
	return nil
}

// opCtx is the completion context of o's operations.
func opCtx(o *op) core.Ctx { return core.Ctx{Callback: opDone, Userdata: o} }

// wake hands the goroutine waiting on o its completion: off the parked
// list, counted for the poller, and one token on o.done. The caller holds
// e.mu.
func (e *engine) wake(o *op) {
	e.waiters.remove(o)
	e.readied++
	o.done <- struct{}{}
}

// side is one direction of a descriptor: the lock that lets one operation at
// a time run in that direction (concurrent Reads queue, as in package net),
// its operation and its deadline.
type side struct {
	mu       sync.Mutex
	op       op
	deadline atomic.Int64 // UnixNano, 0 for none
	tmu      sync.Mutex   // guards timer: deadlines may be set concurrently
	timer    *time.Timer
	expire   func() // cancels the in-flight op; bound once, so timers allocate once
	// small is the buffer of receives that may be orphaned, and orphan
	// says that one was: in flight, or holding data no Read has taken
	// (orphan.go). orphan is guarded by mu.
	small  *[smallRead]byte
	orphan bool
	ms     mshot // the side's multishot receive; guarded by the engine's mu
	// msOn: reads go through ms's queue; guarded by mu, set under the
	// engine's mu from ms.on.
	msOn bool
	// rready: the socket may hold data for the next Read; rhup: a short
	// read no longer says the socket is empty (end of stream, urgent
	// data), so every Read tries it until one finds it empty (ready.go).
	rready, rhup atomic.Bool
}

// holds reports whether bytes that receives brought wait for the next
// Read, or a receive that may bring them is still armed. The caller holds
// s.mu.
func (s *side) holds() bool { return s.orphan || s.msOn }

// lockedHolds is holds for a caller that does not hold s.mu.
func (s *side) lockedHolds() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holds()
}

// expired reports whether the side's deadline has passed.
func (s *side) expired() bool {
	d := s.deadline.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

// setDeadline moves the deadline, and cancels an operation in flight if the
// new deadline has already passed.
func (s *side) setDeadline(t time.Time) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if t.IsZero() {
		s.deadline.Store(0)
		if s.timer != nil {
			s.timer.Stop()
		}
		return
	}
	s.deadline.Store(t.UnixNano())
	d := time.Until(t)
	if d <= 0 {
		if s.timer != nil {
			s.timer.Stop()
		}
		s.expire()
		return
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.expire)
	} else {
		s.timer.Reset(d)
	}
}

// cancelInFlight cancels the side's operation if it is in flight. The caller
// holds the engine's mu.
func (s *side) cancelInFlight(r *core.Ring) {
	if s.op.inflight && !s.op.ms && !(s.op.rw && !s.op.sub) {
		// A readiness receive that finds nothing completes with EAGAIN,
		// not ECANCELED: stop makes that wake its Read too.
		s.op.stop = s.op.rw
		r.Cancel(s.op.h, core.Ctx{})
	}
}

func (s *side) stopTimer() {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
}
