//go:build linux

package uringnet

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Accepting on a listening socket that another descriptor shares.
//
// An accept on the ring that has to wait puts an exclusive waiter on the
// socket: the kernel wakes one such waiter per arriving connection. When
// the socket is shared, with another process after a hand-over or with a
// second listener in this one, cancelling that accept (Close, a deadline)
// after the kernel chose it for a connection and before it took the
// connection swallows the wake-up: the connection stays queued while the
// other listener's accept sleeps on, until another connection comes. So a
// shared socket's Accept waits with a poll on the ring, which is not
// exclusive (every waiter is woken, and one cancelled takes nothing from
// the rest), then takes a connection with an accept that never waits
// (core's AcceptNoWait), which also stays non-blocking if another holder
// of the socket clears its O_NONBLOCK flag. Kernels before 6.10 lack that
// accept; there the direct accept4 takes the connection, and depends on
// the flag.

// acceptNoWaitMissing is set, once, when the kernel turns AcceptNoWait
// down; one atomic word, never cleared.
var acceptNoWaitMissing atomic.Bool

// accept runs Listener.Accept's operation on side s, whose lock the caller
// holds, with do's results.
func (f *netFD) accept(s *side) (int32, error) {
	if !f.shared.Load() {
		return f.do(s, kindAccept, args{})
	}
	for {
		if res, done, err := f.acceptQueued(s); done || err != nil {
			return res, err
		}
		res, err := f.do(s, kindPollIn, args{})
		if err != nil || res < 0 {
			return res, err
		}
	}
}

// acceptQueued takes a connection already queued, without waiting. done is
// false when there was none.
func (f *netFD) acceptQueued(s *side) (res int32, done bool, err error) {
	if !acceptNoWaitMissing.Load() {
		res, err := f.do(s, kindAcceptNoWait, args{})
		if err != nil {
			return 0, true, err
		}
		switch res {
		case -int32(unix.EAGAIN):
			return 0, false, nil
		case -int32(unix.EINVAL):
			// Either the kernel lacks the flag or the socket is not
			// listening; accept4 tells which.
			res, ok := f.acceptNow(s.op.sa)
			if !ok || res != -int32(unix.EINVAL) {
				acceptNoWaitMissing.Store(true)
			}
			return res, ok, nil
		}
		return res, true, nil
	}
	res, ok := f.acceptNow(s.op.sa)
	return res, ok, nil
}
