package mock_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
)

// event is what a recording callback saw.
type event struct {
	Op   core.Op
	Msg  uint16
	Res  int32
	More bool
	Data string
}

// recorder collects the completions its callback sees.
type recorder struct {
	events []event
	tasks  []*core.Task
	fail   map[uint16]error // callback error by Msg
}

func (r *recorder) ctx(msg uint16) core.Ctx {
	return core.Ctx{Callback: r.cb, Userdata: r, Msg: msg}
}

func (r *recorder) cb(_ core.Runtime, t *core.Task) error {
	rec := core.UserdataAs[*recorder](t)
	if rec != r {
		panic("userdata not delivered")
	}
	r.events = append(r.events, event{Op: t.Result.Op, Msg: t.Msg, Res: t.Result.Res, More: t.More(), Data: string(t.Result.Buf)})
	r.tasks = append(r.tasks, t)
	return r.fail[t.Msg]
}

func (r *recorder) msgs() []uint16 {
	var out []uint16
	for _, e := range r.events {
		out = append(out, e.Msg)
	}
	return out
}

// must fails the test on a submission error and returns the handle.
func must(t *testing.T) func(core.Handle, error) core.Handle {
	return func(h core.Handle, err error) core.Handle {
		t.Helper()
		require.NoError(t, err)
		return h
	}
}

func TestSubmissionOrder(t *testing.T) {
	m := mock.New(t)
	var r recorder
	m.Script(5, core.OpRecv, mock.Data([]byte("abc")))
	buf := make([]byte, 8)
	must(t)(m.Recv(5, buf, 0, r.ctx(1)))
	must(t)(m.Nop(r.ctx(2)))
	must(t)(m.Timer(0, r.ctx(3)))
	must(t)(m.Send(6, []byte("xy"), 0, r.ctx(4)))
	must(t)(m.Shutdown(6, syscall.SHUT_WR, r.ctx(5)))
	require.Empty(t, r.events, "callbacks run only from Run")
	require.Equal(t, 5, m.Active())

	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpRecv, Msg: 1, Res: 3},
		{Op: core.OpNop, Msg: 2},
		{Op: core.OpTimer, Msg: 3},
		{Op: core.OpSend, Msg: 4, Res: 2},
		{Op: core.OpShutdown, Msg: 5},
	}, r.events)
	require.Equal(t, "abc", string(buf[:3]))
	require.Equal(t, "xy", string(m.Sent(6)))
	require.Zero(t, m.Active())
}

func TestRunModes(t *testing.T) {
	m := mock.New(t)
	var r recorder

	require.NoError(t, m.Run(core.NoWait), "NoWait with nothing to do")
	require.NoError(t, m.Run(core.NoWaitRaw), "NoWaitRaw with nothing to do")
	require.ErrorIs(t, m.Run(core.Once), mock.ErrWouldBlock)
	require.NoError(t, m.Run(core.UntilDone))

	h := must(t)(m.Recv(9, make([]byte, 4), 0, r.ctx(1)))
	err := m.Run(core.Once)
	require.ErrorIs(t, err, mock.ErrWouldBlock)
	require.Contains(t, err.Error(), "recv fd 9")
	require.NoError(t, m.Run(core.NoWait))
	require.NoError(t, m.Run(core.NoWaitRaw))
	require.NoError(t, m.Run(core.UntilDone), "UntilDone returns when nothing pending can complete")
	require.True(t, h.Live())
	require.Equal(t, 1, m.Active())

	// Once runs what is ready, then stops: follow-up work waits.
	m.Script(9, core.OpRecv, mock.EOF())
	must(t)(m.Nop(core.Ctx{Callback: func(rt core.Runtime, _ *core.Task) error {
		_, err := rt.Nop(r.ctx(3))
		return err
	}}))
	require.NoError(t, m.Run(core.Once))
	require.Equal(t, []uint16{1}, r.msgs())
	require.False(t, h.Live())
	require.NoError(t, m.Run(core.Once))
	require.Equal(t, []uint16{1, 3}, r.msgs())
	require.Zero(t, m.Active())
}

func TestRunIsNotReentrant(t *testing.T) {
	m := mock.New(t)
	var inner error
	must(t)(m.Nop(core.Ctx{Callback: func(rt core.Runtime, _ *core.Task) error {
		inner = rt.Run(core.NoWait)
		return nil
	}}))
	require.NoError(t, m.Run(core.UntilDone))
	require.ErrorIs(t, inner, core.ErrBusy)
}

