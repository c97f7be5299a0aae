//go:build linux

package core

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Kernel faults forced for real or played at io_uring_enter: in each, every
// completion arrives exactly once and nothing waits for good. (A buffer
// ring running dry is TestOpRecvMultishotBigStream's and
// TestOpRecvMultishotTakeBuffer's.)

// ktFailEnter makes io_uring_enter fail with errno, without entering the
// kernel, on every call for which fail returns true. It counts the calls.
func ktFailEnter(t *testing.T, errno unix.Errno, fail func(call int) bool) *atomic.Int64 {
	orig := enterSyscall
	var calls atomic.Int64
	enterSyscall = func(fd int, toSubmit, minComplete uint32, flags uintptr, raw bool) unix.Errno {
		if fail(int(calls.Add(1))) {
			return errno
		}
		return orig(fd, toSubmit, minComplete, flags, raw)
	}
	t.Cleanup(func() { enterSyscall = orig })
	return &calls
}

// ktWorkload queues nops, timers and a stream of sends and receives over a
// socket pair, and returns a check that each completed once with the
// right result. A full submission queue that cannot be submitted (EBUSY
// from getSQE) is met as a program would meet it: by running the ring
// and trying again.
func ktWorkload(t *testing.T, r *Ring) func() {
	queue := func(f func() error) {
		for {
			err := f()
			if !errors.Is(err, syscall.EBUSY) {
				require.NoError(t, err)
				return
			}
			require.NoError(t, r.Run(NoWait))
		}
	}
	const nops, msgs = 300, 64
	seen := map[string]int{}
	count := func(key string) Ctx {
		return Ctx{Callback: func(_ Runtime, task *Task) error {
			if err := task.Err(); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			seen[key]++
			return nil
		}}
	}
	for i := 0; i < nops; i++ {
		queue(func() error { _, err := r.Nop(count(fmt.Sprint("nop", i))); return err })
	}
	queue(func() error { _, err := r.Timer(2*time.Millisecond, count("timer")); return err })
	a, b := ktSocketPair(t)
	for i := 0; i < msgs; i++ {
		out := []byte(fmt.Sprintf("%08d", i))
		queue(func() error { _, err := r.Send(a, out, 0, count(fmt.Sprint("send", i))); return err })
	}
	got := make([]byte, 0, 8*msgs)
	var recv func(_ Runtime, task *Task) error
	buf := make([]byte, 8*msgs)
	recv = func(rt Runtime, task *Task) error {
		if err := task.Err(); err != nil {
			return err
		}
		got = append(got, buf[:task.N()]...)
		if len(got) < cap(got) {
			_, err := r.Recv(b, buf, 0, Ctx{Callback: recv})
			return err
		}
		seen["recv"]++
		return nil
	}
	queue(func() error { _, err := r.Recv(b, buf, 0, Ctx{Callback: recv}); return err })
	return func() {
		t.Helper()
		for i := 0; i < nops; i++ {
			require.Equal(t, 1, seen[fmt.Sprint("nop", i)], "nop %d", i)
		}
		for i := 0; i < msgs; i++ {
			require.Equal(t, 1, seen[fmt.Sprint("send", i)], "send %d", i)
		}
		require.Equal(t, 1, seen["timer"])
		require.Equal(t, 1, seen["recv"])
		want := make([]byte, 0, 8*msgs)
		for i := 0; i < msgs; i++ {
			want = append(want, fmt.Sprintf("%08d", i)...)
		}
		require.Equal(t, string(want), string(got))
		require.Zero(t, r.Active())
	}
}

func TestEnterFailuresRetried(t *testing.T) {
	// EINTR is retried at once; EBUSY and EAGAIN after reaping what is
	// there, or after a short wait when nothing is.
	for _, errno := range []unix.Errno{unix.EINTR, unix.EBUSY, unix.EAGAIN} {
		t.Run(errno.Error(), func(t *testing.T) {
			r := ktRing(t, Options{Entries: 16})
			calls := ktFailEnter(t, errno, func(call int) bool { return call%3 != 0 && call < 400 })
			check := ktWorkload(t, r)
			require.NoError(t, r.Run(UntilDone))
			check()
			require.Greater(t, calls.Load(), int64(30), "the workload must cross many failures")
		})
	}
}

func TestEnterFailsLastingEBUSYReturnsAndKeepsWork(t *testing.T) {
	// A ring that stays busy with nothing to reap: Run gives up with the
	// error instead of spinning, and the next Run submits what is queued.
	r := ktRing(t, Options{Entries: 512}) // the workload is queued without entering
	failing := true
	ktFailEnter(t, unix.EBUSY, func(int) bool { return failing })
	check := ktWorkload(t, r)
	start := time.Now()
	require.ErrorIs(t, r.Run(UntilDone), syscall.EBUSY)
	require.Less(t, time.Since(start), 5*time.Second)
	failing = false
	require.NoError(t, r.Run(UntilDone))
	check()
}

