//go:build linux

package uringnet

import (
	"net"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A peer's link-local IPv6 address names its interface in the Zone, as
// package net's addresses do; a global one has none.
func TestRawToAddrZone(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scope uint32
		zone  string
	}{{uint32(lo.Index), "lo"}, {0, ""}} {
		var raw unix.RawSockaddrAny
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&raw))
		p.Family = unix.AF_INET6
		p.Addr = [16]byte{0: 0xfe, 1: 0x80, 15: 1}
		p.Port = 0x3930 // 12345 in network order
		p.Scope_id = tc.scope
		a, ok := rawToAddr("tcp", &raw).(*net.TCPAddr)
		if !ok || a.Port != 12345 || a.Zone != tc.zone || !a.IP.Equal(net.ParseIP("fe80::1")) {
			t.Errorf("scope %d: got %#v, want fe80::1 port 12345 zone %q", tc.scope, a, tc.zone)
		}
	}
}

// An accepted connection's local address is its listener's, read without
// x/sys's per-call protocol query: the same *net.TCPAddr package net gives.
func TestLocalAddrOfAccepted(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := "127.0.0.1"
		if network == "tcp6" {
			host = "::1"
		}
		ln, err := Listen(network, net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.LocalAddr().String(), c.RemoteAddr().String(); got != want {
			t.Errorf("%s: accepted LocalAddr %s, the dialer's peer %s", network, got, want)
		}
		if got, want := s.RemoteAddr().String(), c.LocalAddr().String(); got != want {
			t.Errorf("%s: accepted RemoteAddr %s, the dialer's own %s", network, got, want)
		}
		s.Close()
		c.Close()
		ln.Close()
	}
}
