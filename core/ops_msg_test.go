//go:build linux

package core

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ktUDP returns a UDP socket bound to an ephemeral port of addr and its
// address.
func ktUDP(t *testing.T, addr string) (int, netip.AddrPort) {
	t.Helper()
	ip := netip.MustParseAddr(addr)
	family := unix.AF_INET
	if ip.Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Bind(fd, AddrPortToSockaddr(netip.AddrPortFrom(ip, 0))))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	var raw RawSockaddrAny
	_, err = RawSockaddr(sa, &raw)
	require.NoError(t, err)
	ap, ok := SockaddrToAddrPort(&raw)
	require.True(t, ok)
	return fd, ap
}

// ktMsg is what a Recvmsg callback saw.
type ktMsg struct {
	res   int32
	data  []byte
	from  netip.AddrPort
	oob   []byte
	flags int
	more  bool
}

func ktMsgRecorder(list *[]ktMsg, buf []byte) Ctx {
	return Ctx{Callback: func(_ Runtime, task *Task) error {
		m := ktMsg{res: task.Result.Res, flags: task.MsgFlags(), more: task.More()}
		if task.OOB() != nil {
			m.oob = bytes.Clone(task.OOB())
		}
		if task.Result.Buf != nil {
			m.data = bytes.Clone(task.Result.Buf)
		} else if buf != nil && task.N() > 0 {
			m.data = bytes.Clone(buf[:task.N()])
		}
		m.from, _ = SockaddrToAddrPort(task.RemoteSockaddr())
		*list = append(*list, m)
		return nil
	}}
}

func TestOpSendmsgRecvmsgUDP(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			r := ktRing(t, Options{})
			a, aAddr := ktUDP(t, addr)
			b, bAddr := ktUDP(t, addr)
			for _, size := range []int{0, 1, 1200, 65507 - 40*boolInt(addr == "::1")} {
				out := bytes.Repeat([]byte{byte(size)}, size)
				var sends []ktRes
				var got []ktMsg
				buf := make([]byte, 65536)
				_, err := r.Sendmsg(a, out, nil, AddrPortToSockaddr(bAddr), 0, Ctx{Callback: func(_ Runtime, task *Task) error {
					sends = append(sends, ktRes{res: task.Result.Res})
					return nil
				}})
				require.NoError(t, err)
				_, err = r.Recvmsg(b, buf, nil, 0, ktMsgRecorder(&got, buf))
				require.NoError(t, err)
				require.NoError(t, r.Run(UntilDone))
				require.Equal(t, int32(size), sends[0].res, "size %d", size)
				require.Len(t, got, 1)
				require.Equal(t, int32(size), got[0].res)
				require.True(t, bytes.Equal(out, got[0].data), "size %d", size)
				require.Equal(t, aAddr, got[0].from)
				require.Zero(t, got[0].flags)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOpRecvmsgTruncates(t *testing.T) {
	r := ktRing(t, Options{})
	a, _ := ktUDP(t, "127.0.0.1")
	b, bAddr := ktUDP(t, "127.0.0.1")
	require.NoError(t, unix.SetsockoptInt(b, unix.IPPROTO_IP, unix.IP_PKTINFO, 1))
	_, err := r.Sendmsg(a, bytes.Repeat([]byte("x"), 100), nil, AddrPortToSockaddr(bAddr), 0, Ctx{})
	require.NoError(t, err)
	var got []ktMsg
	buf := make([]byte, 10)
	_, err = r.Recvmsg(b, buf, make([]byte, 4), 0, ktMsgRecorder(&got, buf))
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, int32(10), got[0].res)
	require.Equal(t, unix.MSG_TRUNC|unix.MSG_CTRUNC, got[0].flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC))
}

func TestOpRecvmsgPacketInfo(t *testing.T) {
	r := ktRing(t, Options{})
	a, _ := ktUDP(t, "127.0.0.1")
	b, bAddr := ktUDP(t, "127.0.0.1")
	require.NoError(t, unix.SetsockoptInt(b, unix.IPPROTO_IP, unix.IP_PKTINFO, 1))
	_, err := r.Sendmsg(a, []byte("where to"), nil, AddrPortToSockaddr(bAddr), 0, Ctx{})
	require.NoError(t, err)
	var got []ktMsg
	buf := make([]byte, 64)
	_, err = r.Recvmsg(b, buf, make([]byte, 128), 0, ktMsgRecorder(&got, buf))
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Zero(t, got[0].flags)
	require.Equal(t, ktPktinfoDst(t, got[0].oob), netip.MustParseAddr("127.0.0.1"))
}

