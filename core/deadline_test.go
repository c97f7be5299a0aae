//go:build linux

package core

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ktRunGuarded runs until cond holds, with a guard timer so a lost deadline
// fails the test instead of hanging it. It returns whether cond held.
func ktRunGuarded(t *testing.T, r *Ring, guard time.Duration, cond func() bool) bool {
	t.Helper()
	expired := false
	g, err := r.Timer(guard, Ctx{Callback: func(Runtime, *Task) error { expired = true; return nil }})
	require.NoError(t, err)
	for i := 0; i < 1000 && !cond() && !expired; i++ {
		require.NoError(t, r.Run(Once))
	}
	ok := cond()
	if g.Live() {
		_, err = g.Cancel(Ctx{})
		require.NoError(t, err)
	}
	return ok
}

// TestDeadlineLinked sets a deadline on a receive that is still queued: the
// deadline rides along as a linked timeout.
func TestDeadlineLinked(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	var rec ktRec
	h, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
	require.NoError(t, err)
	when := time.Now().Add(30 * time.Millisecond)
	require.NoError(t, h.SetDeadline(when))
	require.True(t, h.task.linked, "a queued operation takes the linked-timeout path")
	require.False(t, h.task.timer.Live())

	require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(rec.list) == 1 }))
	require.False(t, time.Now().Before(when), "deadline fired early")
	require.Equal(t, syscall.ECANCELED, rec.list[0].err)
	require.NoError(t, r.Run(UntilDone))
	require.Zero(t, r.Active())
	ktExercise(t, r)
}

// TestDeadlineTimer sets a deadline on a receive the kernel already holds: a
// timer cancels it.
func TestDeadlineTimer(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	var rec ktRec
	h, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	when := time.Now().Add(30 * time.Millisecond)
	require.NoError(t, h.SetDeadline(when))
	require.False(t, h.task.linked)
	require.True(t, h.task.timer.Live(), "a submitted operation takes the timer path")

	require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(rec.list) == 1 }))
	require.False(t, time.Now().Before(when), "deadline fired early")
	require.Equal(t, syscall.ECANCELED, rec.list[0].err)
	require.NoError(t, r.Run(UntilDone))
	require.Zero(t, r.Active())
	ktExercise(t, r)
}

// TestDeadlineTimerNotLast sets a deadline on a queued operation that is not
// the last one prepared; it cannot be linked and takes the timer path.
func TestDeadlineTimerNotLast(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	var rec ktRec
	h, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
	require.NoError(t, err)
	_, err = r.Nop(Ctx{})
	require.NoError(t, err)
	require.NoError(t, h.SetDeadline(time.Now().Add(20*time.Millisecond)))
	require.False(t, h.task.linked)
	require.True(t, h.task.timer.Live())
	require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(rec.list) == 1 }))
	require.Equal(t, syscall.ECANCELED, rec.list[0].err)
	require.NoError(t, r.Run(UntilDone))
	require.Zero(t, r.Active())
}

// TestDeadlineNotReached gives receives a distant deadline on both paths;
// they complete with their data, and the deadline machinery is cleaned up
// so Run(UntilDone) returns at once.
func TestDeadlineNotReached(t *testing.T) {
	for _, linked := range []bool{true, false} {
		name := "timer"
		if linked {
			name = "linked"
		}
		t.Run(name, func(t *testing.T) {
			r := ktRing(t, Options{Entries: 8})
			a, b := ktSocketPair(t)
			var rec ktRec
			buf := make([]byte, 8)
			h, err := r.Recv(b, buf, 0, rec.ctx())
			require.NoError(t, err)
			if !linked {
				require.NoError(t, r.Run(NoWait))
			}
			require.NoError(t, h.SetDeadline(time.Now().Add(time.Hour)))
			require.Equal(t, linked, h.task.linked)
			require.NoError(t, r.Run(NoWait))
			_, err = unix.Write(a, []byte("data"))
			require.NoError(t, err)
			start := time.Now()
			require.NoError(t, r.Run(UntilDone))
			require.Less(t, time.Since(start), 5*time.Second)
			require.Len(t, rec.list, 1)
			require.NoError(t, rec.list[0].err)
			require.Equal(t, "data", string(buf[:rec.list[0].n]))
			require.Zero(t, r.Active(), "deadline left work in flight")
			ktExercise(t, r)
		})
	}
}

// TestDeadlineMoved replaces a distant deadline with a near one.
func TestDeadlineMoved(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	var rec ktRec
	h, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	require.NoError(t, h.SetDeadline(time.Now().Add(time.Hour)))
	first := h.task.timer
	require.NoError(t, h.SetDeadline(time.Now().Add(20*time.Millisecond)))
	require.NotEqual(t, first, h.task.timer)
	require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(rec.list) == 1 }))
	require.Equal(t, syscall.ECANCELED, rec.list[0].err)
	start := time.Now()
	require.NoError(t, r.Run(UntilDone))
	require.Less(t, time.Since(start), 5*time.Second, "the replaced timer was not removed")
	require.Zero(t, r.Active())
}

// TestDeadlinePast gives a deadline already passed: the operation is
// cancelled at once.
func TestDeadlinePast(t *testing.T) {
	for _, linked := range []bool{true, false} {
		r := ktRing(t, Options{Entries: 8})
		_, b := ktSocketPair(t)
		var rec ktRec
		h, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
		require.NoError(t, err)
		if !linked {
			require.NoError(t, r.Run(NoWait))
		}
		require.NoError(t, h.SetDeadline(time.Now().Add(-time.Second)))
		require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(rec.list) == 1 }), "linked=%v", linked)
		require.Equal(t, syscall.ECANCELED, rec.list[0].err)
		require.NoError(t, r.Run(UntilDone))
	}
}

// TestDeadlineFullQueue sets a deadline on the last queued operation when
// the submission queue is full, so the linked timeout does not fit beside it.
func TestDeadlineFullQueue(t *testing.T) {
	r := ktRing(t, Options{Entries: 2})
	_, b := ktSocketPair(t)
	var rec ktRec
	_, err := r.Nop(Ctx{})
	require.NoError(t, err)
	h, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
	require.NoError(t, err)
	require.Equal(t, r.sqEntries, r.sqeTail-r.sqeHead, "queue should be full")
	require.NoError(t, h.SetDeadline(time.Now().Add(20*time.Millisecond)))
	require.True(t, ktRunGuarded(t, r, 3*time.Second, func() bool { return len(rec.list) == 1 }), "deadline lost")
	require.Equal(t, syscall.ECANCELED, rec.list[0].err)
	require.NoError(t, r.Run(UntilDone))
	require.Zero(t, r.Active())
}

func TestDeadlineErrors(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	other := ktRing(t, Options{Entries: 8})
	require.ErrorIs(t, Handle{}.SetDeadline(time.Now()), ErrInvalidHandle)
	require.ErrorIs(t, r.SetDeadline(Handle{}, time.Now()), ErrInvalidHandle)

	h, err := r.Nop(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.ErrorIs(t, h.SetDeadline(time.Now().Add(time.Second)), ErrTaskDone)

	h, err = other.Nop(Ctx{})
	require.NoError(t, err)
	require.ErrorIs(t, r.SetDeadline(h, time.Now()), ErrForeignTask)
	require.NoError(t, other.Run(UntilDone))
}
