package uringnet

import (
	"os"

	"golang.org/x/sys/unix"
)

// A small Read that has to wait receives into a buffer of the connection's
// own rather than the caller's. Its deadline then needs no cancellation in
// the kernel: the Read returns at once, and the receive stays in flight,
// detached from any caller, until the next Read adopts it and takes what it
// brought. net/http interrupts a 1-byte background read this way after
// every request; a cancellation through the ring (a system call, the
// kernel's cancel and two completions to run) cost that about three times
// what package net pays, which only wakes the goroutine. The next Read
// waits on the receive already armed, so a keep-alive connection also
// arms one receive per request instead of two.
//
// While a receive is detached, or holds data not yet read, no other read
// may touch the socket directly, or bytes would come out of order: every
// read on the side adopts it first.

// smallRead is the largest Read that receives into the connection's
// buffer, and that buffer's size.
const smallRead = 128

// useSmall reports whether a receive for b that has to wait goes into the
// side's own buffer, allocating it the first time.
func (s *side) useSmall(b []byte) bool {
	if len(b) > smallRead {
		return false
	}
	if s.small == nil {
		s.small = new([smallRead]byte)
	}
	return true
}

// detach lets the goroutine waiting on the side's small receive, or on its
// multishot receive's queue, return without cancelling anything in the
// kernel; it reports whether it did. The caller holds the engine's mu.
func (s *side) detach() bool {
	o := &s.op
	e := o.e
	if !o.inflight || !(o.small || o.ms || (o.rw && !o.sub)) || o.detached {
		return false
	}
	switch {
	case o.parked:
		e.waiters.remove(o)
	case e.polling && e.pollerOp == o:
		// Its goroutine is the poller: it passes the role on when it
		// sees its operation detached (wait.go).
		e.kickPoller()
	default:
		// Neither parked nor polling, it is about to poll: handed the
		// role, its done still holding the hand-off, or between wait and
		// poll, which sets pollerOp only once the goroutine runs it. poll
		// sees the op detached at its first look and sends the wake-up
		// owed to it then.
		o.detached, o.owed = true, true
		return true
	}
	o.detached = true
	o.done <- struct{}{}
	return true
}

// wasDetached reports, once the goroutine waiting on the side's operation
// has been woken, whether it was woken by detach rather than by the
// completion. The completion may run right after detach, so the flag is
// read under the engine's mu.
func (s *side) wasDetached() bool {
	e := s.op.e
	e.mu.Lock()
	defer e.mu.Unlock()
	return s.op.detached
}

// adopt takes over the side's orphaned receive for a Read into b: it waits
// for it if it is still in flight, then hands over what it brought. The
// caller holds s.mu. done is false when the orphan is gone and the Read
// should go on as usual.
func (f *netFD) adopt(s *side, b []byte) (res int32, done bool, err error) {
	e := f.e
	o := &s.op
	e.mu.Lock()
	if o.inflight {
		if s.expired() {
			e.mu.Unlock()
			return 0, true, os.ErrDeadlineExceeded
		}
		o.detached = false
		e.wait(o)
		if s.wasDetached() {
			return 0, true, os.ErrDeadlineExceeded
		}
	} else {
		e.mu.Unlock()
	}
	if o.res == -int32(unix.ECANCELED) {
		// Cancelled by Close, or through the kernel by a deadline while
		// its goroutine was the poller: it brought nothing.
		s.orphan = false
		return 0, false, nil
	}
	return s.takeSmall(b), true, nil
}

// settle cancels the side's orphaned receive if it is still in flight and
// waits until the kernel is done with it, for an operation that does not
// read through the side's buffer (a splice, a raw read, Close). Data it
// brought stays for the next Read. The caller holds s.mu.
func (f *netFD) settle(s *side) {
	e := f.e
	o := &s.op
	e.mu.Lock()
	for o.inflight {
		o.detached = false
		s.cancelInFlight(e.ring)
		e.flush()
		e.wait(o)
		e.mu.Lock()
	}
	e.mu.Unlock()
	if s.orphan && o.res == -int32(unix.ECANCELED) {
		s.orphan = false
	}
}

// takeSmall hands the result of the side's completed small receive to a
// Read into b, keeping what does not fit for the next Read. The caller
// holds s.mu, and the receive is complete.
func (s *side) takeSmall(b []byte) int32 {
	o := &s.op
	if o.res <= 0 {
		s.orphan = false
		return o.res
	}
	n := copy(b, s.small[o.off:o.res])
	o.off += int32(n)
	s.orphan = o.off < o.res
	return int32(n)
}