// ktPktinfoDst returns the destination address in an IP_PKTINFO message.
func ktPktinfoDst(t *testing.T, oob []byte) netip.Addr {
	t.Helper()
	msgs, err := unix.ParseSocketControlMessage(oob)
	require.NoError(t, err)
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO {
			require.GreaterOrEqual(t, len(m.Data), unix.SizeofInet4Pktinfo)
			var a [4]byte
			copy(a[:], m.Data[8:12]) // struct in_pktinfo: ifindex, spec_dst, addr
			return netip.AddrFrom4(a)
		}
	}
	t.Fatalf("no IP_PKTINFO in %d control messages", len(msgs))
	return netip.Addr{}
}

func TestOpSendmsgRights(t *testing.T) {
	// Control data out and in: a descriptor passed over a unix datagram
	// socket pair, on a connected socket (no address).
	r := ktRing(t, Options{})
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	rd, wr := ktPipe(t)
	_, err = r.Sendmsg(fds[0], []byte("fd"), unix.UnixRights(wr), nil, 0, Ctx{})
	require.NoError(t, err)
	var got []ktMsg
	buf := make([]byte, 16)
	_, err = r.Recvmsg(fds[1], buf, make([]byte, unix.CmsgSpace(4)), 0, ktMsgRecorder(&got, buf))
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, "fd", string(got[0].data))
	msgs, err := unix.ParseSocketControlMessage(got[0].oob)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	passed, err := unix.ParseUnixRights(&msgs[0])
	require.NoError(t, err)
	require.Len(t, passed, 1)
	defer unix.Close(passed[0])
	_, err = unix.Write(passed[0], []byte("!"))
	require.NoError(t, err)
	one := make([]byte, 1)
	_, err = unix.Read(rd, one)
	require.NoError(t, err)
	require.Equal(t, "!", string(one))
}

func TestOpSendmsgConnectedUDPRefused(t *testing.T) {
	// A connected UDP socket learns of an unreachable port: the next
	// receive fails with ECONNREFUSED.
	r := ktRing(t, Options{})
	a, _ := ktUDP(t, "127.0.0.1")
	closedFd, closedAddr := ktUDP(t, "127.0.0.1")
	unix.Close(closedFd)
	require.NoError(t, unix.Connect(a, AddrPortToSockaddr(closedAddr)))
	_, err := r.Sendmsg(a, []byte("anyone?"), nil, nil, 0, Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	var got []ktMsg
	buf := make([]byte, 16)
	_, err = r.Recvmsg(a, buf, nil, 0, ktMsgRecorder(&got, buf))
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, -int32(unix.ECONNREFUSED), got[0].res)
}

