package mock_test

import (
	"fmt"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
)

// results returns the results of the events.
func results(events []event) []int32 {
	var res []int32
	for _, e := range events {
		res = append(res, e.Res)
	}
	return res
}

// multishotRecorder records the completions of multishot receives,
// buffers included.
func multishotRecorder(events *[]event) core.Ctx {
	return core.Ctx{Callback: func(_ core.Runtime, tk *core.Task) error {
		*events = append(*events, event{Op: tk.Result.Op, Res: tk.Result.Res, More: tk.More(), Data: string(tk.Result.Buf)})
		return nil
	}}
}

func TestChunkMakesShortReceives(t *testing.T) {
	m := mock.New(t)
	var r recorder
	m.Script(5, core.OpRecv, mock.Data([]byte("abcdefgh")).Chunk(3), mock.Data([]byte("ij")))
	buf := make([]byte, 8)
	var got []byte
	for i := range 4 {
		must(t)(m.Recv(5, buf, 0, r.ctx(uint16(i))))
		require.NoError(t, m.Run(core.UntilDone))
		got = append(got, buf[:r.events[i].Res]...)
	}
	require.Equal(t, []int32{3, 3, 2, 2}, results(r.events), "the chunked reply is delivered 3 bytes at a time, the next one whole")
	require.Equal(t, "abcdefghij", string(got))

	// The same bound holds for multishot receives and readv.
	br, err := m.NewBufRing(1, 4, 8)
	require.NoError(t, err)
	var events []event
	m.Script(5, core.OpRecv, mock.Data([]byte("klmnopq")).Chunk(4), mock.EOF())
	must(t)(m.RecvMultishot(5, br, multishotRecorder(&events)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 4, More: true, Data: "klmn"},
		{Op: core.OpRecv, Res: 3, More: true, Data: "opq"},
		{Op: core.OpRecv, Res: 0},
	}, events)
	a, b := make([]byte, 2), make([]byte, 4)
	m.Script(6, core.OpReadv, mock.Data([]byte("rstuvw")).Chunk(5))
	must(t)(m.Readv(6, [][]byte{a, b}, 0, r.ctx(9)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, int32(5), r.events[len(r.events)-1].Res)
	require.Equal(t, "rs", string(a))
	require.Equal(t, "tuv", string(b[:3]))

	require.Panics(t, func() { mock.Data([]byte("x")).Chunk(0) })
	require.Panics(t, func() { mock.EOF().Chunk(-1) })
	require.Panics(t, func() { mock.Res(3).Chunk(1) })
}

