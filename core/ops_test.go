//go:build linux

package core

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestOpNop(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	type key struct{ name string }
	ud := &key{"nop"}
	var got *key
	var res ktRes
	calls := 0
	h, err := r.Nop(Ctx{Msg: 42, Userdata: ud, Callback: func(rt Runtime, task *Task) error {
		calls++
		require.Same(t, r, rt.(*Ring))
		got = UserdataAs[*key](task)
		res = ktRes{op: task.Result.Op, res: task.Result.Res, err: task.Err(), msg: task.Msg}
		require.Equal(t, uint16(42), MsgAs[uint16](task))
		require.Equal(t, "", UserdataAs[string](task), "UserdataAs of the wrong type is the zero value")
		return nil
	}})
	require.NoError(t, err)
	require.True(t, h.Live())
	require.Equal(t, 1, r.Active())
	require.Zero(t, calls, "nothing runs before Run")
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, 1, calls)
	require.Same(t, ud, got)
	require.Equal(t, ktRes{op: OpNop, res: 0, err: nil, msg: 42}, res)
	require.False(t, h.Live())
	require.Zero(t, r.Active())

	// A nil callback consumes the completion silently.
	_, err = r.Nop(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Zero(t, r.Active())
}

func TestOpTimer(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	d := 30 * time.Millisecond
	start := time.Now()
	var fired time.Duration
	_, err := r.Timer(d, Ctx{Callback: func(rt Runtime, task *Task) error {
		fired = time.Since(start)
		return rec.cb(rt, task)
	}})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	require.GreaterOrEqual(t, fired, d)
	require.Less(t, fired, 5*time.Second)
	require.Equal(t, OpTimer, rec.list[0].op)
	require.NoError(t, rec.list[0].err, "an expired timer reports no error")
	require.Zero(t, rec.list[0].res)

	// A zero or negative duration fires at once.
	_, err = r.Timer(-time.Second, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 2)
	require.NoError(t, rec.list[1].err)

	// Timers fire in deadline order.
	order := []uint16{}
	cb := func(_ Runtime, task *Task) error { order = append(order, task.Msg); return nil }
	for _, ms := range []uint16{40, 10, 25} {
		_, err = r.Timer(time.Duration(ms)*time.Millisecond, Ctx{Callback: cb, Msg: ms})
		require.NoError(t, err)
	}
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, []uint16{10, 25, 40}, order)
}

func TestOpTimerAt(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	when := time.Now().Add(50 * time.Millisecond)
	var firedAt time.Time
	_, err := r.TimerAt(when, Ctx{Callback: func(rt Runtime, task *Task) error {
		firedAt = time.Now()
		return rec.cb(rt, task)
	}})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	require.NoError(t, rec.list[0].err)
	require.Equal(t, OpTimer, rec.list[0].op)
	// The wall clock has reached when.
	require.GreaterOrEqual(t, firedAt.UnixNano(), when.UnixNano())
	require.Less(t, firedAt.Sub(when), 5*time.Second)

	// A time in the past fires at once.
	start := time.Now()
	_, err = r.TimerAt(time.Now().Add(-time.Hour), rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 2)
	require.NoError(t, rec.list[1].err)
	require.Less(t, time.Since(start), time.Second)
}

// TestOpCancelPendingRecv cancels a receive the kernel holds: the receive
// completes with ECANCELED and the cancel itself succeeds.
func TestOpCancelPendingRecv(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	var recv, cancel ktRec
	buf := make([]byte, 8)
	h, err := r.Recv(b, buf, 0, recv.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	require.Empty(t, recv.list)
	require.True(t, h.Live())

	ch, err := h.Cancel(cancel.ctx())
	require.NoError(t, err)
	require.True(t, ch.Live())
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, recv.list, 1)
	require.Len(t, cancel.list, 1)
	require.Equal(t, OpRecv, recv.list[0].op)
	require.Equal(t, syscall.ECANCELED, recv.list[0].err)
	require.Equal(t, OpCancel, cancel.list[0].op)
	require.NoError(t, cancel.list[0].err)
	require.False(t, h.Live())
	require.Zero(t, r.Active())

	// Cancelling it again finds nothing.
	_, err = h.Cancel(cancel.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.ENOENT, cancel.last().err)
}

