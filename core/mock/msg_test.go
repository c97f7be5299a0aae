package mock_test

import (
	"bytes"
	"net/netip"
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
)

// msgSeen is what a Recvmsg callback saw.
type msgSeen struct {
	res   int32
	data  string
	from  netip.AddrPort
	oob   string
	flags int
	more  bool
}

func msgRecorder(list *[]msgSeen, buf []byte) core.Ctx {
	return core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		s := msgSeen{res: t.Result.Res, oob: string(t.OOB()), flags: t.MsgFlags(), more: t.More()}
		if t.Result.Buf != nil {
			s.data = string(t.Result.Buf)
		} else if buf != nil {
			s.data = string(buf[:t.N()])
		}
		s.from, _ = core.SockaddrToAddrPort(t.RemoteSockaddr())
		*list = append(*list, s)
		return nil
	}}
}

func TestRecvmsgDatagrams(t *testing.T) {
	m := mock.New(t)
	from := netip.MustParseAddrPort("192.0.2.7:4242")
	m.Script(5, core.OpRecvmsg,
		mock.Message([]byte("hello"), []byte("cm"), from),
		mock.Message(bytes.Repeat([]byte("x"), 20), []byte("too much control"), from),
		mock.Errno(syscall.ECONNREFUSED),
	)
	var got []msgSeen
	buf, oob := make([]byte, 8), make([]byte, 4)
	for i := 0; i < 3; i++ {
		_, err := m.Recvmsg(5, buf, oob, 0, msgRecorder(&got, buf))
		require.NoError(t, err)
		require.NoError(t, m.Run(core.UntilDone))
	}
	require.Equal(t, msgSeen{res: 5, data: "hello", from: from, oob: "cm"}, got[0])
	// A datagram is never split: what does not fit is dropped and said.
	require.Equal(t, msgSeen{res: 8, data: "xxxxxxxx", from: from, oob: "too ", flags: 0x20 | 0x8}, got[1])
	require.Equal(t, -int32(syscall.ECONNREFUSED), got[2].res)
	require.NoError(t, m.Verify())
}

func TestRecvmsgMultishotDatagrams(t *testing.T) {
	m := mock.New(t)
	br, err := m.NewBufRing(1, 2, 256)
	require.NoError(t, err)
	a := netip.MustParseAddrPort("[2001:db8::1]:53")
	b := netip.MustParseAddrPort("198.51.100.2:53")
	m.Script(6, core.OpRecvmsg, mock.Message([]byte("one"), nil, a), mock.Message([]byte("two"), []byte("pktinfo"), b))
	var got []msgSeen
	_, err = m.RecvmsgMultishot(6, br, 16, 0, msgRecorder(&got, nil))
	require.NoError(t, err)
	require.NoError(t, m.Run(core.NoWait))
	require.Equal(t, []msgSeen{
		{res: 3, data: "one", from: a, more: true},
		{res: 3, data: "two", from: b, oob: "pktinfo", more: true},
	}, got)
	m.Script(6, core.OpRecvmsg, mock.Errno(syscall.ECONNRESET))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, -int32(syscall.ECONNRESET), got[2].res)
	require.False(t, got[2].more)

	_, err = m.RecvmsgMultishot(6, br, 200, 0, core.Ctx{})
	require.ErrorIs(t, err, syscall.EINVAL, "no room left for a payload")
}

func TestSendmsgRecords(t *testing.T) {
	m := mock.New(t)
	m.RegisterFd(9)
	_, err := m.Sendmsg(9, []byte("datagram"), nil, core.AddrPortToSockaddr(netip.MustParseAddrPort("127.0.0.1:9")), 0, core.Ctx{})
	require.NoError(t, err)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, []byte("datagram"), m.Sent(9))
	_, err = m.CloseFd(9, core.Ctx{})
	require.NoError(t, err)
	require.NoError(t, m.Run(core.UntilDone))
}
