//go:build linux

package core

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	timeoutRealtime = 1 << 3
	// IORING_TIMEOUT_UPDATE | IORING_LINK_TIMEOUT_UPDATE, Linux 5.15.
	linkTimeoutUpdate = 1<<1 | 1<<4
	// IORING_FEAT_CQE_SKIP, Linux 5.17: the nearest feature bit that
	// vouches for linkTimeoutUpdate.
	featCQESkip = 1 << 11
)

func (ts *timespec) set(d time.Duration) {
	if d < 0 {
		d = 0
	}
	ts.sec = int64(d / time.Second)
	ts.nsec = int64(d % time.Second)
}

func (ts *timespec) ptr() uint64 { return uint64(uintptr(unsafe.Pointer(ts))) }

// Nop completes at once with result 0.
func (r *Ring) Nop(ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpNop, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opNop
	return t.Handle(), nil
}

// Timer completes after d with a nil error.
func (r *Ring) Timer(d time.Duration, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpTimer, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.ts.set(d)
	s.opcode = opTimeout
	s.addr = t.ts.ptr()
	s.len = 1
	return t.Handle(), nil
}

// TimerAt completes when the wall clock (CLOCK_REALTIME) reaches when.
func (r *Ring) TimerAt(when time.Time, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpTimer, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.ts = timespec{sec: when.Unix(), nsec: int64(when.Nanosecond())}
	s.opcode = opTimeout
	s.addr = t.ts.ptr()
	s.len = 1
	s.opFlags = timeoutAbs | timeoutRealtime
	return t.Handle(), nil
}

// Cancel cancels the operation h names. Because the kernel matches the
// handle's generation too, a handle whose task was recycled cancels nothing
// and the cancel completes with ENOENT.
func (r *Ring) Cancel(h Handle, ctx Ctx) (Handle, error) {
	if h.task == nil {
		return Handle{}, ErrInvalidHandle
	}
	if h.task.owner != r {
		return Handle{}, ErrForeignTask
	}
	t, s, err := r.start(OpCancel, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opAsyncCancel
	s.addr = h.userData()
	return t.Handle(), nil
}

// CancelFd cancels every operation on fd; the result is how many were found.
func (r *Ring) CancelFd(fd int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpCancel, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opAsyncCancel
	s.fd = int32(fd)
	s.opFlags = cancelFd | cancelAll
	return t.Handle(), nil
}

// CancelAll cancels every operation in flight on the ring; the result is
// how many were found.
func (r *Ring) CancelAll(ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpCancel, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opAsyncCancel
	s.opFlags = cancelAny | cancelAll
	return t.Handle(), nil
}

// SetDeadline cancels the operation h names if it has not completed by when.
// If the operation is still queued and was the last one prepared, the
// deadline rides along as a linked timeout (IORING_OP_LINK_TIMEOUT);
// otherwise a timer cancels it. Either way it completes with ECANCELED.
// Calling SetDeadline again replaces the deadline.
func (r *Ring) SetDeadline(h Handle, when time.Time) error {
	if h.task == nil {
		return ErrInvalidHandle
	}
	t := h.task
	if t.owner != r {
		return ErrForeignTask
	}
	if !h.Live() {
		return ErrTaskDone
	}
	d := time.Until(when)
	if t.linked && t.link.Live() {
		if moved, err := r.moveLinkTimeout(t.link, d); moved || err != nil {
			return err
		}
	}
	// The linked timeout must go right after the task's SQE and in the same
	// submission, so it needs a free SQE without submitting the queue.
	room := r.sqeTail-atomic.LoadUint32(r.sqHead) < r.sqEntries
	if room && t.sqePos == r.sqeTail-1 && t.sqePos >= r.sqeHead && !t.timer.Live() && !t.linked {
		return r.linkTimeout(t, d)
	}
	if t.timer.Live() {
		r.removeTimer(t.timer)
	}
	s, err := r.getSQE()
	if err != nil {
		return err
	}
	timer := r.alloc()
	r.launch(timer, s, OpTimer, Ctx{})
	timer.kind = kindDeadlineTimer
	timer.target = h
	timer.ts.set(d)
	s.opcode = opTimeout
	s.addr = timer.ts.ptr()
	s.len = 1
	t.timer = timer.Handle()
	return nil
}

func (r *Ring) linkTimeout(t *Task, d time.Duration) error {
	prev := &r.sqes[t.sqePos&r.sqMask]
	s, err := r.getSQE()
	if err != nil {
		return err
	}
	prev.flags |= sqeIOLink
	lt := r.alloc()
	r.launch(lt, s, OpTimer, Ctx{})
	lt.kind = kindLinkTimeout
	lt.ts.set(d)
	s.opcode = opLinkTimeout
	s.addr = lt.ts.ptr()
	s.len = 1
	t.linked = true
	t.link = lt.Handle()
	return nil
}

// moveLinkTimeout moves the deadline of a linked timeout. The kernel reads
// the timespec when the SQE is submitted, so one still queued is changed in
// place; one already submitted is changed with IORING_LINK_TIMEOUT_UPDATE.
// It reports false on kernels without that update; a timer then bounds the
// operation as well, so an earlier deadline still applies.
func (r *Ring) moveLinkTimeout(h Handle, d time.Duration) (bool, error) {
	lt := h.task
	if lt.sqePos-r.sqeHead < r.sqeTail-r.sqeHead {
		lt.ts.set(d)
		return true, nil
	}
	if r.features&featCQESkip == 0 {
		return false, nil
	}
	s, err := r.getSQE()
	if err != nil {
		return false, err
	}
	u := r.alloc()
	r.launch(u, s, OpCancel, Ctx{})
	u.kind = kindQuiet
	u.ts.set(d)
	s.opcode = opTimeoutRem
	s.addr = h.userData()
	s.off = u.ts.ptr()
	s.opFlags = linkTimeoutUpdate
	return true, nil
}

func (r *Ring) removeTimer(h Handle) {
	s, err := r.getSQE()
	if err != nil {
		return // the timer fires later and finds its target gone
	}
	t := r.alloc()
	r.launch(t, s, OpCancel, Ctx{})
	t.kind = kindQuiet
	s.opcode = opTimeoutRem
	s.addr = h.userData()
}

// completeInternal handles completions of the runtime's own tasks.
func (r *Ring) completeInternal(t *Task, res int32) {
	if t.kind != kindDeadlineTimer || res != -int32(unix.ETIME) {
		return
	}
	target := t.target
	if !target.Live() || target.task.timer != t.Handle() {
		return // the operation finished, or its deadline was moved
	}
	target.task.timer = Handle{}
	s, err := r.getSQE()
	if err != nil {
		return
	}
	c := r.alloc()
	r.launch(c, s, OpCancel, Ctx{})
	c.kind = kindQuiet
	s.opcode = opAsyncCancel
	s.addr = target.userData()
}
