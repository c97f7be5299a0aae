//go:build linux

package uringnet

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// op is one direction's operation: a goroutine parks on done until the
// ring completes it, or, for a Read waiting for readiness, until its
// socket's receive has run (readstate.go). It is reused for every
// operation in that direction, so the steady state allocates nothing.
type op struct {
	done wakeup // hands the op's completion to its goroutine
	h    core.Handle
	// sa receives an accept's peer address, or a datagram's sender; a
	// listener's read side and both sides of a datagram socket have one
	// (the write side's holds a destination), so a stream connection's
	// ops carry no sockaddr. An accept or recvmsg must not be submitted
	// without it: Listener.Accept and newUDPConn make it. The kernel's
	// completion writes it under the engine's mu, and the caller reads it
	// after done's token, which orders the two.
	sa    *unix.RawSockaddrAny
	e     *engine
	state opState // guarded by the engine's mu, as are the fields below
	// A parked op is on e.waiters, linked through prev and next; takeover
	// tells its goroutine, woken while the op is still in flight, that it
	// is now the engine's poller (see wait.go); owed: endAwait could not
	// wake it yet and its poll must.
	parked, takeover, owed bool
	// res is the kernel's result, written under e.mu before done's
	// token and read by the op's goroutine after it, as are a recvmsg's
	// control data length and message flags.
	res        int32
	oobn       int32
	mflags     int32
	prev, next *op
	buf        []byte // an awaiting Read's buffer
}

// opDone is the completion callback of every uringnet operation on the
// ring (opRing). It runs under the engine's mu.
func opDone(_ core.Runtime, t *core.Task) error {
	o := core.UserdataAs[*op](t)
	o.res = t.Result.Res
	switch t.Result.Op {
	case core.OpAccept:
		*o.sa = *t.RemoteSockaddr()
	case core.OpRecvmsg:
		*o.sa = *t.RemoteSockaddr()
		o.oobn, o.mflags = int32(len(t.OOB())), int32(t.MsgFlags())
	}
	o.state = opIdle
	o.e.wake(o)
	return nil
}

// opCtx is the completion context of o's operations.
func opCtx(o *op) core.Ctx { return core.Ctx{Callback: opDone, Userdata: o} }

// wake hands the goroutine waiting on o its completion: off the parked
// list, counted for the poller, and o.done's token. The caller holds
// e.mu.
func (e *engine) wake(o *op) {
	e.waiters.remove(o)
	e.readied++
	o.done.give()
}

// side is one direction of a descriptor: the lock that lets one operation at
// a time run in that direction (concurrent Reads queue, as in package net),
// its operation and its deadline.
type side struct {
	mu       sync.Mutex
	op       op
	deadline atomic.Int64 // UnixNano, 0 for none
	timer    *time.Timer  // guarded by fd.tmu: deadlines may be set concurrently
	fd       *netFD       // the side's socket, which its deadline timer cancels on
	// rs is the read side's readiness word (readstate.go); one atomic
	// word, its rules written there.
	rs atomic.Uint32
	// ringFirst: the side's last receive on the ring found the socket
	// empty, so the next one skips the direct attempt (onRing). Read and
	// written only by the goroutine holding mu.
	ringFirst bool
}

// expired reports whether the side's deadline has passed.
func (s *side) expired() bool {
	d := s.deadline.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

// setDeadline moves the deadline, and cancels an operation in flight if the
// new deadline has already passed.
func (s *side) setDeadline(t time.Time) {
	s.fd.tmu.Lock()
	defer s.fd.tmu.Unlock()
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
		s.fd.cancel(s)
		return
	}
	if s.timer == nil {
		// Made with the side's first timed deadline, once: most
		// connections never set one.
		s.timer = time.AfterFunc(d, func() { s.fd.cancel(s) })
	} else {
		s.timer.Reset(d)
	}
}

// cancelInFlight cancels the side's operation if the kernel holds it.
// The caller holds the engine's mu.
func (s *side) cancelInFlight(r *core.Ring) {
	switch s.op.state {
	case opRing:
		r.Cancel(s.op.h, core.Ctx{})
	case opRecv:
		// A receive that finds nothing completes with EAGAIN, not
		// ECANCELED: opRecvStop makes that wake its Read too.
		s.op.state = opRecvStop
		r.Cancel(s.op.h, core.Ctx{})
	}
}

func (s *side) stopTimer() {
	s.fd.tmu.Lock()
	defer s.fd.tmu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
}