func TestOpRecvmsgMultishot(t *testing.T) {
	r := ktRing(t, Options{})
	a1, a1Addr := ktUDP(t, "127.0.0.1")
	a2, a2Addr := ktUDP(t, "127.0.0.1")
	b, bAddr := ktUDP(t, "127.0.0.1")
	require.NoError(t, unix.SetsockoptInt(b, unix.IPPROTO_IP, unix.IP_PKTINFO, 1))
	const size, oobSpace = 1024, 64
	br, err := r.NewBufRing(3, 8, size)
	require.NoError(t, err)
	room := size - recvmsgOutSize - unix.SizeofSockaddrAny - oobSpace
	var got []ktMsg
	h, err := r.RecvmsgMultishot(b, br, oobSpace, 0, ktMsgRecorder(&got, nil))
	require.NoError(t, err)
	const n = 40 // more than the ring's 8 buffers: each is recycled as its callback returns
	want := map[string]netip.AddrPort{}
	for i := 0; i < n; i++ {
		from, fromAddr := a1, a1Addr
		if i%2 == 1 {
			from, fromAddr = a2, a2Addr
		}
		payload := []byte(fmt.Sprintf("datagram %02d", i))
		if i == 7 {
			payload = bytes.Repeat([]byte("L"), room+50) // truncated
		}
		want[string(payload[:min(len(payload), room)])] = fromAddr
		require.NoError(t, unix.Sendto(from, payload, 0, AddrPortToSockaddr(bAddr)))
		if i%4 == 3 {
			require.NoError(t, r.Run(NoWait))
		}
	}
	for len(got) < n {
		require.NoError(t, r.Run(Once))
	}
	for _, m := range got {
		require.True(t, m.more)
		from, ok := want[string(m.data)]
		require.True(t, ok, "unexpected payload %q", m.data)
		require.Equal(t, from, m.from)
		require.Equal(t, int32(len(m.data)), m.res)
		require.Equal(t, netip.MustParseAddr("127.0.0.1"), ktPktinfoDst(t, m.oob))
		if len(m.data) == room {
			require.NotZero(t, m.flags&unix.MSG_TRUNC)
		} else {
			require.Zero(t, m.flags&unix.MSG_TRUNC)
		}
		delete(want, string(m.data))
	}
	require.Empty(t, want)
	_, err = r.Cancel(h, Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	last := got[len(got)-1]
	require.False(t, last.more)
	// The final completion carries no datagram: nothing of the last one,
	// whose buffer is back in the ring, shows in it.
	require.Equal(t, -int32(unix.ECANCELED), last.res)
	require.Nil(t, last.oob)
	require.Zero(t, last.flags)
	require.False(t, last.from.IsValid())
}

func TestOpRecvmsgMultishotRunsDry(t *testing.T) {
	// Buffers kept by the callback (TakeBuffer) run the ring dry: the
	// receive ends with ENOBUFS and the datagrams wait in the socket.
	r := ktRing(t, Options{})
	a, _ := ktUDP(t, "127.0.0.1")
	b, bAddr := ktUDP(t, "127.0.0.1")
	br, err := r.NewBufRing(4, 2, 512)
	require.NoError(t, err)
	var ids []uint16
	var errs []int32
	_, err = r.RecvmsgMultishot(b, br, 0, 0, Ctx{Callback: func(_ Runtime, task *Task) error {
		if task.Result.Res < 0 {
			errs = append(errs, task.Result.Res)
			return nil
		}
		_, id, ok := task.TakeBuffer()
		require.True(t, ok)
		ids = append(ids, id)
		return nil
	}})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, unix.Sendto(a, []byte{byte(i)}, 0, AddrPortToSockaddr(bAddr)))
	}
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, ids, 2)
	require.Equal(t, []int32{-int32(unix.ENOBUFS)}, errs)
	for _, id := range ids {
		br.Recycle(id)
	}
	var got []ktMsg
	_, err = r.RecvmsgMultishot(b, br, 0, 0, ktMsgRecorder(&got, nil))
	require.NoError(t, err)
	require.NoError(t, r.Run(Once))
	require.Len(t, got, 1)
	require.Equal(t, []byte{2}, got[0].data)
}

func TestOpRecvmsgMultishotBadRoom(t *testing.T) {
	r := ktRing(t, Options{})
	br, err := r.NewBufRing(5, 2, 256)
	require.NoError(t, err)
	_, err = r.RecvmsgMultishot(0, br, 200, 0, Ctx{})
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = r.RecvmsgMultishot(0, br, -1, 0, Ctx{})
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = r.RecvmsgMultishot(0, nil, 0, 0, Ctx{})
	require.ErrorIs(t, err, ErrForeignTask)
}

func TestOpSendmsgRecvmsgAllocs(t *testing.T) {
	r := ktRing(t, Options{})
	a, _ := ktUDP(t, "127.0.0.1")
	b, bAddr := ktUDP(t, "127.0.0.1")
	to := AddrPortToSockaddr(bAddr)
	out, in, oob := []byte("ping"), make([]byte, 64), make([]byte, 64)
	var failed error
	ctx := Ctx{Callback: func(_ Runtime, task *Task) error {
		if task.Result.Res <= 0 {
			failed = fmt.Errorf("%v: %d", task.Result.Op, task.Result.Res)
		}
		return nil
	}}
	round := func() {
		if _, err := r.Sendmsg(a, out, nil, to, 0, ctx); err != nil {
			failed = err
		}
		if _, err := r.Recvmsg(b, in, oob, 0, ctx); err != nil {
			failed = err
		}
		if err := r.Run(UntilDone); err != nil {
			failed = err
		}
	}
	round()
	require.NoError(t, failed)
	require.Zero(t, testing.AllocsPerRun(100, round))
	require.NoError(t, failed)
}
