//go:build unix

package netaddr

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMatchesNet compares with the addresses package net reports for real
// loopback connections.
func TestMatchesNet(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := c.(*net.TCPConn).SyscallConn()
		var sa unix.Sockaddr
		rc.Control(func(fd uintptr) { sa, _ = unix.Getsockname(int(fd)) })
		got, want := FromSockaddr("tcp", sa).(*net.TCPAddr), c.LocalAddr().(*net.TCPAddr)
		if got.String() != want.String() || len(got.IP) != len(want.IP) {
			t.Errorf("%s: got %v (%d-byte IP), net says %v (%d-byte IP)", addr, got, len(got.IP), want, len(want.IP))
		}
		c.Close()
		ln.Close()
	}
	lo, err := net.InterfaceByName("lo")
	if err == nil {
		got := FromSockaddr("tcp", &unix.SockaddrInet6{Port: 80, Addr: netip.MustParseAddr("fe80::1").As16(), ZoneId: uint32(lo.Index)})
		if got.String() != "[fe80::1%lo]:80" {
			t.Errorf("zone: got %v", got)
		}
	}
	if got := FromSockaddr("", &unix.SockaddrUnix{Name: "/tmp/s"}); got.String() != "/tmp/s" || got.Network() != "unix" {
		t.Errorf("unix: got %v on %s", got, got.Network())
	}
}

// An IPv6 scope index reads as package net's zone cache reads it: the
// interface's name, the decimal index when no interface has it, nothing
// for 0.
func TestZone(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		index uint32
		want  string
	}{{0, ""}, {uint32(lo.Index), "lo"}, {1 << 30, "1073741824"}} {
		if got := Zone(tc.index); got != tc.want {
			t.Errorf("Zone(%d) = %q, want %q", tc.index, got, tc.want)
		}
	}
}