func TestRecvStreamsAndErrors(t *testing.T) {
	m := mock.New(t)
	var r recorder
	m.Script(4, core.OpRecv, mock.Data([]byte("0123456789")), mock.Errno(syscall.ECONNRESET))
	buf := make([]byte, 4)
	for i := range 4 {
		must(t)(m.Recv(4, buf, 0, r.ctx(uint16(i))))
		require.NoError(t, m.Run(core.Once))
	}
	var res []int32
	for _, e := range r.events {
		res = append(res, e.Res)
	}
	require.Equal(t, []int32{4, 4, 2, -int32(syscall.ECONNRESET)}, res)
	require.Equal(t, "89", string(buf[:2]))

	var err error
	must(t)(m.Recv(4, buf, 0, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		err = t.Err()
		return nil
	}}))
	m.Script(4, core.OpRecv, mock.Errno(syscall.ECONNRESET))
	require.NoError(t, m.Run(core.UntilDone))
	var errno syscall.Errno
	require.ErrorAs(t, err, &errno)
	require.Equal(t, syscall.ECONNRESET, errno)
}

func TestReadvWritevReadWrite(t *testing.T) {
	m := mock.New(t)
	var r recorder
	a, b := make([]byte, 2), make([]byte, 3)
	m.Script(3, core.OpReadv, mock.Data([]byte("hello")))
	m.Script(3, core.OpRead, mock.Data([]byte("xyz")))
	rbuf := make([]byte, 8)
	must(t)(m.Readv(3, [][]byte{a, b}, 0, r.ctx(1)))
	must(t)(m.Read(3, rbuf, -1, r.ctx(2)))
	must(t)(m.Writev(8, [][]byte{[]byte("ab"), []byte("cd")}, 0, r.ctx(3)))
	must(t)(m.Write(8, []byte("ef"), 10, r.ctx(4)))
	m.Script(8, core.OpWrite, mock.Errno(syscall.ENOSPC))
	must(t)(m.Write(8, []byte("gh"), 12, r.ctx(5)))
	require.NoError(t, m.Run(core.UntilDone))

	require.Equal(t, "he", string(a))
	require.Equal(t, "llo", string(b))
	require.Equal(t, "xyz", string(rbuf[:3]))
	// The scripted failure goes to the first write; the next one succeeds.
	require.Equal(t, "abcdgh", string(m.Sent(8)))
	require.Equal(t, []int32{5, 3, 4, -int32(syscall.ENOSPC), 2}, []int32{
		r.events[0].Res, r.events[1].Res, r.events[2].Res, r.events[3].Res, r.events[4].Res,
	})
}

func TestShortSend(t *testing.T) {
	m := mock.New(t)
	var r recorder
	m.Script(6, core.OpSend, mock.Res(3), mock.Errno(syscall.EPIPE))
	must(t)(m.Send(6, []byte("hello"), 0, r.ctx(1)))
	must(t)(m.Send(6, []byte("lo"), 0, r.ctx(2)))
	must(t)(m.Send(6, []byte("!"), 0, r.ctx(3)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []int32{3, -int32(syscall.EPIPE), 1}, []int32{r.events[0].Res, r.events[1].Res, r.events[2].Res})
	require.Equal(t, "hel!", string(m.Sent(6)))
}

func TestConnectSocketOpenatStatxSplicePoll(t *testing.T) {
	m := mock.New(t)
	var r recorder
	m.Script(mock.NoFd, core.OpSocket, mock.Res(10))
	m.Script(10, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
	m.Script(atFdcwd, core.OpOpenat, mock.Res(11))
	m.Script(atFdcwd, core.OpStatx, mock.Stat(core.Statx{Size: 42}))
	m.Script(20, core.OpSplice, mock.Res(100))
	m.Script(11, core.OpPoll, mock.Res(pollIn))

	var size uint64
	must(t)(m.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0, r.ctx(1)))
	must(t)(m.Connect(10, core.AddrPortToSockaddr(netip.MustParseAddrPort("192.0.2.1:80")), r.ctx(2)))
	must(t)(m.Openat(atFdcwd, "/etc/hosts", syscall.O_RDONLY, 0, r.ctx(3)))
	must(t)(m.Statx(atFdcwd, "/etc/hosts", 0, statxSize, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		size = t.Statx().Size
		return t.Err()
	}}))
	must(t)(m.Splice(20, -1, 21, -1, 100, 0, r.ctx(5)))
	must(t)(m.Poll(11, pollIn, r.ctx(6)))
	must(t)(m.CloseFd(10, r.ctx(7)))
	must(t)(m.CloseFd(11, r.ctx(8)))
	require.NoError(t, m.Run(core.UntilDone))

	require.Equal(t, uint64(42), size)
	require.Equal(t, []event{
		{Op: core.OpSocket, Msg: 1, Res: 10},
		{Op: core.OpConnect, Msg: 2, Res: -int32(syscall.ECONNREFUSED)},
		{Op: core.OpOpenat, Msg: 3, Res: 11},
		{Op: core.OpSplice, Msg: 5, Res: 100},
		{Op: core.OpPoll, Msg: 6, Res: pollIn},
		{Op: core.OpClose, Msg: 7},
		{Op: core.OpClose, Msg: 8},
	}, r.events)

	_, err := m.Connect(10, nil, core.Ctx{})
	require.ErrorIs(t, err, syscall.EAFNOSUPPORT)
}

