//go:build linux

package mock_test

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The tests in this file produce each fault the mock scripts on a kernel
// ring, and require the completions the mock gives for it to be the
// kernel's.

func kernelRing(t *testing.T) *core.Ring {
	t.Helper()
	r, err := core.New(core.Options{Entries: 64})
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server int) {
	t.Helper()
	lfd, port := listenLoopback(t)
	defer unix.Close(lfd)
	client, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, unix.Connect(client, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}))
	server, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	require.NoError(t, err)
	return client, server
}

// untilEvents runs rt until rec holds n events.
func untilEvents(t *testing.T, rt core.Runtime, rec *recorder, n int) {
	t.Helper()
	for len(rec.events) < n {
		require.NoError(t, rt.Run(core.Once))
	}
}

// resetScenario receives three times and sends twice on fd, whose peer
// sent "abc" and then reset the connection.
func resetScenario(t *testing.T, rt core.Runtime, fd int) []event {
	var rec recorder
	buf := make([]byte, 8)
	for i := range 3 {
		must(t)(rt.Recv(fd, buf, 0, rec.ctx(uint16(i))))
		untilEvents(t, rt, &rec, i+1)
	}
	for i := range 2 {
		must(t)(rt.Send(fd, []byte("x"), unix.MSG_NOSIGNAL, rec.ctx(uint16(10+i))))
		untilEvents(t, rt, &rec, 4+i)
	}
	return rec.events
}

// TestConnResetMatchesKernel: data sent before a reset arrives first, then
// one receive fails with ECONNRESET, later receives see end of stream and
// sends fail with EPIPE.
func TestConnResetMatchesKernel(t *testing.T) {
	r := kernelRing(t)
	client, server := tcpPair(t)
	defer unix.Close(server)
	_, err := unix.Write(client, []byte("abc"))
	require.NoError(t, err)
	require.NoError(t, unix.SetsockoptLinger(client, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}))
	require.NoError(t, unix.Close(client))
	// Wait, boundedly, for the reset to reach the server's socket.
	pfd := []unix.PollFd{{Fd: int32(server), Events: unix.POLLIN}}
	for pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) == 0 {
		n, err := unix.Poll(pfd, 5000)
		if err == unix.EINTR {
			continue
		}
		require.NoError(t, err)
		require.NotZero(t, n, "no reset within 5 s")
	}
	onRing := resetScenario(t, r, server)

	m := mock.New(t)
	m.Script(server, core.OpRecv, mock.Data([]byte("abc")), mock.ConnReset())
	mocked := resetScenario(t, m, server)
	require.Equal(t, onRing, mocked)
	require.Equal(t, []int32{3, -int32(unix.ECONNRESET), 0, -int32(unix.EPIPE), -int32(unix.EPIPE)}, results(mocked))
}

