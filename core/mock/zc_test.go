package mock_test

import (
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
)

// zcSeen is what one callback of a zero-copy send saw.
type zcSeen struct {
	Op          core.Op
	Msg         uint16
	Res         int32
	More, Notif bool
}

func zcRecorder(list *[]zcSeen) core.Ctx {
	return core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		*list = append(*list, zcSeen{Op: t.Result.Op, Msg: t.Msg, Res: t.Result.Res, More: t.More(), Notif: t.Notif()})
		return nil
	}}
}

// zcPair is the two callbacks a zero-copy send with result res makes.
func zcPair(op core.Op, msg uint16, res int32) []zcSeen {
	return []zcSeen{{Op: op, Msg: msg, Res: res, More: true}, {Op: op, Msg: msg, Notif: true}}
}

// TestSendZC: SendZC and SendmsgZC record what they send and complete
// twice, the result and then the notification, with results scripted or
// not, errors included.
func TestSendZC(t *testing.T) {
	m := mock.New(t)
	m.Script(4, core.OpSendZC, mock.Res(2), mock.Errno(syscall.EPIPE))
	m.Script(4, core.OpSendmsgZC, mock.ConnReset())
	var got []zcSeen
	ctx := zcRecorder(&got)
	send := func(msg uint16, zc func(core.Ctx) (core.Handle, error)) {
		c := ctx
		c.Msg = msg
		h, err := zc(c)
		require.NoError(t, err)
		require.True(t, h.Live())
		require.NoError(t, m.Run(core.UntilDone))
		require.False(t, h.Live())
	}
	send(1, func(c core.Ctx) (core.Handle, error) { return m.SendZC(4, []byte("hello"), 0, c) })
	send(2, func(c core.Ctx) (core.Handle, error) { return m.SendZC(4, []byte("hello"), 0, c) })
	send(3, func(c core.Ctx) (core.Handle, error) { return m.SendZC(4, []byte("hello"), 0, c) })
	send(4, func(c core.Ctx) (core.Handle, error) { return m.SendZC(5, []byte("world"), 0, c) })
	send(5, func(c core.Ctx) (core.Handle, error) { return m.SendmsgZC(5, []byte("!"), nil, nil, 0, c) })
	send(6, func(c core.Ctx) (core.Handle, error) { return m.SendmsgZC(4, []byte("lost"), nil, nil, 0, c) })
	var want []zcSeen
	want = append(want, zcPair(core.OpSendZC, 1, 2)...)
	want = append(want, zcPair(core.OpSendZC, 2, -int32(syscall.EPIPE))...)
	want = append(want, zcPair(core.OpSendZC, 3, 5)...)
	want = append(want, zcPair(core.OpSendZC, 4, 5)...)
	want = append(want, zcPair(core.OpSendmsgZC, 5, 1)...)
	want = append(want, zcPair(core.OpSendmsgZC, 6, -int32(syscall.ECONNRESET))...)
	require.Equal(t, want, got)
	require.Equal(t, "hehello", string(m.Sent(4)))
	require.Equal(t, "world!", string(m.Sent(5)))
	require.Zero(t, m.Active())

	// An address that cannot be converted is refused at once.
	_, err := m.SendmsgZC(4, nil, nil, badSockaddr{}, 0, ctx)
	require.Error(t, err)
}

// badSockaddr is a core.Sockaddr core.RawSockaddr cannot convert.
type badSockaddr struct{ core.Sockaddr }

// TestSendZCFaults: the random-fault mode shortens and resets zero-copy
// sends as it does plain ones, and every send still gets its notification.
func TestSendZCFaults(t *testing.T) {
	m := mock.New(t)
	require.NoError(t, m.SetFaults(mock.Faults{Seed: 7, ShortSend: 0.5, Reset: 0.1, Reorder: 0.5}))
	var got []zcSeen
	out := []byte("0123456789abcdef")
	for i := range 40 {
		c := zcRecorder(&got)
		c.Msg = uint16(i)
		_, err := m.SendZC(10+i, out, 0, c) // a reset ends only its own connection
		require.NoError(t, err)
		_, err = m.Nop(core.Ctx{})
		require.NoError(t, err)
	}
	require.NoError(t, m.Run(core.UntilDone))
	require.Len(t, got, 80)
	seen := map[uint16][]zcSeen{}
	short, reset := 0, 0
	for _, e := range got {
		seen[e.Msg] = append(seen[e.Msg], e)
	}
	for msg, evs := range seen {
		require.Len(t, evs, 2, "send %d", msg)
		require.Equal(t, zcPair(core.OpSendZC, msg, evs[0].Res), evs, "send %d: the result, then the notification", msg)
		switch res := evs[0].Res; {
		case res == -int32(syscall.ECONNRESET) || res == -int32(syscall.EPIPE):
			reset++
		case res < int32(len(out)):
			require.Greater(t, res, int32(0))
			short++
		}
	}
	require.NotZero(t, short, "no short send in 40 at one in two")
	require.NotZero(t, reset, "no reset in 40 at one in ten")
	var kinds []mock.FaultKind
	for _, f := range m.Injected() {
		kinds = append(kinds, f.Kind)
	}
	require.Contains(t, kinds, mock.FaultShortSend)
	require.Contains(t, kinds, mock.FaultReset)
}

// TestSendZCBufferReusedEarly: changing a zero-copy send's buffer before
// its notification is reported, since the kernel may still be sending
// from it; changing it after is not.
func TestSendZCBufferReusedEarly(t *testing.T) {
	m := mock.New(nil)
	buf := []byte("payload")
	_, err := m.SendZC(3, buf, 0, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		if t.More() {
			buf[0] = 'X' // too early: the notification has not come
		}
		return nil
	}})
	require.NoError(t, err)
	require.NoError(t, m.Run(core.UntilDone))
	require.ErrorContains(t, m.Verify(), "changed before its notification")

	m = mock.New(t)
	buf = []byte("payload")
	_, err = m.SendZC(3, buf, 0, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		if t.Notif() {
			buf[0] = 'X' // the buffer is the caller's again
		}
		return nil
	}})
	require.NoError(t, err)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, "payload", string(m.Sent(3)))
}