func TestAcceptPeer(t *testing.T) {
	m := mock.New(t)
	peer := netip.MustParseAddrPort("[::1]:4242")
	m.Script(3, core.OpAccept, mock.Accepted(7, peer))
	var got netip.AddrPort
	var fd int
	must(t)(m.Accept(3, 0, core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		fd = t.Fd()
		got, _ = core.SockaddrToAddrPort(t.RemoteSockaddr())
		_, err := rt.CloseFd(fd, core.Ctx{})
		return err
	}}))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 7, fd)
	require.Equal(t, peer, got)
}

func TestRecvMultishot(t *testing.T) {
	m := mock.New(t)
	br, err := m.NewBufRing(1, 2, 4)
	require.NoError(t, err)
	_, err = m.NewBufRing(1, 2, 4)
	require.ErrorIs(t, err, syscall.EEXIST)

	var (
		events []event
		ids    []uint16
		task   *core.Task
		kept   []byte
		keptID uint16
	)
	h := must(t)(m.RecvMultishot(5, br, core.Ctx{Callback: func(_ core.Runtime, tk *core.Task) error {
		if task == nil {
			task = tk
		}
		require.Same(t, task, tk, "a multishot keeps its task")
		events = append(events, event{Op: tk.Result.Op, Res: tk.Result.Res, More: tk.More(), Data: string(tk.Result.Buf)})
		if tk.Result.Flags&core.CQEFlagBuffer != 0 {
			ids = append(ids, uint16(tk.Result.Flags>>core.CQEBufferShift))
		}
		if string(tk.Result.Buf) == "bc" {
			var ok bool
			kept, keptID, ok = tk.TakeBuffer()
			require.True(t, ok)
		}
		return nil
	}}))

	m.Script(5, core.OpRecv, mock.Data([]byte("a")))
	require.NoError(t, m.Run(core.UntilDone))
	require.True(t, h.Live())
	m.Script(5, core.OpRecv, mock.Data([]byte("bc")), mock.Data([]byte("defgh")))
	require.NoError(t, m.Run(core.UntilDone))
	// "a" was recycled, "bc" kept, so the data is split over the two buffers
	// left and then the ring runs dry.
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 1, More: true, Data: "a"},
		{Op: core.OpRecv, Res: 2, More: true, Data: "bc"},
		{Op: core.OpRecv, Res: 4, More: true, Data: "defg"},
		{Op: core.OpRecv, Res: -int32(syscall.ENOBUFS)},
	}, events)
	require.Len(t, ids, 3)
	require.False(t, h.Live())
	require.Equal(t, "bc", string(kept))
	br.Recycle(keptID)

	// Resubmitted, it gets the rest and then end of stream.
	events, task = nil, nil
	must(t)(m.RecvMultishot(5, br, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		events = append(events, event{Op: t.Result.Op, Res: t.Result.Res, More: t.More(), Data: string(t.Result.Buf)})
		return nil
	}}))
	m.Script(5, core.OpRecv, mock.EOF())
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 1, More: true, Data: "h"},
		{Op: core.OpRecv, Res: 0},
	}, events)
	require.Zero(t, m.Active())

	other := mock.New(t)
	_, err = other.RecvMultishot(5, br, core.Ctx{})
	require.ErrorIs(t, err, core.ErrForeignTask)
}

