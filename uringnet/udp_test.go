//go:build linux

package uringnet_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
)

// Every UDP test runs side by side on package net and on uringnet, so a
// difference between the two fails it.

type udpImpl struct {
	name   string
	listen func(network, address string) (net.PacketConn, error)
	dial   func(network, address string) (net.Conn, error)
}

var udpImpls = []udpImpl{
	{"net", net.ListenPacket, net.Dial},
	{"uringnet", uringnet.ListenPacket, uringnet.Dial},
}

// udpConn is what both packages' UDP sockets have.
type udpConn interface {
	net.Conn
	net.PacketConn
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error)
	WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error)
	SyscallConn() (syscall.RawConn, error)
}

func udpListen(t *testing.T, impl udpImpl, network, address string) udpConn {
	t.Helper()
	pc, err := impl.listen(network, address)
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	if impl.name == "uringnet" {
		require.IsType(t, &uringnet.UDPConn{}, pc, "no fallback expected here")
	}
	return pc.(udpConn)
}

func udpDial(t *testing.T, impl udpImpl, network, address string) udpConn {
	t.Helper()
	c, err := impl.dial(network, address)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c.(udpConn)
}

func TestUDPEcho(t *testing.T) {
	for _, impl := range udpImpls {
		for _, host := range []string{"127.0.0.1", "::1"} {
			t.Run(impl.name+"/"+host, func(t *testing.T) {
				srv := udpListen(t, impl, "udp", net.JoinHostPort(host, "0"))
				srvAddr := srv.LocalAddr().(*net.UDPAddr)
				done := make(chan error, 1)
				go func() {
					buf := make([]byte, 65536)
					for {
						n, from, err := srv.ReadFrom(buf)
						if err != nil {
							done <- err
							return
						}
						if _, err := srv.WriteTo(buf[:n], from); err != nil {
							done <- err
							return
						}
					}
				}()
				sizes := []int{0, 1, 100, 1200, 8192, 65507}
				for c := 0; c < 3; c++ {
					cl := udpListen(t, impl, "udp", net.JoinHostPort(host, "0"))
					require.NoError(t, cl.SetReadDeadline(time.Now().Add(10*time.Second)))
					in := make([]byte, 65536)
					for _, size := range sizes {
						out := bytes.Repeat([]byte{byte(c), byte(size)}, size/2+1)[:size]
						n, err := cl.WriteTo(out, srvAddr)
						require.NoError(t, err)
						require.Equal(t, size, n)
						n, from, err := cl.ReadFromUDPAddrPort(in)
						require.NoError(t, err)
						require.Equal(t, size, n, "size %d", size)
						require.True(t, bytes.Equal(out, in[:n]))
						require.Equal(t, srvAddr.AddrPort(), from)
					}
				}
				srv.Close()
				err := <-done
				require.ErrorIs(t, err, net.ErrClosed)
			})
		}
	}
}

// udpPair returns a listening socket and a socket dialed to it.
func udpPair(t *testing.T, impl udpImpl) (srv, cl udpConn) {
	srv = udpListen(t, impl, "udp4", "127.0.0.1:0")
	cl = udpDial(t, impl, "udp4", srv.LocalAddr().String())
	return srv, cl
}

func TestUDPTruncation(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			srv, cl := udpPair(t, impl)
			for i := 0; i < 2; i++ {
				_, err := cl.Write(bytes.Repeat([]byte("x"), 100))
				require.NoError(t, err)
			}
			small := make([]byte, 10)
			n, _, flags, addr, err := srv.ReadMsgUDP(small, nil)
			require.NoError(t, err)
			require.Equal(t, 10, n)
			require.NotZero(t, flags&syscall.MSG_TRUNC)
			require.Equal(t, cl.LocalAddr().String(), addr.String())
			n, _, err = srv.ReadFrom(small)
			require.NoError(t, err, "a truncated ReadFrom is no error")
			require.Equal(t, 10, n)
		})
	}
}

func TestUDPZeroLength(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			srv, cl := udpPair(t, impl)
			n, err := cl.Write(nil)
			require.NoError(t, err)
			require.Zero(t, n)
			n, from, err := srv.ReadFrom(make([]byte, 8))
			require.NoError(t, err, "an empty datagram is not EOF")
			require.Zero(t, n)
			require.Equal(t, cl.LocalAddr().String(), from.String())
		})
	}
}