func TestConnResetMidStream(t *testing.T) {
	m := mock.New(t)
	var r recorder
	const conn = 7
	m.RegisterFd(conn)
	// The peer sent "abc", then reset; the data scripted after the reset
	// never arrives.
	m.Script(conn, core.OpRecv, mock.Data([]byte("abc")), mock.ConnReset(), mock.Data([]byte("lost")))
	buf := make([]byte, 8)
	for i := range 3 {
		must(t)(m.Recv(conn, buf, 0, r.ctx(uint16(i))))
		require.NoError(t, m.Run(core.UntilDone))
	}
	must(t)(m.Send(conn, []byte("x"), 0, r.ctx(3)))
	must(t)(m.Write(conn, []byte("y"), -1, r.ctx(4)))
	br, err := m.NewBufRing(1, 2, 4)
	require.NoError(t, err)
	must(t)(m.RecvMultishot(conn, br, r.ctx(5)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []int32{3, -int32(syscall.ECONNRESET), 0, -int32(syscall.EPIPE), -int32(syscall.EPIPE), 0},
		results(r.events))
	require.Empty(t, m.Sent(conn))

	// Closing the descriptor ends the reset: a new connection with the
	// same number works.
	must(t)(m.CloseFd(conn, core.Ctx{}))
	m.Script(3, core.OpAccept, mock.Res(conn))
	must(t)(m.Accept(3, 0, core.Ctx{}))
	require.NoError(t, m.Run(core.UntilDone))
	r.events = nil
	must(t)(m.Recv(conn, buf, 0, r.ctx(1)))
	must(t)(m.Send(conn, []byte("ok"), 0, r.ctx(2)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []int32{4, 2}, results(r.events), `the new connection gets the "lost" data scripted for the number`)

	// A reset scripted for a send.
	r.events = nil
	m.Script(conn, core.OpSend, mock.ConnReset())
	must(t)(m.Send(conn, []byte("zz"), 0, r.ctx(1)))
	must(t)(m.Recv(conn, buf, 0, r.ctx(2)))
	must(t)(m.Send(conn, []byte("zz"), 0, r.ctx(3)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []int32{-int32(syscall.ECONNRESET), 0, -int32(syscall.EPIPE)}, results(r.events))
	require.Equal(t, "ok", string(m.Sent(conn)))
	must(t)(m.CloseFd(conn, core.Ctx{}))
	require.NoError(t, m.Run(core.UntilDone))
}

func TestFinalEndsMultishot(t *testing.T) {
	m := mock.New(t)
	br, err := m.NewBufRing(1, 4, 4)
	require.NoError(t, err)
	var events []event
	m.Script(5, core.OpRecv, mock.Data([]byte("abcdef")).Final())
	h := must(t)(m.RecvMultishot(5, br, multishotRecorder(&events)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{{Op: core.OpRecv, Res: 4, Data: "abcd"}}, events, "a success without More ends the receive")
	require.False(t, h.Live())

	must(t)(m.RecvMultishot(5, br, multishotRecorder(&events)))
	m.Script(5, core.OpRecv, mock.EOF())
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 4, Data: "abcd"},
		{Op: core.OpRecv, Res: 2, More: true, Data: "ef"},
		{Op: core.OpRecv, Res: 0},
	}, events, "the rest of a final reply arrives with More")

	var r recorder
	m.Script(3, core.OpAccept, mock.Res(10), mock.Res(11).Final(), mock.Res(12))
	acc := must(t)(m.AcceptMultishot(3, 0, r.ctx(1)))
	m.Script(4, core.OpPoll, mock.Res(pollIn).Final())
	must(t)(m.PollMultishot(4, pollIn, r.ctx(2)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpAccept, Msg: 1, Res: 10, More: true},
		{Op: core.OpAccept, Msg: 1, Res: 11},
		{Op: core.OpPoll, Msg: 2, Res: pollIn},
	}, r.events)
	require.False(t, acc.Live())
	// Final means nothing to a single-shot operation.
	must(t)(m.Accept(3, 0, r.ctx(3)))
	require.NoError(t, m.Run(core.UntilDone))
	for _, fd := range []int{10, 11, 12} {
		must(t)(m.CloseFd(fd, core.Ctx{}))
	}
	require.NoError(t, m.Run(core.UntilDone))
	require.Zero(t, m.Active())
}

func TestScriptedENOBUFS(t *testing.T) {
	m := mock.New(t)
	br, err := m.NewBufRing(1, 4, 4)
	require.NoError(t, err)
	var events []event
	m.Script(5, core.OpRecv, mock.Data([]byte("ab")), mock.Errno(syscall.ENOBUFS), mock.Data([]byte("cd")))
	must(t)(m.RecvMultishot(5, br, multishotRecorder(&events)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpRecv, Res: 2, More: true, Data: "ab"},
		{Op: core.OpRecv, Res: -int32(syscall.ENOBUFS)},
	}, events, "ENOBUFS ends the receive although the ring has buffers")
	require.Zero(t, m.Active())
}