// TestCancelRunningMatchesKernel cancels an openat that a kernel worker is
// running: opening a FIFO for reading blocks until a writer comes, and
// O_TRUNC keeps the kernel from trying the open inline without blocking.
// The cancel completes with EALREADY, then the interrupted open with its
// own error.
func TestCancelRunningMatchesKernel(t *testing.T) {
	r := kernelRing(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, unix.Mkfifo(fifo, 0o600))
	const flags = unix.O_RDONLY | unix.O_TRUNC | unix.O_CLOEXEC

	// The cancel must come once the worker is blocked in the open;
	// before that it wins. Wait longer each time, boundedly.
	var onRing []event
	for wait := time.Millisecond; ; wait *= 2 {
		require.Less(t, wait, 5*time.Second, "the cancel never found the open running")
		var rec recorder
		h := must(t)(r.Openat(unix.AT_FDCWD, fifo, flags, 0, rec.ctx(1)))
		require.NoError(t, r.Run(core.NoWait))
		time.Sleep(wait)
		must(t)(h.Cancel(rec.ctx(2)))
		untilEvents(t, r, &rec, 2)
		if rec.events[0].Op == core.OpOpenat && rec.events[0].Res >= 0 {
			unix.Close(int(rec.events[0].Res))
		}
		if rec.events[0].Res == -int32(unix.EALREADY) {
			onRing = rec.events
			break
		}
		require.Equal(t, []event{{Op: core.OpCancel, Msg: 2}, {Op: core.OpOpenat, Msg: 1, Res: -int32(unix.ECANCELED)}}, rec.events,
			"a cancel that is not too early wins")
	}
	res := onRing[1].Res
	require.Contains(t, []int32{-512, -int32(unix.EINTR)}, res, "the interrupted open fails: ERESTARTSYS leaks out, or EINTR")

	m := mock.New(t)
	var rec recorder
	h := must(t)(m.Openat(unix.AT_FDCWD, fifo, flags, 0, rec.ctx(1)))
	require.NoError(t, m.Run(core.NoWait))
	m.ScriptCancel(mock.CancelRunning)
	must(t)(h.Cancel(rec.ctx(2)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Len(t, rec.events, 1)
	m.Script(unix.AT_FDCWD, core.OpOpenat, mock.Errno(syscall.Errno(-res)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, onRing, rec.events)
}

// TestCancelTooLateMatchesKernel: a receive whose data is there completes
// before a cancel in the same submission reaches it, and the cancel gets
// ENOENT; CancelTooLate gives the same completions.
func TestCancelTooLateMatchesKernel(t *testing.T) {
	r := kernelRing(t)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	_, err = unix.Write(pair[1], []byte("hi"))
	require.NoError(t, err)
	var rec recorder
	h := must(t)(r.Recv(pair[0], make([]byte, 4), 0, rec.ctx(1)))
	must(t)(h.Cancel(rec.ctx(2)))
	untilEvents(t, r, &rec, 2)
	onRing := rec.events

	m := mock.New(t)
	rec = recorder{}
	h = must(t)(m.Recv(5, make([]byte, 4), 0, rec.ctx(1)))
	require.NoError(t, m.Run(core.NoWait))
	m.ScriptCancel(mock.CancelTooLate)
	must(t)(h.Cancel(rec.ctx(2)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Empty(t, rec.events)
	m.Script(5, core.OpRecv, mock.Data([]byte("hi")))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, onRing, rec.events)
	require.Equal(t, []event{{Op: core.OpRecv, Msg: 1, Res: 2}, {Op: core.OpCancel, Msg: 2, Res: -int32(unix.ENOENT)}}, rec.events)
}

// finalScenario receives "abcdef" through 4-byte buffers: first with a
// receive that ends after its first completion, then with one that runs to
// end of stream.
func finalScenario(t *testing.T, rt core.Runtime, fd int, first func(*core.BufRing, core.Ctx) (core.Handle, error), eof func()) []event {
	br := must2(t)(rt.NewBufRing(3, 4, 4))
	var events []event
	final := false
	ctx := core.Ctx{Callback: func(_ core.Runtime, tk *core.Task) error {
		events = append(events, event{Op: tk.Result.Op, Res: tk.Result.Res, More: tk.More(), Data: string(tk.Result.Buf)})
		final = !tk.More()
		return nil
	}}
	until := func() {
		for !final {
			require.NoError(t, rt.Run(core.Once))
		}
		final = false
	}
	must(t)(first(br, ctx))
	until()
	must(t)(rt.RecvMultishot(fd, br, ctx))
	for len(events) < 2 {
		require.NoError(t, rt.Run(core.Once))
	}
	eof()
	until()
	return events
}

// TestFinalMatchesKernel: the kernel ends a multishot receive with a
// successful completion without More when it reaches its limit; Final
// scripts that ending for any multishot receive.
func TestFinalMatchesKernel(t *testing.T) {
	r := kernelRing(t)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	_, err = unix.Write(pair[1], []byte("abcdef"))
	require.NoError(t, err)
	onRing := finalScenario(t, r, pair[0], func(br *core.BufRing, ctx core.Ctx) (core.Handle, error) {
		return r.RecvMultishotLimit(pair[0], br, 4, ctx)
	}, func() { require.NoError(t, unix.Shutdown(pair[1], unix.SHUT_WR)) })

	m := mock.New(t)
	m.Script(5, core.OpRecv, mock.Data([]byte("abcdef")).Final())
	mocked := finalScenario(t, m, 5, func(br *core.BufRing, ctx core.Ctx) (core.Handle, error) {
		return m.RecvMultishot(5, br, ctx)
	}, func() { m.Script(5, core.OpRecv, mock.EOF()) })
	require.Equal(t, onRing, mocked)
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 4, Data: "abcd"},
		{Op: core.OpRecv, Res: 2, More: true, Data: "ef"},
		{Op: core.OpRecv, Res: 0},
	}, mocked)
}

// TestOutOfOrderMatchesKernel: two receives in flight complete in the
// order their data arrives, the later one first; Reverse gives that order.
func TestOutOfOrderMatchesKernel(t *testing.T) {
	r := kernelRing(t)
	a, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(a[0])
	defer unix.Close(a[1])
	b, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(b[0])
	defer unix.Close(b[1])
	var rec recorder
	must(t)(r.Recv(a[0], make([]byte, 4), 0, rec.ctx(1)))
	must(t)(r.Recv(b[0], make([]byte, 4), 0, rec.ctx(2)))
	require.NoError(t, r.Run(core.NoWait))
	_, err = unix.Write(b[1], []byte("bb"))
	require.NoError(t, err)
	untilEvents(t, r, &rec, 1)
	_, err = unix.Write(a[1], []byte("a"))
	require.NoError(t, err)
	untilEvents(t, r, &rec, 2)
	onRing := rec.events

	m := mock.New(t)
	rec = recorder{}
	must(t)(m.Recv(5, make([]byte, 4), 0, rec.ctx(1)))
	must(t)(m.Recv(6, make([]byte, 4), 0, rec.ctx(2)))
	m.Script(5, core.OpRecv, mock.Data([]byte("a")))
	m.Script(6, core.OpRecv, mock.Data([]byte("bb")))
	m.Reverse()
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, onRing, rec.events)
	require.Equal(t, []uint16{2, 1}, rec.msgs())
}
