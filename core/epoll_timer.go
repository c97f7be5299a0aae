//go:build linux

package core

import (
	"time"

	"golang.org/x/sys/unix"
)

// timerHeap is a min-heap of timed tasks by their monotonic deadline; each
// task keeps its index, so a cancel removes it in O(log n).
type timerHeap struct{ items []*Task }

func (h *timerHeap) len() int    { return len(h.items) }
func (h *timerHeap) next() int64 { return h.items[0].ep.when }
func (h *timerHeap) less(i, j int) bool {
	return h.items[i].ep.when < h.items[j].ep.when
}

func (h *timerHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].ep.heap = int32(i)
	h.items[j].ep.heap = int32(j)
}

func (h *timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *timerHeap) down(i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h *timerHeap) push(t *Task) {
	t.ep.heap = int32(len(h.items))
	h.items = append(h.items, t)
	h.up(len(h.items) - 1)
}

func (h *timerHeap) remove(t *Task) {
	i := int(t.ep.heap)
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	if i != last {
		h.down(i)
		h.up(i)
	}
	t.ep.where = epIdle
}

func (h *timerHeap) fix(t *Task) {
	h.down(int(t.ep.heap))
	h.up(int(t.ep.heap))
}

// arm times t to expire d from now.
func (ep *epollRing) arm(t *Task, d time.Duration) {
	now := monoNow()
	t.ep.when = now + int64(d)
	t.ep.where = epTimed
	ep.timers.push(t)
	if ep.armed == 0 || t.ep.when < ep.armed {
		ep.setTimerfd(t.ep.when, now)
	}
}

// setTimerfd arms the timerfd for the monotonic deadline when. A timer
// removed early leaves it armed; the wake-up then finds nothing due.
func (ep *epollRing) setTimerfd(when, now int64) {
	d := when - now
	if d < 1 {
		d = 1 // zero would disarm it
	}
	ep.its = unix.ItimerSpec{Value: unix.NsecToTimespec(d)}
	unix.TimerfdSettime(ep.tfd, 0, &ep.its, nil)
	ep.armed = when
}

// timerfdFired resets the timerfd after it expired and runs the timers.
func (ep *epollRing) timerfdFired() {
	unix.Read(ep.tfd, ep.rbuf[:])
	ep.armed = 0
	ep.fireTimers()
}

func (ts *timespec) duration() time.Duration {
	return time.Duration(ts.sec)*time.Second + time.Duration(ts.nsec)
}

// timeout arms an IORING_OP_TIMEOUT: relative, or absolute on the wall
// clock (the only absolute kind the Ring prepares).
func (ep *epollRing) timeout(t *Task) {
	d := t.ts.duration()
	if t.ep.s.opFlags&timeoutAbs != 0 {
		d = time.Until(time.Unix(t.ts.sec, t.ts.nsec))
	}
	ep.arm(t, d)
}

// linkTimeout arms a linked timeout for prev, the operation before it in
// the submission. If prev already completed, the timeout is cancelled at
// once, as io_uring does.
func (ep *epollRing) linkTimeout(lt *Task, prev *Task) {
	if prev == nil || prev.ep.where == epIdle || prev.ep.where == epDone {
		ep.finish(lt, errRes(unix.ECANCELED), 0)
		return
	}
	lt.target = prev.Handle()
	ep.arm(lt, lt.ts.duration())
}

// timeoutRemove is IORING_OP_TIMEOUT_REMOVE: it removes a timer, or with
// the update flags moves a linked timeout to the task's own timespec.
func (ep *epollRing) timeoutRemove(t *Task) {
	s := &t.ep.s
	target := ep.r.lookup(s.addr)
	if target == nil || target.ep.where != epTimed {
		ep.finish(t, errRes(unix.ENOENT), 0)
		return
	}
	if s.opFlags&linkTimeoutUpdate != 0 {
		now := monoNow()
		target.ep.when = now + int64(t.ts.duration())
		ep.timers.fix(target)
		if ep.armed == 0 || target.ep.when < ep.armed {
			// Moved earlier than the timerfd is set for: a blocking
			// wait would otherwise sleep to the old deadline.
			ep.setTimerfd(target.ep.when, now)
		}
		ep.finish(t, 0, 0)
		return
	}
	ep.timers.remove(target)
	ep.finish(target, errRes(unix.ECANCELED), 0)
	ep.finish(t, 0, 0)
}

// fireTimers expires every timer whose deadline has passed. A linked
// timeout cancels the operation it bounds first.
func (ep *epollRing) fireTimers() {
	if ep.timers.len() == 0 {
		return
	}
	now := monoNow()
	for ep.timers.len() > 0 && ep.timers.next() <= now {
		t := ep.timers.items[0]
		ep.timers.remove(t)
		if t.ep.s.opcode == opLinkTimeout && t.target.Live() {
			ep.cancelOne(t.target.task)
		}
		ep.finish(t, errRes(unix.ETIME), 0)
	}
	if ep.armed != 0 && ep.armed <= now {
		// It expired (or is about to): reset it so the descriptor stops
		// polling readable, and re-arm below for what is left.
		unix.Read(ep.tfd, ep.rbuf[:])
		ep.armed = 0
	}
	if ep.armed == 0 && ep.timers.len() > 0 {
		ep.setTimerfd(ep.timers.next(), now)
	}
}