func TestReverse(t *testing.T) {
	m := mock.New(t)
	var r recorder
	for i := range 3 {
		must(t)(m.Nop(r.ctx(uint16(i + 1))))
	}
	m.Reverse()
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []uint16{3, 2, 1}, r.msgs())

	// A cancel and the operation it cancels stay in order, and so do one
	// operation's completions; only a Run's first pass is reversed.
	r.events = nil
	h := must(t)(m.Recv(5, make([]byte, 4), 0, r.ctx(1)))
	must(t)(m.PollMultishot(6, pollIn, r.ctx(2)))
	m.Script(6, core.OpPoll, mock.Res(1), mock.Res(2), mock.Errno(syscall.EBADF))
	must(t)(m.Cancel(h, r.ctx(3)))
	must(t)(m.Nop(r.ctx(4)))
	m.Reverse()
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []event{
		{Op: core.OpNop, Msg: 4},
		{Op: core.OpCancel, Msg: 3},
		{Op: core.OpRecv, Msg: 1, Res: -int32(syscall.ECANCELED)},
		{Op: core.OpPoll, Msg: 2, Res: 1, More: true},
		{Op: core.OpPoll, Msg: 2, Res: 2, More: true},
		{Op: core.OpPoll, Msg: 2, Res: -int32(syscall.EBADF)},
	}, r.events)

	r.events = nil
	must(t)(m.Nop(r.ctx(1)))
	must(t)(m.Nop(r.ctx(2)))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []uint16{1, 2}, r.msgs(), "Reverse lasts one pass")
}