func TestUDPDeadlines(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			srv, cl := udpPair(t, impl)
			buf := make([]byte, 8)
			// Past.
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(-time.Second)))
			_, _, err := srv.ReadFrom(buf)
			udpWantTimeout(t, err)
			// While blocked.
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
			start := time.Now()
			_, _, err = srv.ReadFrom(buf)
			udpWantTimeout(t, err)
			require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
			// Moved while blocked: first later, then earlier.
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(time.Hour)))
			go func() {
				time.Sleep(20 * time.Millisecond)
				srv.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			}()
			_, _, err = srv.ReadFrom(buf)
			udpWantTimeout(t, err)
			// Cleared: a datagram gets through.
			require.NoError(t, srv.SetReadDeadline(time.Time{}))
			_, err = cl.Write([]byte("late"))
			require.NoError(t, err)
			n, _, err := srv.ReadFrom(buf)
			require.NoError(t, err)
			require.Equal(t, "late", string(buf[:n]))
			// Write deadlines apply too.
			require.NoError(t, cl.SetWriteDeadline(time.Now().Add(-time.Second)))
			_, err = cl.Write([]byte("x"))
			udpWantTimeout(t, err)
		})
	}
}

func udpWantTimeout(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout())
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
}

func TestUDPCloseUnblocksRead(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			srv := udpListen(t, impl, "udp", "127.0.0.1:0")
			errc := make(chan error, 1)
			go func() {
				_, _, err := srv.ReadFrom(make([]byte, 8))
				errc <- err
			}()
			time.Sleep(20 * time.Millisecond)
			require.NoError(t, srv.Close())
			select {
			case err := <-errc:
				require.ErrorIs(t, err, net.ErrClosed)
				var oe *net.OpError
				require.ErrorAs(t, err, &oe)
				require.Equal(t, "read", oe.Op)
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not unblock ReadFrom")
			}
			_, err := srv.WriteTo([]byte("x"), srv.LocalAddr())
			require.ErrorIs(t, err, net.ErrClosed)
			require.ErrorIs(t, srv.Close(), net.ErrClosed)
		})
	}
}

func TestUDPConnectedRefused(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			gone := udpListen(t, impl, "udp4", "127.0.0.1:0")
			addr := gone.LocalAddr().String()
			gone.Close()
			cl := udpDial(t, impl, "udp4", addr)
			require.NoError(t, cl.SetDeadline(time.Now().Add(10*time.Second)))
			_, err := cl.Write([]byte("anyone?"))
			require.NoError(t, err)
			_, err = cl.Read(make([]byte, 8))
			require.ErrorIs(t, err, syscall.ECONNREFUSED)
			var oe *net.OpError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, "read", oe.Op)
			require.Equal(t, addr, oe.Addr.String())
		})
	}
}

// udpErrText is an error's text with the addresses, which differ between
// runs, taken out.
func udpErrText(err error, addrs ...net.Addr) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	for _, a := range addrs {
		s = string(bytes.ReplaceAll([]byte(s), []byte(a.String()), []byte("ADDR")))
	}
	return s
}

func TestUDPWriteErrorsMatchNet(t *testing.T) {
	got := map[string][]string{}
	for _, impl := range udpImpls {
		srv, cl := udpPair(t, impl)
		unconnected := udpListen(t, impl, "udp4", "127.0.0.1:0")
		v6 := &net.UDPAddr{IP: net.ParseIP("::1"), Port: 9}
		_, e1 := cl.WriteTo([]byte("x"), srv.LocalAddr())
		_, e2 := unconnected.Write([]byte("x"))
		_, e3 := unconnected.WriteTo([]byte("x"), nil)
		_, e4 := unconnected.WriteTo([]byte("x"), v6)
		_, e5 := unconnected.WriteTo([]byte("x"), &net.TCPAddr{})
		_, _, e6 := cl.WriteMsgUDP([]byte("x"), nil, srv.LocalAddr().(*net.UDPAddr))
		_, _, e7 := unconnected.WriteMsgUDP([]byte("x"), nil, nil)
		addrs := []net.Addr{srv.LocalAddr(), cl.LocalAddr(), unconnected.LocalAddr()}
		for _, err := range []error{e1, e2, e3, e4, e5, e6, e7} {
			got[impl.name] = append(got[impl.name], udpErrText(err, addrs...))
		}
	}
	require.Equal(t, got["net"], got["uringnet"])
}