func TestAcceptAndPollMultishot(t *testing.T) {
	m := mock.New(t)
	var r recorder
	acc := must(t)(m.AcceptMultishot(3, 0, r.ctx(1)))
	must(t)(m.PollMultishot(4, pollIn, r.ctx(2)))
	m.Script(3, core.OpAccept, mock.Res(10), mock.Res(11))
	m.Script(4, core.OpPoll, mock.Res(pollIn), mock.Errno(syscall.EBADF))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpAccept, Msg: 1, Res: 10, More: true},
		{Op: core.OpAccept, Msg: 1, Res: 11, More: true},
		{Op: core.OpPoll, Msg: 2, Res: pollIn, More: true},
		{Op: core.OpPoll, Msg: 2, Res: -int32(syscall.EBADF)},
	}, r.events)
	require.True(t, acc.Live())

	r.events = nil
	must(t)(acc.Cancel(r.ctx(3)))
	must(t)(m.CloseFd(10, core.Ctx{}))
	must(t)(m.CloseFd(11, core.Ctx{}))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpCancel, Msg: 3},
		{Op: core.OpAccept, Msg: 1, Res: -int32(syscall.ECANCELED)},
	}, r.events)
	require.False(t, acc.Live())
}

func TestCancel(t *testing.T) {
	m := mock.New(t)
	var r recorder
	var cancelErr, recvErr error
	h := must(t)(m.Recv(5, make([]byte, 4), 0, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		recvErr = t.Err()
		return nil
	}}))
	require.NoError(t, m.Run(core.NoWait))
	must(t)(h.Cancel(core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		cancelErr = t.Err()
		return nil
	}}))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, syscall.ECANCELED, recvErr)
	require.NoError(t, cancelErr)
	require.False(t, h.Live())

	// The handle is stale now: the cancel finds nothing.
	must(t)(h.Cancel(r.ctx(1)))
	// A completed but not yet run operation cannot be cancelled either.
	n := must(t)(m.Nop(r.ctx(2)))
	must(t)(m.Cancel(n, r.ctx(3)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpCancel, Msg: 1, Res: -int32(syscall.ENOENT)},
		{Op: core.OpNop, Msg: 2},
		{Op: core.OpCancel, Msg: 3, Res: -int32(syscall.ENOENT)},
	}, r.events)

	_, err := m.Cancel(core.Handle{}, core.Ctx{})
	require.ErrorIs(t, err, core.ErrInvalidHandle)
	other := mock.New(t)
	foreign := must(t)(other.Nop(core.Ctx{}))
	_, err = m.Cancel(foreign, core.Ctx{})
	require.ErrorIs(t, err, core.ErrForeignTask)
	require.NoError(t, other.Run(core.UntilDone))
}

func TestCancelFdAndAll(t *testing.T) {
	m := mock.New(t)
	var r recorder
	must(t)(m.Recv(5, make([]byte, 1), 0, r.ctx(1)))
	must(t)(m.Poll(5, pollIn, r.ctx(2)))
	must(t)(m.Recv(6, make([]byte, 1), 0, r.ctx(3)))
	must(t)(m.Timer(time.Hour, r.ctx(4)))
	must(t)(m.CancelFd(5, r.ctx(5)))
	require.NoError(t, m.Run(core.UntilDone))
	// As from the kernel, the cancel completes before what it cancelled.
	require.Equal(t, []event{
		{Op: core.OpCancel, Msg: 5, Res: 2},
		{Op: core.OpRecv, Msg: 1, Res: -int32(syscall.ECANCELED)},
		{Op: core.OpPoll, Msg: 2, Res: -int32(syscall.ECANCELED)},
	}, r.events)

	r.events = nil
	must(t)(m.CancelAll(r.ctx(6)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpCancel, Msg: 6, Res: 2},
		{Op: core.OpRecv, Msg: 3, Res: -int32(syscall.ECANCELED)},
		{Op: core.OpTimer, Msg: 4, Res: -int32(syscall.ECANCELED)},
	}, r.events)
	require.Zero(t, m.Active())
}

