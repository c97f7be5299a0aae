//go:build linux

package core

import (
	"errors"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Helpers shared by the real-kernel tests. Their names start with kt so they
// do not collide with other test files of the package.

// ktRing creates a ring that is closed when the test ends.
func ktRing(t testing.TB, opts Options) *Ring {
	t.Helper()
	r, err := ktNew(opts)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// ktRes is a copy of what a callback saw; tasks are recycled after their
// callback returns, so nothing may keep the *Task.
type ktRes struct {
	op    Op
	res   int32
	err   error
	n     int
	fd    int
	more  bool
	msg   uint16
	data  []byte
	flags uint32
}

// ktRec records every completion delivered to its callback.
type ktRec struct {
	list []ktRes
}

func (rec *ktRec) cb(_ Runtime, t *Task) error {
	r := ktRes{op: t.Result.Op, res: t.Result.Res, err: t.Err(), n: t.N(), fd: t.Fd(), more: t.More(), msg: t.Msg, flags: t.Result.Flags}
	if t.Result.Buf != nil {
		r.data = append([]byte(nil), t.Result.Buf...)
	}
	rec.list = append(rec.list, r)
	return nil
}

func (rec *ktRec) ctx() Ctx { return Ctx{Callback: rec.cb} }

func (rec *ktRec) last() ktRes { return rec.list[len(rec.list)-1] }

// ktRunUntil runs the ring one completion batch at a time until cond holds.
func ktRunUntil(t testing.TB, r *Ring, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000 && !cond(); i++ {
		require.NoError(t, r.Run(Once))
	}
	require.True(t, cond(), "condition not reached")
}

// ktSocketPair returns a connected AF_UNIX stream pair closed at test end.
func ktSocketPair(t testing.TB) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// ktPipe returns a pipe closed at test end.
func ktPipe(t testing.TB) (rd, wr int) {
	t.Helper()
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// ktPoll polls one fd for events, retrying on EINTR (Go preempts with
// signals), and returns the revents.
func ktPoll(t testing.TB, fd int, events int16, timeout time.Duration) int16 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms < 0 {
			ms = 0
		}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		require.NoError(t, err)
		if n == 0 {
			return 0
		}
		return fds[0].Revents
	}
}

// NoWait and NoWaitRaw (the same through a raw system call) submit, run
// what is ready and never wait.
func TestRunNoWaitDoesNotBlock(t *testing.T) {
	for _, mode := range []RunMode{NoWait, NoWaitRaw} {
		runNoWait(t, mode)
	}
}

func runNoWait(t *testing.T, mode RunMode) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	_, err := r.Timer(10*time.Second, rec.ctx())
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, r.Run(mode))
	require.NoError(t, r.Run(mode))
	require.Less(t, time.Since(start), 500*time.Millisecond)
	require.Empty(t, rec.list)
	require.Equal(t, 1, r.Active())

	// It runs what is ready.
	_, err = r.Nop(rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(mode))
	require.Len(t, rec.list, 1)
	require.Equal(t, OpNop, rec.list[0].op)

	_, err = r.CancelAll(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 2)
	require.Equal(t, syscall.ECANCELED, rec.list[1].err)
	require.Zero(t, r.Active())
}

func TestRunOnceWaitsForOne(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	short := 40 * time.Millisecond
	start := time.Now()
	_, err := r.Timer(short, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	_, err = r.Timer(10*time.Second, Ctx{Callback: rec.cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(Once))
	require.GreaterOrEqual(t, time.Since(start), short)
	require.Len(t, rec.list, 1)
	require.Equal(t, uint16(1), rec.list[0].msg)
	require.NoError(t, rec.list[0].err)
	require.Equal(t, 1, r.Active())

	// Once with several completions ready runs all of them.
	for i := 0; i < 3; i++ {
		_, err = r.Nop(Ctx{Callback: rec.cb, Msg: 10})
		require.NoError(t, err)
	}
	require.NoError(t, r.Run(Once))
	require.Len(t, rec.list, 4)

	_, err = r.CancelAll(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 5)
	require.Equal(t, uint16(2), rec.list[4].msg)
	require.Equal(t, syscall.ECANCELED, rec.list[4].err)
}

func TestRunCallbackErrorStopsRun(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	boom := errors.New("boom")
	var order []uint16
	cb := func(_ Runtime, t *Task) error {
		order = append(order, t.Msg)
		if t.Msg == 1 {
			return boom
		}
		return nil
	}
	for i := uint16(1); i <= 3; i++ {
		_, err := r.Nop(Ctx{Callback: cb, Msg: i})
		require.NoError(t, err)
	}
	err := r.Run(UntilDone)
	require.ErrorIs(t, err, boom)
	require.Equal(t, []uint16{1}, order)
	require.Equal(t, 2, r.Active())

	// The rest run on the next Run, and the ring keeps working.
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, []uint16{1, 2, 3}, order)
	require.Zero(t, r.Active())
	_, err = r.Nop(Ctx{Callback: cb, Msg: 4})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, []uint16{1, 2, 3, 4}, order)
}

