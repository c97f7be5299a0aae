//go:build linux

package tlsdial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// udpDone records what a UDP connect's callback received.
type udpDone struct {
	fd    int
	err   error
	calls int
}

func (d *udpDone) fn(_ core.Runtime, fd int, err error) error {
	d.fd, d.err = fd, err
	d.calls++
	return nil
}

// checkUDPConnected sends from fd to the listener and checks the datagram
// comes from fd's address, and that fd is a connected datagram socket.
func checkUDPConnected(t *testing.T, fd int, pc net.PacketConn) {
	t.Helper()
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	require.NoError(t, err)
	require.Equal(t, unix.SOCK_DGRAM, typ)
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	require.NotZero(t, fl&unix.O_NONBLOCK)
	_, err = unix.Write(fd, []byte("via the ring"))
	require.NoError(t, err)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, from, err := pc.ReadFrom(buf)
	require.NoError(t, err)
	require.Equal(t, "via the ring", string(buf[:n]))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	require.Equal(t, sa.(*unix.SockaddrInet4).Port, from.(*net.UDPAddr).Port)
	// Connected: the peer is the listener.
	peer, err := unix.Getpeername(fd)
	require.NoError(t, err)
	require.Equal(t, pc.LocalAddr().(*net.UDPAddr).Port, peer.(*unix.SockaddrInet4).Port)
}

func TestUDPConnectToAddr(t *testing.T) {
	cxNoLeaks(t)
	r := cxRing(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	var d udpDone
	_, err = UDPConnectToAddr(context.Background(), r, pc.LocalAddr().(*net.UDPAddr).AddrPort(), nil, d.fn)
	require.NoError(t, err)
	require.Zero(t, d.calls, "done runs from Run, never inside the call")
	cxRun(t, r, func() bool { return d.calls > 0 }, 10*time.Second)
	require.Equal(t, 1, d.calls)
	require.NoError(t, d.err)
	checkUDPConnected(t, d.fd, pc)
	cxClose(t, r, d.fd)
}

func TestUDPConnectToHost(t *testing.T) {
	cxNoLeaks(t)
	r := cxRing(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	var looked []string
	cfg := &Config{Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
		looked = append(looked, host)
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}}
	var d udpDone
	_, err = UDPConnectToHost(context.Background(), r, "datagrams.test", port, cfg, d.fn)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return d.calls > 0 }, 10*time.Second)
	require.NoError(t, d.err)
	require.Equal(t, []string{"datagrams.test"}, looked)
	checkUDPConnected(t, d.fd, pc)
	cxClose(t, r, d.fd)
}

func TestUDPConnectErrors(t *testing.T) {
	cxNoLeaks(t)
	r := cxRing(t)
	_, err := UDPConnectToAddr(context.Background(), r, netip.AddrPort{}, nil, func(core.Runtime, int, error) error { return nil })
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "udp", oe.Net)

	// A name that does not resolve fails as net.Dialer's udp dial does.
	cfg := &Config{Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
		return nil, errors.New("no such host here")
	}}
	var d udpDone
	_, err = UDPConnectToHost(context.Background(), r, "nowhere.test", 53, cfg, d.fn)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return d.calls > 0 }, 10*time.Second)
	require.ErrorAs(t, d.err, &oe)
	require.Equal(t, "dial", oe.Op)
	require.Equal(t, "udp", oe.Net)
	var de *net.DNSError
	require.ErrorAs(t, d.err, &de)

	// Cancelled before it starts: done reports context.Canceled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d = udpDone{}
	_, err = UDPConnectToAddr(ctx, r, netip.MustParseAddrPort("127.0.0.1:9"), nil, d.fn)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return d.calls > 0 }, 10*time.Second)
	require.ErrorIs(t, d.err, context.Canceled)
	require.ErrorAs(t, d.err, &oe)
	require.Equal(t, "udp", oe.Net)
	require.Equal(t, -1, d.fd)

	// A connect that fails: a link-local address without its zone.
	d = udpDone{}
	_, err = UDPConnectToAddr(context.Background(), r, netip.MustParseAddrPort("[fe80::1]:9"), nil, d.fn)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return d.calls > 0 }, 10*time.Second)
	require.Error(t, d.err)
	require.ErrorAs(t, d.err, &oe)
	require.Equal(t, "udp", oe.Net)
	require.Equal(t, "[fe80::1]:9", oe.Addr.String())
	var se syscall.Errno
	require.ErrorAs(t, d.err, &se)
}