func TestTimers(t *testing.T) {
	m := mock.New(t)
	var r recorder
	start := m.Now()
	must(t)(m.Timer(time.Second, r.ctx(1)))
	must(t)(m.TimerAt(start.Add(3*time.Second), r.ctx(2)))
	must(t)(m.Timer(time.Hour, r.ctx(3)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Empty(t, r.events, "timers wait for the test")

	m.Advance(2 * time.Second)
	require.Equal(t, start.Add(2*time.Second), m.Now())
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []uint16{1}, r.msgs())
	m.Advance(time.Second)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []uint16{1, 2}, r.msgs())

	require.Equal(t, 1, m.FireTimers())
	require.NoError(t, m.Run(core.Once))
	require.Equal(t, []uint16{1, 2, 3}, r.msgs())
	for _, e := range r.events {
		require.Zero(t, e.Res, "an expired timer reports success")
	}
	require.Zero(t, m.FireTimers())
}

func TestDeadlines(t *testing.T) {
	m := mock.New(t)
	var r recorder
	h1 := must(t)(m.Recv(5, make([]byte, 4), 0, r.ctx(1)))
	h2 := must(t)(m.Accept(3, 0, r.ctx(2)))
	h3 := must(t)(m.Recv(6, make([]byte, 4), 0, r.ctx(3)))
	require.NoError(t, h1.SetDeadline(m.Now().Add(time.Second)))
	require.NoError(t, h2.SetDeadline(m.Now().Add(time.Minute)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Empty(t, r.events)

	m.Advance(time.Second)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{{Op: core.OpRecv, Msg: 1, Res: -int32(syscall.ECANCELED)}}, r.events)
	require.ErrorIs(t, h1.SetDeadline(m.Now()), core.ErrTaskDone)

	require.Equal(t, 1, m.ExpireDeadlines(), "only h2 has a deadline left")
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []uint16{1, 2}, r.msgs())
	require.Equal(t, syscall.ECANCELED, func() error { return syscall.Errno(-r.events[1].Res) }())

	// An operation that completes before its deadline is not affected.
	require.NoError(t, h3.SetDeadline(m.Now().Add(time.Second)))
	m.Script(6, core.OpRecv, mock.Data([]byte("ok")))
	require.NoError(t, m.Run(core.UntilDone))
	m.Advance(time.Hour)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, event{Op: core.OpRecv, Msg: 3, Res: 2}, r.events[2])
	require.Len(t, r.events, 3)

	require.ErrorIs(t, m.SetDeadline(core.Handle{}, m.Now()), core.ErrInvalidHandle)
}

func TestTaskRecycledAfterFinalCompletion(t *testing.T) {
	m := mock.New(t)
	var kept *core.Task
	h := must(t)(m.Nop(core.Ctx{Userdata: 42, Msg: 7, Callback: func(_ core.Runtime, tk *core.Task) error {
		kept = tk
		require.Equal(t, 42, core.UserdataAs[int](tk))
		require.Equal(t, uint16(7), core.MsgAs[uint16](tk))
		require.Equal(t, core.OpNop, tk.Result.Op)
		return nil
	}}))
	require.True(t, h.Live())
	require.NoError(t, m.Run(core.UntilDone))
	require.False(t, h.Live())
	require.Nil(t, kept.Userdata)
	require.Nil(t, kept.Callback)
	require.Zero(t, kept.Msg)
	require.ErrorIs(t, h.SetDeadline(time.Now()), core.ErrTaskDone)
}

func TestCallbackErrorStopsRun(t *testing.T) {
	m := mock.New(t)
	boom := errors.New("boom")
	r := recorder{fail: map[uint16]error{2: boom}}
	for i := range 4 {
		must(t)(m.Nop(r.ctx(uint16(i + 1))))
	}
	require.ErrorIs(t, m.Run(core.UntilDone), boom)
	require.Equal(t, []uint16{1, 2}, r.msgs())
	require.Equal(t, 2, m.Active(), "the remaining completions are kept")

	require.NoError(t, m.Run(core.NoWait))
	require.Equal(t, []uint16{1, 2, 3, 4}, r.msgs())
	require.Zero(t, m.Active())

	// A multishot's error stops Run but not the operation.
	r = recorder{fail: map[uint16]error{9: boom}}
	h := must(t)(m.PollMultishot(4, pollIn, r.ctx(9)))
	m.Script(4, core.OpPoll, mock.Res(1), mock.Res(2))
	require.ErrorIs(t, m.Run(core.UntilDone), boom)
	require.Len(t, r.events, 1)
	require.True(t, h.Live())
	delete(r.fail, 9)
	require.NoError(t, m.Run(core.Once))
	require.Len(t, r.events, 2)
	must(t)(h.Cancel(core.Ctx{}))
	require.NoError(t, m.Run(core.UntilDone))
	require.False(t, h.Live())
}