func TestEnterENOMEMReturnsAndKeepsWork(t *testing.T) {
	r := ktRing(t, Options{Entries: 512})
	ktFailEnter(t, unix.ENOMEM, func(call int) bool { return call <= 2 })
	check := ktWorkload(t, r)
	var errs int
	for {
		err := r.Run(UntilDone)
		if err == nil {
			break
		}
		require.ErrorIs(t, err, syscall.ENOMEM)
		errs++
		require.Less(t, errs, 3)
	}
	require.Equal(t, 2, errs)
	check()
}

func TestCompletionQueueOverflow(t *testing.T) {
	// Eight-entry queues, and a hundred submissions of eight before any
	// reaping: the kernel keeps what the queue cannot hold (FEAT_NODROP)
	// and says so; Run must deliver all of them.
	r := ktRing(t, Options{Entries: 8, CQEntries: 8})
	const total = 800
	done := make([]int, total)
	for i := 0; i < total; i++ {
		i := i
		_, err := r.Nop(Ctx{Callback: func(Runtime, *Task) error { done[i]++; return nil }})
		require.NoError(t, err) // getSQE submits each full queue
	}
	require.NoError(t, r.Submit())
	require.NotZero(t, atomic.LoadUint32(r.sqFlags)&sqCQOverflow, "the completion queue did not overflow")
	require.NoError(t, r.Run(UntilDone))
	for i, n := range done {
		require.Equal(t, 1, n, "nop %d", i)
	}
}

func TestCompletionQueueOverflowMultishotAccept(t *testing.T) {
	// A multishot accept whose completions overflow a tiny queue may be
	// ended by the kernel; re-armed on its final completion, it accepts
	// every connection still.
	r := ktRing(t, Options{Entries: 8, CQEntries: 8})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	lf, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	defer lf.Close()
	lfd := int(lf.Fd())
	require.NoError(t, unix.SetNonblock(lfd, true))

	const conns = 64
	accepted, rearmed := 0, 0
	var onAccept func(Runtime, *Task) error
	onAccept = func(_ Runtime, task *Task) error {
		if task.Err() == nil {
			accepted++
			unix.Close(task.Fd())
		}
		if !task.More() && accepted < conns {
			rearmed++
			_, err := r.AcceptMultishot(lfd, 0, Ctx{Callback: onAccept})
			return err
		}
		return nil
	}
	_, err = r.AcceptMultishot(lfd, 0, Ctx{Callback: onAccept})
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		clients = append(clients, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for accepted < conns && time.Now().Before(deadline) {
		require.NoError(t, r.Run(NoWait))
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, conns, accepted, "accepted after %d re-arms", rearmed)
	t.Logf("re-armed %d times", rearmed)
	h, err := r.CancelAll(Ctx{})
	require.NoError(t, err)
	_ = h
	require.NoError(t, r.Run(UntilDone))
}

func TestRingUnderNoMemlock(t *testing.T) {
	// Kernels before 5.12 charge a ring's memory to RLIMIT_MEMLOCK; later
	// ones to the memory cgroup. With the limit at 0, a ring either works
	// (and its buffer rings too) or is refused with the limit named.
	var old unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_MEMLOCK, &old))
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: 0, Max: old.Max}))
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old) })

	r, err := New(Options{Entries: 256})
	env := readSetupEnv()
	if !env.atLeast(5, 12) {
		var ue *UnsupportedError
		require.ErrorAs(t, err, &ue)
		require.Contains(t, ue.Cause, "RLIMIT_MEMLOCK")
		return
	}
	require.NoError(t, err, "kernel %s", env.release)
	defer r.Close()
	br, err := r.NewBufRing(7, 64, 4096)
	require.NoError(t, err)
	defer br.Close()
	ktExercise(t, r)
}

func TestEnterEBUSYLeavesNothingUnsubmitted(t *testing.T) {
	// EBUSY with completions waiting: Run(NoWait) and Run(Once) reap them
	// and submit again before they return, so an entry queued before the
	// call is in the kernel after it (uringnet's poller then parks for its
	// completion).
	for _, mode := range []RunMode{NoWait, Once} {
		r := ktRing(t, Options{Entries: 8})
		done := 0
		ctx := Ctx{Callback: func(Runtime, *Task) error { done++; return nil }}
		_, err := r.Nop(ctx)
		require.NoError(t, err)
		require.NoError(t, r.Submit()) // its completion waits, not reaped
		_, err = r.Nop(ctx)
		require.NoError(t, err)
		ktFailEnter(t, unix.EBUSY, func(call int) bool { return call == 1 })
		require.NoError(t, r.Run(mode))
		require.Equal(t, r.sqeTail, atomic.LoadUint32(r.sqHead), "mode %v left an entry unsubmitted", mode)
		require.NoError(t, r.Run(UntilDone))
		require.Equal(t, 2, done)
	}
}