func TestScriptCancel(t *testing.T) {
	var (
		m *mock.Ring
		r recorder
	)
	const conn = 5
	enoent, ealready := -int32(syscall.ENOENT), -int32(syscall.EALREADY)

	t.Run("too late", func(t *testing.T) {
		m, r = mock.New(t), recorder{}
		h := must(t)(m.Recv(conn, make([]byte, 4), 0, r.ctx(1)))
		require.NoError(t, m.Run(core.UntilDone))
		m.ScriptCancel(mock.CancelTooLate)
		must(t)(h.Cancel(r.ctx(2)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Empty(t, r.events, "the cancel waits for the receive's own result")
		require.Equal(t, 2, m.Active())
		require.ErrorContains(t, m.Run(core.Once), "cancel (too late for recv fd 5, waiting for its completion)")
		m.Script(conn, core.OpRecv, mock.Data([]byte("hi")))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{{Op: core.OpRecv, Msg: 1, Res: 2}, {Op: core.OpCancel, Msg: 2, Res: enoent}}, r.events)
	})
	t.Run("too late, reversed", func(t *testing.T) {
		m, r = mock.New(t), recorder{}
		h := must(t)(m.Recv(conn, make([]byte, 4), 0, r.ctx(1)))
		m.ScriptCancel(mock.CancelTooLate)
		must(t)(h.Cancel(r.ctx(2)))
		must(t)(m.Nop(r.ctx(3)))
		m.Script(conn, core.OpRecv, mock.EOF())
		m.Reverse()
		require.NoError(t, m.Run(core.UntilDone))
		// The kernel cannot report ENOENT before the completion it
		// missed; Reverse keeps the two together.
		require.Equal(t, []event{{Op: core.OpNop, Msg: 3}, {Op: core.OpRecv, Msg: 1}, {Op: core.OpCancel, Msg: 2, Res: enoent}}, r.events)
	})
	t.Run("too late, deadline", func(t *testing.T) {
		m, r = mock.New(t), recorder{}
		h := must(t)(m.Recv(conn, make([]byte, 4), 0, r.ctx(1)))
		require.NoError(t, h.SetDeadline(m.Now().Add(time.Second)))
		m.ScriptCancel(mock.CancelTooLate)
		must(t)(h.Cancel(r.ctx(2)))
		require.NoError(t, m.Run(core.UntilDone))
		m.Advance(2 * time.Second)
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{{Op: core.OpRecv, Msg: 1, Res: -int32(syscall.ECANCELED)}, {Op: core.OpCancel, Msg: 2, Res: enoent}}, r.events)
	})
	t.Run("running", func(t *testing.T) {
		m, r = mock.New(t), recorder{}
		h := must(t)(m.Recv(conn, make([]byte, 4), 0, r.ctx(1)))
		m.ScriptCancel(mock.CancelRunning, mock.CancelWins)
		must(t)(h.Cancel(r.ctx(2)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{{Op: core.OpCancel, Msg: 2, Res: ealready}}, r.events)
		require.True(t, h.Live(), "the receive goes on")
		// Cancelling again wins.
		must(t)(h.Cancel(r.ctx(3)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{
			{Op: core.OpCancel, Msg: 2, Res: ealready},
			{Op: core.OpCancel, Msg: 3},
			{Op: core.OpRecv, Msg: 1, Res: -int32(syscall.ECANCELED)},
		}, r.events)
	})
	t.Run("running, own result", func(t *testing.T) {
		m, r = mock.New(t), recorder{}
		h := must(t)(m.Recv(conn, make([]byte, 4), 0, r.ctx(1)))
		m.ScriptCancel(mock.CancelRunning)
		must(t)(h.Cancel(r.ctx(2)))
		require.NoError(t, m.Run(core.UntilDone))
		m.Script(conn, core.OpRecv, mock.Errno(syscall.EINTR))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{{Op: core.OpCancel, Msg: 2, Res: ealready}, {Op: core.OpRecv, Msg: 1, Res: -int32(syscall.EINTR)}}, r.events)
	})
	t.Run("nothing to cancel", func(t *testing.T) {
		m, r = mock.New(t), recorder{}
		n := must(t)(m.Nop(r.ctx(1)))
		require.NoError(t, m.Run(core.UntilDone))
		m.ScriptCancel(mock.CancelRunning)
		must(t)(n.Cancel(r.ctx(2)))
		must(t)(m.CancelAll(r.ctx(3)))
		h := must(t)(m.Recv(conn, make([]byte, 4), 0, r.ctx(4)))
		must(t)(h.Cancel(r.ctx(5)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{
			{Op: core.OpNop, Msg: 1},
			{Op: core.OpCancel, Msg: 2, Res: enoent},
			{Op: core.OpCancel, Msg: 3},
			{Op: core.OpCancel, Msg: 5, Res: ealready},
		}, r.events, "the outcome goes to the first cancel that finds its operation")
		must(t)(h.Cancel(r.ctx(6)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Zero(t, m.Active())
	})
	require.Panics(t, func() { m.ScriptCancel(mock.CancelOutcome(9)) })
	require.Equal(t, "CancelTooLate", mock.CancelTooLate.String())
}

func TestSetFaultsRejectsBadProbabilities(t *testing.T) {
	m := mock.New(t)
	for _, f := range []mock.Faults{{ShortRecv: 1.5}, {Reset: -0.1}, {CancelRace: math.NaN()}} {
		require.ErrorContains(t, m.SetFaults(f), "not a probability")
	}
	require.NoError(t, m.SetFaults(mock.Faults{Seed: 1, ShortSend: 1}))
	must(t)(m.Send(4, []byte("hello"), 0, core.Ctx{}))
	require.NoError(t, m.Run(core.UntilDone))
	require.Len(t, m.Injected(), 1)
	require.NoError(t, m.SetFaults(mock.Faults{Seed: 1}), "the zero chances turn the mode off")
	require.Nil(t, m.Injected())
	must(t)(m.Send(4, []byte("hello"), 0, core.Ctx{}))
	require.NoError(t, m.Run(core.UntilDone))
	require.Nil(t, m.Injected())
}

// TestEachFault turns on one fault at a time, certain to happen, and
// checks what it does.
func TestEachFault(t *testing.T) {
	const conn = 5
	setup := func(t *testing.T, f mock.Faults) (*mock.Ring, *recorder) {
		m := mock.New(t)
		f.Seed = 42
		require.NoError(t, m.SetFaults(f))
		return m, &recorder{}
	}
	t.Run("short receive", func(t *testing.T) {
		m, r := setup(t, mock.Faults{ShortRecv: 1})
		m.Script(conn, core.OpRecv, mock.Data([]byte("abcdefgh")), mock.EOF())
		buf := make([]byte, 8)
		var got []byte
		for i := 0; ; i++ {
			must(t)(m.Recv(conn, buf, 0, r.ctx(0)))
			require.NoError(t, m.Run(core.UntilDone))
			n := r.events[i].Res
			if n == 0 {
				break
			}
			require.Less(t, n, int32(8))
			got = append(got, buf[:n]...)
		}
		require.Equal(t, "abcdefgh", string(got), "short, but every byte in order")
		for _, f := range m.Injected() {
			require.Equal(t, mock.Fault{Kind: mock.FaultShortRecv, Op: core.OpRecv, Fd: conn}, f)
		}
	})
	t.Run("short send", func(t *testing.T) {
		m, r := setup(t, mock.Faults{ShortSend: 1})
		must(t)(m.Send(conn, []byte("hello"), 0, r.ctx(1)))
		must(t)(m.Send(conn, []byte("!"), 0, r.ctx(2)))
		require.NoError(t, m.Run(core.UntilDone))
		n := r.events[0].Res
		require.True(t, n >= 1 && n < 5, "short send of %d", n)
		require.Equal(t, int32(1), r.events[1].Res, "a 1-byte send cannot be short")
		require.Equal(t, "hello"[:n]+"!", string(m.Sent(conn)))
		require.Equal(t, []mock.Fault{{Kind: mock.FaultShortSend, Op: core.OpSend, Fd: conn}}, m.Injected())
	})
	t.Run("reset", func(t *testing.T) {
		m, r := setup(t, mock.Faults{Reset: 1})
		m.Script(conn, core.OpRecv, mock.Data([]byte("abc")))
		must(t)(m.Recv(conn, make([]byte, 8), 0, r.ctx(1)))
		must(t)(m.Send(conn, []byte("x"), 0, r.ctx(2)))
		must(t)(m.Send(6, []byte("y"), 0, r.ctx(3)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []int32{-int32(syscall.ECONNRESET), -int32(syscall.EPIPE), -int32(syscall.ECONNRESET)}, results(r.events))
		require.Equal(t, "connection reset on recv fd 5", m.Injected()[0].String())
		require.Len(t, m.Injected(), 2)
	})
	t.Run("reset loses the rest of the stream", func(t *testing.T) {
		m, r := setup(t, mock.Faults{Reset: 1})
		m.RegisterFd(conn)
		m.Script(conn, core.OpRecv, mock.Data([]byte("ab")), mock.Data([]byte("cd")), mock.EOF(), mock.Data([]byte("next")))
		buf := make([]byte, 8)
		must(t)(m.Recv(conn, buf, 0, r.ctx(1)))
		require.NoError(t, m.Run(core.UntilDone))
		must(t)(m.CloseFd(conn, core.Ctx{}))
		m.Script(3, core.OpAccept, mock.Res(conn))
		must(t)(m.Accept(3, 0, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		require.NoError(t, m.SetFaults(mock.Faults{}))
		must(t)(m.Recv(conn, buf, 0, r.ctx(2)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []int32{-int32(syscall.ECONNRESET), 4}, results(r.events))
		require.Equal(t, "next", string(buf[:4]), "the next connection with the number gets what follows the lost stream")
		must(t)(m.CloseFd(conn, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
	})
	t.Run("ENOBUFS", func(t *testing.T) {
		m, _ := setup(t, mock.Faults{NoBufs: 1})
		br, err := m.NewBufRing(1, 4, 4)
		require.NoError(t, err)
		var events []event
		m.Script(conn, core.OpRecv, mock.Data([]byte("ab")))
		must(t)(m.RecvMultishot(conn, br, multishotRecorder(&events)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{{Op: core.OpRecv, Res: -int32(syscall.ENOBUFS)}}, events)
	})
	t.Run("multishot ended", func(t *testing.T) {
		m, r := setup(t, mock.Faults{EndMultishot: 1})
		m.Script(3, core.OpAccept, mock.Res(10), mock.Res(11))
		must(t)(m.AcceptMultishot(3, 0, r.ctx(1)))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, []event{{Op: core.OpAccept, Msg: 1, Res: 10}}, r.events)
		must(t)(m.CloseFd(10, core.Ctx{}))
		require.NoError(t, m.Run(core.UntilDone))
		require.Equal(t, "multishot ended on accept fd 3", m.Injected()[0].String())
	})
	t.Run("reorder", func(t *testing.T) {
		m, r := setup(t, mock.Faults{Reorder: 1})
		for i := range 8 {
			must(t)(m.Nop(r.ctx(uint16(i))))
		}
		must(t)(m.PollMultishot(4, pollIn, r.ctx(100)))
		m.Script(4, core.OpPoll, mock.Res(1), mock.Res(2), mock.Res(3), mock.Errno(syscall.EBADF))
		require.NoError(t, m.Run(core.UntilDone))
		require.Len(t, r.events, 12)
		require.NotEqual(t, []uint16{0, 1, 2, 3, 4, 5, 6, 7, 100, 100, 100, 100}, r.msgs())
		var polls []int32
		for _, e := range r.events {
			if e.Msg == 100 {
				polls = append(polls, e.Res)
			}
		}
		require.Equal(t, []int32{1, 2, 3, -int32(syscall.EBADF)}, polls, "one operation's completions stay in order")
		require.Equal(t, []mock.Fault{{Kind: mock.FaultReorder, Fd: -1}}, m.Injected())
	})
	t.Run("cancel race", func(t *testing.T) {
		m, r := setup(t, mock.Faults{CancelRace: 1})
		kinds := map[mock.FaultKind]int{}
		for i := range 20 {
			r.events = nil
			h := must(t)(m.Recv(conn, make([]byte, 4), 0, r.ctx(1)))
			must(t)(h.Cancel(r.ctx(2)))
			require.NoError(t, m.Run(core.UntilDone))
			f := m.Injected()[i]
			kinds[f.Kind]++
			switch f.Kind {
			case mock.FaultCancelRunning:
				require.Equal(t, []event{{Op: core.OpCancel, Msg: 2, Res: -int32(syscall.EALREADY)}}, r.events)
			case mock.FaultCancelTooLate:
				require.Empty(t, r.events)
			default:
				t.Fatalf("injected %v", f)
			}
			m.Script(conn, core.OpRecv, mock.EOF())
			require.NoError(t, m.Run(core.UntilDone))
			require.Zero(t, m.Active())
		}
		require.Len(t, kinds, 2, "both outcomes occur")
		// A multishot operation is taken off its wait list at once, as
		// the kernel does: its cancel always wins.
		for range 10 {
			before := len(m.Injected())
			r.events = nil
			h := must(t)(m.PollMultishot(4, pollIn, r.ctx(3)))
			must(t)(h.Cancel(core.Ctx{}))
			require.NoError(t, m.Run(core.UntilDone))
			require.Len(t, m.Injected(), before)
			require.Equal(t, []event{{Op: core.OpPoll, Msg: 3, Res: -int32(syscall.ECANCELED)}}, r.events)
		}
	})
}

// faultRun submits a fixed workload on a mock with every fault likely and
// returns what the callbacks saw and what was injected.
func faultRun(t *testing.T, seed uint64) ([]event, []mock.Fault) {
	m := mock.New(t)
	require.NoError(t, m.SetFaults(mock.Faults{
		Seed: seed, ShortRecv: 0.5, ShortSend: 0.5, Reset: 0.1, NoBufs: 0.2,
		EndMultishot: 0.2, Reorder: 0.5, CancelRace: 0.5,
	}))
	var r recorder
	br, err := m.NewBufRing(1, 4, 4)
	require.NoError(t, err)
	for fd := 10; fd < 14; fd++ {
		m.Script(fd, core.OpRecv, mock.Data([]byte("0123456789abcdef")), mock.EOF())
		must(t)(m.Recv(fd, make([]byte, 8), 0, r.ctx(uint16(fd))))
		must(t)(m.Send(fd, []byte("0123456789"), 0, r.ctx(uint16(fd+10))))
		must(t)(m.RecvMultishot(fd+10, br, r.ctx(uint16(fd+20))))
		m.Script(fd+10, core.OpRecv, mock.Data([]byte("ghijklmn")), mock.EOF())
		h := must(t)(m.Recv(fd+20, make([]byte, 8), 0, r.ctx(uint16(fd+30))))
		must(t)(h.Cancel(r.ctx(uint16(fd + 40))))
	}
	require.NoError(t, m.Run(core.UntilDone))
	for fd := 30; fd < 34; fd++ {
		m.Script(fd, core.OpRecv, mock.EOF())
	}
	require.NoError(t, m.Run(core.UntilDone))
	return r.events, m.Injected()
}

func TestFaultsReplayBySeed(t *testing.T) {
	ev1, inj1 := faultRun(t, 7)
	ev2, inj2 := faultRun(t, 7)
	require.NotEmpty(t, inj1)
	require.Equal(t, inj1, inj2, "the same seed injects the same faults")
	require.Equal(t, ev1, ev2, "and gives the same run")
	ev3, inj3 := faultRun(t, 8)
	require.NotEqual(t, inj1, inj3, "another seed, another run")
	require.NotEqual(t, ev1, ev3)
	kinds := map[mock.FaultKind]bool{}
	for seed := range uint64(20) {
		_, inj := faultRun(t, seed)
		for _, f := range inj {
			kinds[f.Kind] = true
		}
	}
	require.Len(t, kinds, 8, "every kind of fault occurs over a few seeds: %v", kinds)
}

// reorderWorkload submits, for one pass of Run, operations whose
// completions the kernel keeps in order: multishot completions, a cancel
// before what it cancels, an ENOENT after the completion it missed.
func reorderWorkload(t *testing.T, m *mock.Ring) []event {
	var r recorder
	m.Script(3, core.OpAccept, mock.Res(10), mock.Res(11))
	acc := must(t)(m.AcceptMultishot(3, 0, r.ctx(1)))
	must(t)(m.Cancel(acc, r.ctx(2)))
	m.Script(4, core.OpPoll, mock.Res(1), mock.Res(2), mock.Errno(syscall.EBADF))
	must(t)(m.PollMultishot(4, pollIn, r.ctx(3)))
	for i := range 4 {
		must(t)(m.Nop(r.ctx(uint16(4 + i))))
	}
	m.Script(5, core.OpRecv, mock.Data([]byte("x")))
	rh := must(t)(m.Recv(5, make([]byte, 4), 0, r.ctx(8)))
	must(t)(m.Cancel(rh, r.ctx(9)))
	must(t)(m.Recv(20, make([]byte, 4), 0, r.ctx(11)))
	must(t)(m.Poll(20, pollIn, r.ctx(12)))
	must(t)(m.CancelFd(20, r.ctx(10)))
	require.NoError(t, m.Run(core.UntilDone))
	for _, fd := range []int{10, 11} {
		must(t)(m.CloseFd(fd, core.Ctx{}))
	}
	require.NoError(t, m.Run(core.UntilDone))
	return r.events
}

// TestReorderKeepsKernelOrder checks random reordering over many seeds:
// the same completions as in order, each operation's in its order, and
// every cancel where the kernel puts it.
func TestReorderKeepsKernelOrder(t *testing.T) {
	want := reorderWorkload(t, mock.New(t))
	require.Len(t, want, 16)
	perMsg := func(events []event) map[uint16][]event {
		out := map[uint16][]event{}
		for _, e := range events {
			out[e.Msg] = append(out[e.Msg], e)
		}
		return out
	}
	index := func(events []event, msg uint16, res int32) int {
		for i, e := range events {
			if e.Msg == msg && e.Res == res {
				return i
			}
		}
		return -1
	}
	canceled := -int32(syscall.ECANCELED)
	orders := map[string]bool{}
	for seed := range uint64(100) {
		m := mock.New(t)
		require.NoError(t, m.SetFaults(mock.Faults{Seed: seed, Reorder: 1}))
		got := reorderWorkload(t, m)
		require.ElementsMatch(t, want, got, "seed %d", seed)
		require.Equal(t, perMsg(want), perMsg(got), "seed %d: an operation's completions out of order", seed)
		require.Less(t, index(got, 2, 0), index(got, 1, canceled), "seed %d: the accept's cancel follows it", seed)
		require.Less(t, index(got, 8, 1), index(got, 9, -int32(syscall.ENOENT)), "seed %d: ENOENT before the completion it missed", seed)
		require.Less(t, index(got, 10, 2), index(got, 11, canceled), "seed %d", seed)
		require.Less(t, index(got, 10, 2), index(got, 12, canceled), "seed %d", seed)
		orders[fmt.Sprint(got)] = true
	}
	require.Greater(t, len(orders), 50, "the seeds give many orders")
}