// TestOpCancelQueued cancels a receive prepared in the same batch.
func TestOpCancelQueued(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	var rec ktRec
	h, err := r.Recv(b, make([]byte, 8), 0, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	_, err = r.Cancel(h, Ctx{Callback: rec.cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 2)
	for _, res := range rec.list {
		switch res.msg {
		case 1:
			require.Equal(t, syscall.ECANCELED, res.err)
		case 2:
			require.NoError(t, res.err)
		}
	}
}

func TestOpCancelTimer(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	start := time.Now()
	h, err := r.Timer(time.Hour, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	_, err = h.Cancel(Ctx{Callback: rec.cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Less(t, time.Since(start), 5*time.Second)
	require.Len(t, rec.list, 2)
	for _, res := range rec.list {
		if res.msg == 1 {
			require.Equal(t, syscall.ECANCELED, res.err, "a cancelled timer is not an expired one")
		} else {
			require.NoError(t, res.err)
		}
	}
}

// TestOpCancelStaleHandle cancels with the handle of a task that completed
// and was reused by a newer receive: the generation in the handle keeps the
// cancel from touching the newer operation.
func TestOpCancelStaleHandle(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	a, b := ktSocketPair(t)
	_, err := unix.Write(a, []byte("1"))
	require.NoError(t, err)
	buf := make([]byte, 8)
	var first ktRec
	h1, err := r.Recv(b, buf, 0, first.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, first.list, 1)
	require.Equal(t, 1, first.list[0].n)
	require.False(t, h1.Live())

	var second ktRec
	h2, err := r.Recv(b, buf, 0, second.ctx())
	require.NoError(t, err)
	require.Same(t, h1.task, h2.task, "the pool must reuse the task for this test to mean anything")
	require.NotEqual(t, h1.gen, h2.gen)
	require.False(t, h1.Live())
	require.True(t, h2.Live())
	require.NoError(t, r.Run(NoWait))

	var cancel ktRec
	_, err = h1.Cancel(cancel.ctx())
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(cancel.list) == 1 })
	require.Equal(t, syscall.ENOENT, cancel.list[0].err)
	require.Empty(t, second.list, "stale cancel hit the newer operation")
	require.True(t, h2.Live())

	_, err = unix.Write(a, []byte("2"))
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, second.list, 1)
	require.NoError(t, second.list[0].err)
	require.Equal(t, "2", string(buf[:second.list[0].n]))
}

func TestOpCancelFd(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b1 := ktSocketPair(t)
	a2, b2 := ktSocketPair(t)
	var on1, on2, cancel ktRec
	_, err := r.Recv(b1, make([]byte, 8), 0, on1.ctx())
	require.NoError(t, err)
	_, err = r.Poll(b1, unix.POLLIN, on1.ctx())
	require.NoError(t, err)
	buf2 := make([]byte, 8)
	h2, err := r.Recv(b2, buf2, 0, on2.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))

	_, err = r.CancelFd(b1, cancel.ctx())
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(cancel.list) == 1 && len(on1.list) == 2 })
	require.NoError(t, cancel.list[0].err)
	require.Equal(t, int32(2), cancel.list[0].res, "CancelFd reports how many it cancelled")
	for _, res := range on1.list {
		require.Equal(t, syscall.ECANCELED, res.err)
	}
	require.Empty(t, on2.list, "an operation on another fd was cancelled")
	require.True(t, h2.Live())

	_, err = unix.Write(a2, []byte("ok"))
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, on2.list, 1)
	require.Equal(t, "ok", string(buf2[:on2.list[0].n]))

	// Nothing left on the fd: a count of zero.
	_, err = r.CancelFd(b1, cancel.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, cancel.last().err)
	require.Zero(t, cancel.last().res)
}

func TestOpCancelAll(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	rd, _ := ktPipe(t)
	var rec, cancel ktRec
	_, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
	require.NoError(t, err)
	_, err = r.Timer(time.Hour, rec.ctx())
	require.NoError(t, err)
	_, err = r.Poll(rd, unix.POLLIN, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	require.Equal(t, 3, r.Active())

	start := time.Now()
	_, err = r.CancelAll(cancel.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Less(t, time.Since(start), 5*time.Second)
	require.Len(t, cancel.list, 1)
	require.NoError(t, cancel.list[0].err)
	require.Equal(t, int32(3), cancel.list[0].res)
	require.Len(t, rec.list, 3)
	ops := map[Op]bool{}
	for _, res := range rec.list {
		require.Equal(t, syscall.ECANCELED, res.err, res.op.String())
		ops[res.op] = true
	}
	require.Equal(t, map[Op]bool{OpRecv: true, OpTimer: true, OpPoll: true}, ops)
	require.Zero(t, r.Active())

	_, err = r.CancelAll(cancel.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, cancel.last().err)
	require.Zero(t, cancel.last().res, "nothing to cancel")
}

func TestOpCancelErrors(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	other := ktRing(t, Options{Entries: 8})
	_, err := Handle{}.Cancel(Ctx{})
	require.ErrorIs(t, err, ErrInvalidHandle)
	_, err = r.Cancel(Handle{}, Ctx{})
	require.ErrorIs(t, err, ErrInvalidHandle)
	require.False(t, Handle{}.Live())

	h, err := other.Timer(time.Hour, Ctx{})
	require.NoError(t, err)
	_, err = r.Cancel(h, Ctx{})
	require.ErrorIs(t, err, ErrForeignTask)
	// Handle.Cancel goes to the task's own ring.
	var rec ktRec
	_, err = h.Cancel(rec.ctx())
	require.NoError(t, err)
	require.NoError(t, other.Run(UntilDone))
	require.Len(t, rec.list, 1)
	require.NoError(t, rec.list[0].err)
}
