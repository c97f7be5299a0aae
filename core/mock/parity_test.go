//go:build linux

package mock_test

import (
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// cancelScenario exercises cancellation on rt and returns the completions
// in the order the callbacks ran. fd is a connected socket with no data to
// read and lfd a listening socket with no connection waiting.
func cancelScenario(t *testing.T, rt core.Runtime, fd, lfd int) [][]event {
	t.Helper()
	var out [][]event
	var rec recorder
	step := func(mode core.RunMode) {
		t.Helper()
		require.NoError(t, rt.Run(mode))
	}
	done := func() {
		step(core.UntilDone)
		out = append(out, rec.events)
		rec.events = nil
	}

	// Cancel by handle of an operation in flight.
	h := must(t)(rt.Recv(fd, make([]byte, 4), 0, rec.ctx(1)))
	step(core.NoWait)
	must(t)(h.Cancel(rec.ctx(2)))
	done()

	// Cancel in the same submission batch.
	h = must(t)(rt.Recv(fd, make([]byte, 4), 0, rec.ctx(1)))
	must(t)(rt.Cancel(h, rec.ctx(2)))
	done()

	// Cancel of an operation that completes on its own first.
	h = must(t)(rt.Nop(rec.ctx(1)))
	must(t)(rt.Cancel(h, rec.ctx(2)))
	done()

	// Cancel of a stale handle.
	must(t)(h.Cancel(rec.ctx(1)))
	done()

	// Cancel by descriptor, then everything.
	must(t)(rt.Recv(fd, make([]byte, 4), 0, rec.ctx(1)))
	must(t)(rt.Poll(fd, unix.POLLIN, rec.ctx(2)))
	must(t)(rt.Timer(time.Hour, rec.ctx(3)))
	must(t)(rt.CancelFd(fd, rec.ctx(4)))
	step(core.NoWait)
	must(t)(rt.CancelAll(rec.ctx(5)))
	done()

	// Cancel by descriptor with nothing to cancel.
	must(t)(rt.CancelFd(fd, rec.ctx(1)))
	done()

	// Cancel of a multishot accept.
	h = must(t)(rt.AcceptMultishot(lfd, 0, rec.ctx(1)))
	step(core.NoWait)
	must(t)(h.Cancel(rec.ctx(2)))
	done()
	return out
}

// TestCancelMatchesRing runs the same cancellations on a core.Ring and on a
// mock.Ring and requires the same completions in the same order.
func TestCancelMatchesRing(t *testing.T) {
	r, err := core.New(core.Options{Entries: 64})
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer r.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	lfd, _ := listenLoopback(t)
	defer unix.Close(lfd)
	onRing := cancelScenario(t, r, pair[0], lfd)

	m := mock.New(t)
	mocked := cancelScenario(t, m, 5, 3)
	require.Equal(t, onRing, mocked)

	canceled := -int32(unix.ECANCELED)
	require.Equal(t, [][]event{
		{{Op: core.OpCancel, Msg: 2}, {Op: core.OpRecv, Msg: 1, Res: canceled}},
		{{Op: core.OpCancel, Msg: 2}, {Op: core.OpRecv, Msg: 1, Res: canceled}},
		{{Op: core.OpNop, Msg: 1}, {Op: core.OpCancel, Msg: 2, Res: -int32(unix.ENOENT)}},
		{{Op: core.OpCancel, Msg: 1, Res: -int32(unix.ENOENT)}},
		{
			{Op: core.OpCancel, Msg: 4, Res: 2},
			{Op: core.OpRecv, Msg: 1, Res: canceled},
			{Op: core.OpPoll, Msg: 2, Res: canceled},
			{Op: core.OpCancel, Msg: 5, Res: 1},
			{Op: core.OpTimer, Msg: 3, Res: canceled},
		},
		{{Op: core.OpCancel, Msg: 1}},
		{{Op: core.OpCancel, Msg: 2}, {Op: core.OpAccept, Msg: 1, Res: canceled}},
	}, mocked)
}

// recvMultishotScenario receives on fd with a multishot receive through a
// ring of two 4-byte buffers. send makes the peer send data, or end the
// stream when given nil.
func recvMultishotScenario(t *testing.T, rt core.Runtime, fd int, send func([]byte)) []event {
	t.Helper()
	br := must2(t)(rt.NewBufRing(7, 2, 4))
	var events []event
	final := false
	ctx := core.Ctx{Callback: func(_ core.Runtime, tk *core.Task) error {
		events = append(events, event{Op: tk.Result.Op, Res: tk.Result.Res, More: tk.More(), Data: string(tk.Result.Buf)})
		final = !tk.More()
		return nil
	}}
	until := func(n int) {
		t.Helper()
		for len(events) < n {
			require.NoError(t, rt.Run(core.Once))
		}
	}

	send([]byte("abcdefgh"))
	must(t)(rt.RecvMultishot(fd, br, ctx))
	until(2)
	// Twelve bytes for two buffers: the third receive finds none free.
	send([]byte("ijklmnopqrst"))
	for !final {
		require.NoError(t, rt.Run(core.Once))
	}
	final = false
	must(t)(rt.RecvMultishot(fd, br, ctx))
	until(len(events) + 1)
	send(nil)
	for !final {
		require.NoError(t, rt.Run(core.Once))
	}
	return events
}

func must2(t *testing.T) func(*core.BufRing, error) *core.BufRing {
	return func(br *core.BufRing, err error) *core.BufRing {
		t.Helper()
		require.NoError(t, err)
		return br
	}
}

// TestRecvMultishotMatchesRing runs the same multishot receive on a
// core.Ring over a socket pair and on a mock.Ring with scripted data.
func TestRecvMultishotMatchesRing(t *testing.T) {
	r, err := core.New(core.Options{Entries: 64})
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer r.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	onRing := recvMultishotScenario(t, r, pair[0], func(b []byte) {
		if b == nil {
			require.NoError(t, unix.Shutdown(pair[1], unix.SHUT_WR))
			return
		}
		_, err := unix.Write(pair[1], b)
		require.NoError(t, err)
	})

	m := mock.New(t)
	mocked := recvMultishotScenario(t, m, 5, func(b []byte) {
		if b == nil {
			m.Script(5, core.OpRecv, mock.EOF())
			return
		}
		m.Script(5, core.OpRecv, mock.Data(b))
	})
	require.Equal(t, onRing, mocked)
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 4, More: true, Data: "abcd"},
		{Op: core.OpRecv, Res: 4, More: true, Data: "efgh"},
		{Op: core.OpRecv, Res: 4, More: true, Data: "ijkl"},
		{Op: core.OpRecv, Res: 4, More: true, Data: "mnop"},
		{Op: core.OpRecv, Res: -int32(unix.ENOBUFS)},
		{Op: core.OpRecv, Res: 4, More: true, Data: "qrst"},
		{Op: core.OpRecv, Res: 0},
	}, mocked)
}