func TestUDPDualStackSender(t *testing.T) {
	got := map[string][]string{}
	for _, impl := range udpImpls {
		srv := udpListen(t, impl, "udp", ":0")
		port := srv.LocalAddr().(*net.UDPAddr).Port
		cl := udpDial(t, impl, "udp4", fmt.Sprintf("127.0.0.1:%d", port))
		_, err := cl.Write([]byte("v4"))
		require.NoError(t, err)
		buf := make([]byte, 8)
		require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, ap, err := srv.ReadFromUDPAddrPort(buf)
		require.NoError(t, err)
		_, err = cl.Write([]byte("v4"))
		require.NoError(t, err)
		_, ua, err := srv.ReadFrom(buf)
		require.NoError(t, err)
		cport := fmt.Sprint(cl.LocalAddr().(*net.UDPAddr).Port)
		got[impl.name] = []string{
			string(bytes.ReplaceAll([]byte(ap.String()), []byte(cport), []byte("P"))),
			string(bytes.ReplaceAll([]byte(ua.String()), []byte(cport), []byte("P"))),
			fmt.Sprint(len(ua.(*net.UDPAddr).IP)),
			srv.LocalAddr().Network(),
		}
	}
	require.Equal(t, got["net"], got["uringnet"])
}

func TestUDPPacketInfo(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			srv, cl := udpPair(t, impl)
			rc, err := srv.SyscallConn()
			require.NoError(t, err)
			var serr error
			require.NoError(t, rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_PKTINFO, 1)
			}))
			require.NoError(t, serr)
			_, err = cl.Write([]byte("pktinfo"))
			require.NoError(t, err)
			oob := ipv4.NewControlMessage(ipv4.FlagDst | ipv4.FlagInterface)
			n, oobn, flags, _, err := srv.ReadMsgUDP(make([]byte, 16), oob)
			require.NoError(t, err)
			require.Equal(t, 7, n)
			require.Zero(t, flags)
			var cm ipv4.ControlMessage
			require.NoError(t, cm.Parse(oob[:oobn]))
			require.Equal(t, "127.0.0.1", cm.Dst.String())
			require.NotZero(t, cm.IfIndex)
		})
	}
}

func TestUDPWriteMsgControl(t *testing.T) {
	// Control data out: the source address chosen with IP_PKTINFO.
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			srv := udpListen(t, impl, "udp4", "127.0.0.1:0")
			cl := udpListen(t, impl, "udp4", "0.0.0.0:0")
			cm := ipv4.ControlMessage{Src: net.ParseIP("127.0.0.2")}
			n, oobn, err := cl.WriteMsgUDP([]byte("from .2"), cm.Marshal(), srv.LocalAddr().(*net.UDPAddr))
			require.NoError(t, err)
			require.Equal(t, 7, n)
			require.Equal(t, len(cm.Marshal()), oobn)
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, from, err := srv.ReadFromUDPAddrPort(make([]byte, 16))
			require.NoError(t, err)
			require.Equal(t, "127.0.0.2", from.Addr().String())
		})
	}
}

func TestUDPMulticastListen(t *testing.T) {
	// Listening on a group address binds its port for every listener, on
	// the wildcard address, as package net does.
	got := map[string][]string{}
	for _, impl := range udpImpls {
		a := udpListen(t, impl, "udp4", "224.0.0.251:0")
		port := a.LocalAddr().(*net.UDPAddr).Port
		b, err := impl.listen("udp4", fmt.Sprintf("224.0.0.251:%d", port))
		require.NoError(t, err, "a second listener on the group's port")
		b.Close()
		got[impl.name] = []string{a.LocalAddr().(*net.UDPAddr).IP.String()}
	}
	require.Equal(t, got["net"], got["uringnet"])
}