type testMsg uint16

const (
	msgRt1 testMsg = iota
	msgRt2
)

// TestMsgRing is core's TestRuntimeMsgRing on two mocks.
func TestMsgRing(t *testing.T) {
	rt1, rt2 := mock.New(t), mock.New(t)

	type foo2 struct {
		rt1, rt2   bool
		rt2Runtime core.Runtime
		op         core.Op
	}
	callback := func(rt core.Runtime, task *core.Task) error {
		self := core.UserdataAs[*foo2](task)
		switch core.MsgAs[testMsg](task) {
		case msgRt1:
			self.rt1 = true
		case msgRt2:
			self.rt2 = true
			self.rt2Runtime = rt
			self.op = task.Result.Op
		}
		return nil
	}
	var foo foo2
	target := rt1.GetTask()
	target.Userdata = &foo
	target.Callback = callback
	target.Msg = uint16(msgRt2)
	_, err := rt1.MsgRing(rt2, target, core.Ctx{Callback: callback, Msg: uint16(msgRt1), Userdata: &foo})
	require.NoError(t, err)

	require.NoError(t, rt2.Run(core.UntilDone))
	require.False(t, foo.rt2, "the message is posted by the sender's Run")

	require.NoError(t, rt1.Run(core.UntilDone))
	require.True(t, foo.rt1)
	require.False(t, foo.rt2)

	require.NoError(t, rt2.Run(core.UntilDone))
	require.True(t, foo.rt2)
	require.Same(t, rt2, foo.rt2Runtime)
	require.Equal(t, core.OpMessage, foo.op)

	// A task can be sent once, only by the ring that reserved it, and only
	// to another mock.
	_, err = rt1.MsgRing(rt2, target, core.Ctx{})
	require.ErrorIs(t, err, core.ErrForeignTask)
	_, err = rt2.MsgRing(rt1, rt1.GetTask(), core.Ctx{})
	require.ErrorIs(t, err, core.ErrForeignTask)
	_, err = rt1.MsgRing(nil, rt1.GetTask(), core.Ctx{})
	require.Error(t, err)
}

// TestMsgRingAcrossGoroutines sends tasks to a mock run by another
// goroutine, as between threads.
func TestMsgRingAcrossGoroutines(t *testing.T) {
	sender, receiver := mock.New(t), mock.New(t)
	const n = 100
	var got []int
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for len(got) < n {
			if err := receiver.Run(core.Once); err != nil && !errors.Is(err, mock.ErrWouldBlock) {
				panic(err)
			}
		}
		close(done)
	}()
	sent := 0
	for i := range n {
		task := sender.GetTask()
		task.Userdata = i
		task.Callback = func(_ core.Runtime, t *core.Task) error {
			got = append(got, core.UserdataAs[int](t))
			return nil
		}
		must(t)(sender.MsgRing(receiver, task, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
			sent++
			return t.Err()
		}}))
		require.NoError(t, sender.Run(core.UntilDone))
	}
	<-done
	wg.Wait()
	require.Equal(t, n, sent)
	for i := range n {
		require.Equal(t, i, got[i])
	}
}

