//go:build linux

package core

import "golang.org/x/sys/unix"

// cancel is IORING_OP_ASYNC_CANCEL: one operation by its user_data, or
// every operation on a descriptor or on the ring. A cancelled operation
// completes with ECANCELED before the cancel does. One on the worker pool
// cannot be stopped (EALREADY); one that already completed, even if its
// completion is not reaped yet, is not found (ENOENT), so a stale handle or
// a cancel racing a completion never touches a recycled task.
func (ep *epollRing) cancel(t *Task) {
	s := &t.ep.s
	if s.opFlags&(cancelAll|cancelFd|cancelAny) == 0 {
		ep.finish(t, ep.cancelOne(ep.r.lookup(s.addr)), 0)
		return
	}
	n := int32(0)
	if s.opFlags&cancelAny != 0 {
		for _, st := range ep.fds {
			if st != nil {
				n += ep.cancelFd(st)
			}
		}
		for ep.timers.len() > 0 {
			tt := ep.timers.items[0]
			ep.timers.remove(tt)
			ep.finish(tt, errRes(unix.ECANCELED), 0)
			n++
		}
	} else if s.fd >= 0 && int(s.fd) < len(ep.fds) && ep.fds[s.fd] != nil {
		n = ep.cancelFd(ep.fds[s.fd])
	}
	ep.finish(t, n, 0) // a count, zero when nothing matched, as io_uring reports
}

// cancelOne cancels target and returns the cancel's result.
func (ep *epollRing) cancelOne(target *Task) int32 {
	if target == nil {
		return errRes(unix.ENOENT)
	}
	switch target.ep.where {
	case epParked:
		ep.unpark(target)
	case epTimed:
		ep.timers.remove(target)
	case epPooled:
		return errRes(unix.EALREADY)
	default:
		return errRes(unix.ENOENT)
	}
	ep.finish(target, errRes(unix.ECANCELED), 0)
	return 0
}

// cancelFd cancels every operation parked on st.
func (ep *epollRing) cancelFd(st *epFd) int32 {
	n := int32(0)
	for d := range st.waiters {
		for st.waiters[d].head != nil {
			ep.cancelOne(st.waiters[d].head)
			n++
		}
	}
	return n
}