func TestRunFromCallbackIsBusy(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var inner error
	_, err := r.Nop(Ctx{Callback: func(rt Runtime, _ *Task) error {
		inner = rt.Run(NoWait)
		return nil
	}})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.ErrorIs(t, inner, ErrBusy)
}

// TestSubmissionQueueFull queues more operations than the submission queue
// holds before running; getSQE must submit to make room.
func TestSubmissionQueueFull(t *testing.T) {
	r := ktRing(t, Options{Entries: 4})
	var rec ktRec
	for i := 0; i < 50; i++ {
		_, err := r.Nop(Ctx{Callback: rec.cb, Msg: uint16(i)})
		require.NoError(t, err)
	}
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 50)
	for i, res := range rec.list {
		require.Equal(t, uint16(i), res.msg)
		require.NoError(t, res.err)
	}
}

func TestCloseWithOperationsInFlight(t *testing.T) {
	r, err := ktNew(Options{Entries: 8})
	require.NoError(t, err)
	a, b := ktSocketPair(t)
	ran := 0
	cb := func(Runtime, *Task) error { ran++; return nil }
	buf := make([]byte, 16)
	_, err = r.Recv(b, buf, 0, Ctx{Callback: cb})
	require.NoError(t, err)
	_, err = r.Timer(time.Hour, Ctx{Callback: cb})
	require.NoError(t, err)
	br, err := r.NewBufRing(3, 4, 64)
	require.NoError(t, err)
	_, err = r.RecvMultishot(b, br, Ctx{Callback: cb})
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait)) // the kernel now holds them
	// and one more that was never submitted
	_, err = r.Recv(b, buf, 0, Ctx{Callback: cb})
	require.NoError(t, err)
	require.Equal(t, 4, r.Active())

	done := make(chan error, 1)
	go func() { done <- r.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with operations in flight")
	}
	require.Zero(t, ran, "callbacks of cancelled operations must not run")
	require.Zero(t, r.Active())

	require.ErrorIs(t, r.Close(), ErrClosed)
	require.ErrorIs(t, r.Run(UntilDone), ErrClosed)
	require.ErrorIs(t, r.Submit(), ErrClosed)
	_, err = r.Nop(Ctx{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = r.Recv(b, buf, 0, Ctx{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = r.NewBufRing(4, 4, 64)
	require.ErrorIs(t, err, ErrClosed)
	_, err = r.InitChild(Options{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = r.SpawnThread(Options{}, nil)
	require.ErrorIs(t, err, ErrClosed)

	// The socket is intact and nobody reads it any more.
	_, err = unix.Write(a, []byte("x"))
	require.NoError(t, err)
	n, err := unix.Read(b, buf)
	require.NoError(t, err)
	require.Equal(t, "x", string(buf[:n]))
}

func TestInitChild(t *testing.T) {
	parent := ktRing(t, Options{Entries: 8})
	child, err := parent.InitChild(Options{Entries: 8})
	require.NoError(t, err)
	defer child.Close()
	require.NotEqual(t, parent.Fd(), child.Fd())
	require.Equal(t, parent.Backend(), child.Backend(), "a child runs on its parent's backend")
	if child.Backend() == BackendIOURing {
		require.NotZero(t, child.setupFlags&setupAttachWQ, "child must share the parent's worker pool")
	}

	// The rings are independent: each runs only its own completions.
	var pr, cr ktRec
	_, err = parent.Nop(pr.ctx())
	require.NoError(t, err)
	_, err = child.Nop(cr.ctx())
	require.NoError(t, err)
	require.NoError(t, child.Run(UntilDone))
	require.Len(t, cr.list, 1)
	require.Empty(t, pr.list)
	require.NoError(t, parent.Run(UntilDone))
	require.Len(t, pr.list, 1)

	// Work that goes through the shared worker pool (a file read) works.
	path := t.TempDir() + "/f"
	require.NoError(t, writeFileKT(path, "child-data"))
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	buf := make([]byte, 32)
	_, err = child.Read(fd, buf, 0, cr.ctx())
	require.NoError(t, err)
	require.NoError(t, child.Run(UntilDone))
	require.Equal(t, "child-data", string(buf[:cr.last().n]))

	require.NoError(t, child.Close())
	// The parent is unaffected by closing the child.
	_, err = parent.Nop(pr.ctx())
	require.NoError(t, err)
	require.NoError(t, parent.Run(UntilDone))
	require.Len(t, pr.list, 2)
}

func writeFileKT(path, data string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(data))
	return err
}

// checkPollable checks that the ring's PollableFd polls readable once a nop
// has completed and before Run reaps it, and once an asynchronous
// completion (a timer) is pending, and not readable otherwise.
func checkPollable(t *testing.T, r *Ring) {
	fd, err := r.PollableFd()
	require.NoError(t, err)
	if r.setupFlags&setupDeferTaskrun == 0 {
		require.Equal(t, r.Fd(), fd)
	} else {
		require.NotEqual(t, r.Fd(), fd, "a single-issuer ring polls through its eventfd")
	}
	require.Zero(t, ktPoll(t, fd, unix.POLLIN, 0)&unix.POLLIN, "idle ring polls readable")

	var rec ktRec
	_, err = r.Nop(rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	rev := ktPoll(t, fd, unix.POLLIN, time.Second)
	require.NotZero(t, rev&unix.POLLIN, "ring fd not readable after a nop completed (revents %#x)", rev)
	require.Empty(t, rec.list, "Submit must not run callbacks")
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 1)
	require.Zero(t, ktPoll(t, fd, unix.POLLIN, 0)&unix.POLLIN, "ring polls readable after its completions were reaped")

	// An asynchronous completion: a fresh poll after the timer fired
	// reports it.
	_, err = r.Timer(20*time.Millisecond, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	time.Sleep(60 * time.Millisecond)
	rev = ktPoll(t, fd, unix.POLLIN, 0)
	require.NotZero(t, rev&unix.POLLIN, "ring fd not readable after a timer fired (revents %#x)", rev)
	t.Logf("after the timer fired: CQE posted=%v, sq flags %#x", r.cqReady(), atomic.LoadUint32(r.sqFlags))
	require.Len(t, rec.list, 1)
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 2)
	require.NoError(t, rec.list[1].err)
	require.Zero(t, ktPoll(t, fd, unix.POLLIN, 0)&unix.POLLIN)
}

// ktPollWake arms a 20ms timer, then sleeps in poll(2) on the ring fd with
// a 500ms timeout. It reports whether the sleeping poller was woken before
// its timeout, how long it slept, and whether a signal interrupted the
// sleep (after which a fresh poll may have found the completion).
func ktPollWake(t *testing.T, r *Ring) (woken bool, slept time.Duration, interrupted bool) {
	t.Helper()
	var rec ktRec
	_, err := r.Timer(20*time.Millisecond, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	const timeout = 500 * time.Millisecond
	start := time.Now()
	deadline := start.Add(timeout)
	var rev int16
	pfd, err := r.PollableFd()
	require.NoError(t, err)
	for {
		fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms < 0 {
			ms = 0
		}
		_, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			interrupted = true
			continue
		}
		require.NoError(t, err)
		rev = fds[0].Revents
		break
	}
	slept = time.Since(start)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	return rev&unix.POLLIN != 0 && slept < timeout-100*time.Millisecond, slept, interrupted
}

func TestPollableFd(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	checkPollable(t, r)
	woken, slept, _ := ktPollWake(t, r)
	require.True(t, woken, "a poller sleeping on the ring fd was not woken by a completion (slept %v)", slept)
}

func TestPollableFdSingleIssuer(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := ktNew(Options{Entries: 8, SingleIssuer: true})
	require.NoError(t, err)
	defer r.Close()
	require.True(t, r.SingleIssuer())
	require.NotZero(t, r.setupFlags&setupDeferTaskrun)
	checkPollable(t, r)

}

// TestPollableFdSingleIssuerSleepingPoller checks that a poller already
// asleep on a single-issuer ring's pollable fd is woken by an asynchronous
// completion. The kernel queues such a completion as task work for the
// issuer thread and does not wake a poller sleeping on the ring fd itself,
// which is why PollableFd hands out a registered eventfd for these rings.
func TestPollableFdSingleIssuerSleepingPoller(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := ktNew(Options{Entries: 8, SingleIssuer: true})
	require.NoError(t, err)
	defer r.Close()
	require.NotZero(t, r.setupFlags&setupDeferTaskrun)
	woken, slept, _ := ktPollWake(t, r)
	require.True(t, woken, "a poller sleeping on the pollable fd was not woken by a completion (slept %v)", slept)
	// Run drained the eventfd: with nothing pending it no longer polls readable.
	fd, err := r.PollableFd()
	require.NoError(t, err)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestSingleIssuerWrongThread enters a single-issuer ring from another OS
// thread: the kernel refuses and the ring stays usable on its own thread.
func TestSingleIssuerWrongThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := ktNew(Options{Entries: 8, SingleIssuer: true})
	require.NoError(t, err)
	defer r.Close()
	var rec ktRec
	_, err = r.Nop(rec.ctx())
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // a thread other than the owner's, which is locked
		defer runtime.UnlockOSThread()
		errc <- r.Run(UntilDone)
	}()
	require.ErrorIs(t, <-errc, ErrWrongThread)
	require.Empty(t, rec.list)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	require.NoError(t, rec.list[0].err)
}

// ktFakeSetup plays an older kernel: io_uring_setup fails with errno for
// every flag set fail reports true for. It records every flag set tried.
func ktFakeSetup(t *testing.T, fail func(flags uint32) bool, errno unix.Errno) *[]uint32 {
	orig := setupSyscall
	tried := new([]uint32)
	setupSyscall = func(entries uint32, p *params) (int, unix.Errno) {
		*tried = append(*tried, p.flags)
		if fail(p.flags) {
			return -1, errno
		}
		return orig(entries, p)
	}
	t.Cleanup(func() { setupSyscall = orig })
	return tried
}

func ktRejecting(flags uint32) func(uint32) bool {
	return func(f uint32) bool { return f&flags != 0 }
}

func ktRejectAll(uint32) bool { return true }

// ktExercise checks a ring works: nops past the queue size, and a send and
// receive over a socket pair.
func ktExercise(t *testing.T, r *Ring) {
	t.Helper()
	var rec ktRec
	for i := 0; i < 20; i++ {
		_, err := r.Nop(rec.ctx())
		require.NoError(t, err)
	}
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 20)

	a, b := ktSocketPair(t)
	buf := make([]byte, 16)
	rec = ktRec{}
	_, err := r.Recv(b, buf, 0, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	_, err = r.Send(a, []byte("fallback"), 0, Ctx{Callback: rec.cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 2)
	for _, res := range rec.list {
		require.NoError(t, res.err)
		require.Equal(t, 8, res.n)
	}
	require.Equal(t, "fallback", string(buf[:8]))
}

func TestSetupFallback(t *testing.T) {
	cases := []struct {
		name         string
		reject       uint32
		singleIssuer bool
		want         uint32 // flags the ring must end with
		wantSingle   bool
	}{
		{"all-features", 0, false, setupCQSize | setupClamp | setupSubmitAll | setupCoopTaskrun | setupNoSQArray, false},
		{"no-sq-array (6.1-6.5)", setupNoSQArray, false, setupCQSize | setupClamp | setupSubmitAll | setupCoopTaskrun, false},
		{"no-coop-taskrun (5.18)", setupCoopTaskrun | setupNoSQArray, false, setupCQSize | setupClamp | setupSubmitAll, false},
		{"no-submit-all (5.17)", setupSubmitAll | setupNoSQArray, false, setupCQSize | setupClamp, false},
		{"no-flags-at-all", ^uint32(0), false, 0, false},
		{"single-issuer all-features", 0, true, setupCQSize | setupClamp | setupSubmitAll | setupNoSQArray | setupSingleIssuer | setupCoopTaskrun | setupTaskrunFlag | setupDeferTaskrun, true},
		{"single-issuer no-sq-array (6.1-6.5)", setupNoSQArray, true, setupCQSize | setupClamp | setupSubmitAll | setupSingleIssuer | setupCoopTaskrun | setupTaskrunFlag | setupDeferTaskrun, true},
		{"single-issuer no-defer-taskrun (6.0)", setupNoSQArray | setupDeferTaskrun, true, setupCQSize | setupClamp | setupSubmitAll | setupSingleIssuer | setupCoopTaskrun | setupTaskrunFlag, true},
		{"single-issuer unsupported (5.18)", setupNoSQArray | setupDeferTaskrun | setupSingleIssuer, true, setupCQSize | setupClamp | setupSubmitAll, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			fail := ktRejecting(tc.reject)
			if tc.reject == ^uint32(0) {
				fail = func(f uint32) bool { return f != 0 }
			}
			tried := ktFakeSetup(t, fail, unix.EINVAL)
			r, err := New(Options{Entries: 4, SingleIssuer: tc.singleIssuer})
			require.NoError(t, err, "tried %#x", *tried)
			defer r.Close()
			require.Equal(t, tc.want, r.setupFlags, "tried %#x", *tried)
			require.Equal(t, tc.wantSingle, r.SingleIssuer())
			ktExercise(t, r)
		})
	}
}

func TestSetupErrors(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM} {
		ktFakeSetup(t, ktRejectAll, errno)
		_, err := New(Options{Backend: BackendIOURing})
		require.ErrorIs(t, err, errors.ErrUnsupported, "errno %v", errno)
		require.ErrorIs(t, err, errno)
		// BackendAuto runs on epoll instead, and says why.
		r, err := New(Options{})
		require.NoError(t, err, "errno %v", errno)
		require.Equal(t, BackendEpoll, r.Backend())
		require.ErrorIs(t, r.IOURingError(), errno)
		require.ErrorIs(t, r.IOURingError(), errors.ErrUnsupported)
		ktExercise(t, r)
		require.NoError(t, r.Close())
	}
	tried := ktFakeSetup(t, ktRejectAll, unix.ENOMEM)
	_, err := New(Options{})
	require.ErrorIs(t, err, unix.ENOMEM)
	require.NotErrorIs(t, err, errors.ErrUnsupported)
	require.Len(t, *tried, 1, "only EINVAL is a reason to drop flags")
	tried = ktFakeSetup(t, ktRejectAll, unix.EINVAL)
	_, err = New(Options{})
	require.ErrorIs(t, err, unix.EINVAL)
	require.Equal(t, uint32(0), (*tried)[len(*tried)-1], "the last attempt has no optional flags")
}

// ktAllOps calls every submission method once on r with harmless arguments.
func ktAllOps(t *testing.T, r *Ring, other *Ring) map[string]struct {
	op  Op
	run func() error
} {
	buf := make([]byte, 8)
	dir := t.TempDir()
	br, err := r.NewBufRing(9, 2, 16)
	require.NoError(t, err)
	h := func(_ Handle, err error) error { return err }
	stale, err := r.Nop(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	closeFd := Ctx{Callback: func(_ Runtime, t *Task) error {
		if t.Fd() >= 0 {
			unix.Close(t.Fd())
		}
		return nil
	}}
	type entry = struct {
		op  Op
		run func() error
	}
	return map[string]entry{
		"Nop":             {OpNop, func() error { return h(r.Nop(Ctx{})) }},
		"Timer":           {OpTimer, func() error { return h(r.Timer(time.Millisecond, Ctx{})) }},
		"TimerAt":         {OpTimer, func() error { return h(r.TimerAt(time.Now(), Ctx{})) }},
		"Cancel":          {OpCancel, func() error { return h(r.Cancel(stale, Ctx{})) }},
		"CancelFd":        {OpCancel, func() error { return h(r.CancelFd(0, Ctx{})) }},
		"CancelAll":       {OpCancel, func() error { return h(r.CancelAll(Ctx{})) }},
		"Accept":          {OpAccept, func() error { return h(r.Accept(-1, 0, Ctx{})) }},
		"AcceptMultishot": {OpAccept, func() error { return h(r.AcceptMultishot(-1, 0, Ctx{})) }},
		"AcceptNoWait":    {OpAccept, func() error { return h(r.AcceptNoWait(-1, 0, Ctx{})) }},
		"Connect":         {OpConnect, func() error { return h(r.Connect(-1, &unix.SockaddrInet4{}, Ctx{})) }},
		"Recv":            {OpRecv, func() error { return h(r.Recv(-1, buf, 0, Ctx{})) }},
		"RecvMultishot":   {OpRecv, func() error { return h(r.RecvMultishot(-1, br, Ctx{})) }},
		"Send":            {OpSend, func() error { return h(r.Send(-1, buf, 0, Ctx{})) }},
		"Read":            {OpRead, func() error { return h(r.Read(-1, buf, 0, Ctx{})) }},
		"Write":           {OpWrite, func() error { return h(r.Write(-1, buf, 0, Ctx{})) }},
		"Readv":           {OpReadv, func() error { return h(r.Readv(-1, [][]byte{buf}, 0, Ctx{})) }},
		"Writev":          {OpWritev, func() error { return h(r.Writev(-1, [][]byte{buf}, 0, Ctx{})) }},
		"Splice":          {OpSplice, func() error { return h(r.Splice(-1, -1, -1, -1, 1, 0, Ctx{})) }},
		"CloseFd":         {OpClose, func() error { return h(r.CloseFd(-1, Ctx{})) }},
		"Poll":            {OpPoll, func() error { return h(r.Poll(-1, unix.POLLIN, Ctx{})) }},
		"PollMultishot":   {OpPoll, func() error { return h(r.PollMultishot(-1, unix.POLLIN, Ctx{})) }},
		"Socket":          {OpSocket, func() error { return h(r.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0, closeFd)) }},
		"Shutdown":        {OpShutdown, func() error { return h(r.Shutdown(-1, unix.SHUT_RDWR, Ctx{})) }},
		"Openat":          {OpOpenat, func() error { return h(r.Openat(unix.AT_FDCWD, dir+"/missing", unix.O_RDONLY, 0, Ctx{})) }},
		"Statx":           {OpStatx, func() error { return h(r.Statx(unix.AT_FDCWD, dir, 0, unix.STATX_SIZE, Ctx{})) }},
		"MsgRing": {OpMsgRing, func() error {
			task := r.GetTask()
			_, err := r.MsgRing(other, task, Ctx{}) // on error task returns to the pool
			return err
		}},
	}
}

// TestUnsupportedOps plays a kernel that lacks each operation in turn: the
// submission fails with an error matching errors.ErrUnsupported, queues
// nothing, and the ring keeps working.
func TestUnsupportedOps(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	other := ktRing(t, Options{Entries: 8})
	ops := ktAllOps(t, r, other)
	for name, e := range ops {
		require.True(t, Supported(e.op), "%s: %v reported unsupported by this kernel", name, e.op)
		opDisabled[e.op] = true
		tail, active := r.sqeTail, r.Active()
		err := e.run()
		opDisabled[e.op] = false
		require.ErrorIs(t, err, errors.ErrUnsupported, name)
		require.Contains(t, err.Error(), e.op.String(), name)
		require.Equal(t, tail, r.sqeTail, "%s queued an SQE", name)
		require.Equal(t, active, r.Active(), "%s left a task in flight", name)
	}
	require.False(t, Supported(OpNone))
	opDisabled[OpSend] = true
	require.False(t, Supported(OpSend))
	opDisabled[OpSend] = false

	// Every op works again once "the kernel" has it: submit them all and
	// run; those with bad descriptors fail with an errno, not a hang.
	for name, e := range ops {
		require.NoError(t, e.run(), name)
	}
	_, err := r.CancelAll(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, other.Run(UntilDone))
}

// TestUnsupportedRecvSendFallback plays a kernel without recv and send: the
// caller falls back to read and write on the same sockets, then uses
// recv/send once they are available.
func TestUnsupportedRecvSendFallback(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	a, b := ktSocketPair(t)
	opDisabled[OpRecv], opDisabled[OpSend] = true, true
	defer func() { opDisabled[OpRecv], opDisabled[OpSend] = false, false }()

	buf := make([]byte, 16)
	var rec ktRec
	_, err := r.Recv(b, buf, 0, rec.ctx())
	require.ErrorIs(t, err, errors.ErrUnsupported)
	var ue *UnsupportedError
	require.ErrorAs(t, err, &ue)
	_, err = r.Send(a, buf, 0, rec.ctx())
	require.ErrorIs(t, err, errors.ErrUnsupported)

	_, err = r.Read(b, buf, -1, rec.ctx())
	require.NoError(t, err)
	_, err = r.Write(a, []byte("via-write"), -1, rec.ctx())
	require.NoError(t, err)
	_, err = r.Nop(rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 3)
	require.Equal(t, "via-write", string(buf[:9]))

	opDisabled[OpRecv], opDisabled[OpSend] = false, false
	ktExercise(t, r)
}

func TestNopAllocations(t *testing.T) {
	r := ktRing(t, Options{Entries: 64})
	count := 0
	ctx := Ctx{Callback: func(Runtime, *Task) error { count++; return nil }, Msg: 7}
	step := func() {
		if _, err := r.Nop(ctx); err != nil {
			panic(err)
		}
		if err := r.Run(UntilDone); err != nil {
			panic(err)
		}
	}
	for i := 0; i < 100; i++ {
		step()
	}
	allocs := testing.AllocsPerRun(1000, step)
	require.Zero(t, allocs, "allocations per nop submit+run")
	require.Equal(t, 100+1001, count)
}