// fakeTB records what the mock reports, to test that leaks fail a test.
type fakeTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func (f *fakeTB) finish() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestLeakDetection(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		tb := &fakeTB{}
		m := mock.New(tb)
		m.RegisterFd(3)
		m.Script(3, core.OpAccept, mock.Res(4))
		m.Script(mock.NoFd, core.OpSocket, mock.Res(5))
		m.Script(atFdcwd, core.OpOpenat, mock.Res(6))
		must(t)(m.Accept(3, 0, core.Ctx{}))
		must(t)(m.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0, core.Ctx{}))
		must(t)(m.Openat(atFdcwd, "f", 0, 0, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		for _, fd := range []int{3, 4, 5, 6} {
			must(t)(m.CloseFd(fd, core.Ctx{}))
		}
		require.NoError(t, m.Run(core.UntilDone))
		// A closed number may be returned again.
		m.Script(3, core.OpAccept, mock.Res(4))
		must(t)(m.Accept(3, 0, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		must(t)(m.CloseFd(4, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		require.NoError(t, m.Verify())
		tb.finish()
		require.Empty(t, tb.errs)
	})
	t.Run("leak", func(t *testing.T) {
		tb := &fakeTB{}
		m := mock.New(tb)
		m.RegisterFd(9)
		m.Script(3, core.OpAccept, mock.Res(4))
		must(t)(m.Accept(3, 0, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		require.Error(t, m.Verify())
		require.Empty(t, tb.errs, "leaks are reported when the test ends")
		tb.finish()
		require.Len(t, tb.errs, 2)
		require.Contains(t, tb.errs[0], "fd 4 (from accept) was never closed")
		require.Contains(t, tb.errs[1], "fd 9 (from RegisterFd) was never closed")
	})
	t.Run("double close", func(t *testing.T) {
		tb := &fakeTB{}
		m := mock.New(tb)
		m.RegisterFd(5)
		var errs []error
		cb := core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
			errs = append(errs, t.Err())
			return nil
		}}
		must(t)(m.CloseFd(5, cb))
		must(t)(m.CloseFd(5, cb))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []error{nil, syscall.EBADF}, errs)
		require.Len(t, tb.errs, 1)
		require.Contains(t, tb.errs[0], "fd 5 closed twice")
		require.ErrorContains(t, m.Verify(), "closed twice")
		tb.finish()
		require.Len(t, tb.errs, 1)
	})
	t.Run("unknown fd", func(t *testing.T) {
		tb := &fakeTB{}
		m := mock.New(tb)
		must(t)(m.CloseFd(12, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		tb.finish()
		require.Len(t, tb.errs, 1)
		require.Contains(t, tb.errs[0], "close of fd 12, which was never opened")
	})
	t.Run("reopen while open", func(t *testing.T) {
		tb := &fakeTB{}
		m := mock.New(tb)
		m.RegisterFd(4)
		m.Script(3, core.OpAccept, mock.Res(4))
		must(t)(m.Accept(3, 0, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		require.Len(t, tb.errs, 1)
		require.True(t, strings.Contains(tb.errs[0], "already open"))
		must(t)(m.CloseFd(4, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		tb.finish()
		require.Len(t, tb.errs, 1)
	})
}

func TestScriptRejectsSelfCompletingOps(t *testing.T) {
	m := mock.New(t)
	require.Panics(t, func() { m.Script(1, core.OpTimer, mock.OK()) })
	require.Panics(t, func() { m.Script(1, core.OpNop, mock.OK()) })
}

func TestPostFromOtherGoroutines(t *testing.T) {
	m := mock.New(t)
	var got []uint16
	cb := func(_ core.Runtime, task *core.Task) error {
		require.Equal(t, core.OpMessage, task.Result.Op)
		got = append(got, task.Msg)
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3 {
			require.NoError(t, m.Post(core.Ctx{Callback: cb, Msg: uint16(i)}))
		}
	}()
	<-done
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []uint16{0, 1, 2}, got)
}

// TestRecvMultishotLimit checks that a limited multishot receive ends with
// the buffer that reaches its limit and leaves the rest scripted.
func TestRecvMultishotLimit(t *testing.T) {
	m := mock.New(t)
	br, err := m.NewBufRing(1, 8, 4)
	require.NoError(t, err)
	_, err = m.RecvMultishotLimit(5, br, 0, core.Ctx{})
	require.ErrorIs(t, err, syscall.EINVAL)
	var events []event
	h := must(t)(m.RecvMultishotLimit(5, br, 6, core.Ctx{Callback: func(_ core.Runtime, tk *core.Task) error {
		events = append(events, event{Op: tk.Result.Op, Res: tk.Result.Res, More: tk.More(), Data: string(tk.Result.Buf)})
		return nil
	}}))
	m.Script(5, core.OpRecv, mock.Data([]byte("abcdefghij")))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 4, More: true, Data: "abcd"},
		{Op: core.OpRecv, Res: 4, Data: "efgh"},
	}, events)
	require.False(t, h.Live())
	b := make([]byte, 8)
	var rest string
	must(t)(m.Recv(5, b, 0, core.Ctx{Callback: func(_ core.Runtime, tk *core.Task) error {
		rest = string(b[:tk.Result.Res])
		return nil
	}}))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, "ij", rest)
}
