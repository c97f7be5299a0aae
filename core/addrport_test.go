package core

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAddrPortRawSockaddrRoundTrip checks that the layout a runtime writes
// for an accepted peer reads back as the same address, on every platform.
func TestAddrPortRawSockaddrRoundTrip(t *testing.T) {
	for _, s := range []string{"127.0.0.1:40000", "0.0.0.0:0", "[::1]:443", "[fe80::1]:8080", "[::ffff:192.0.2.1]:80"} {
		ap := netip.MustParseAddrPort(s)
		var raw RawSockaddrAny
		n := AddrPortToRawSockaddr(ap, &raw)
		require.NotZero(t, n, s)
		got, ok := SockaddrToAddrPort(&raw)
		require.True(t, ok, s)
		require.Equal(t, ap, got, s)
	}
	var raw RawSockaddrAny
	raw.Addr.Family = afInet
	require.Zero(t, AddrPortToRawSockaddr(netip.AddrPort{}, &raw))
	require.Equal(t, RawSockaddrAny{}, raw, "an invalid address leaves raw zero")
	_, ok := SockaddrToAddrPort(&raw)
	require.False(t, ok)
}

// TestAddrPortToSockaddr checks the Sockaddr built for Connect: its family
// follows the address, an IPv6 zone becomes its index, and RawSockaddr
// turns it into the layout that reads back as the same address.
func TestAddrPortToSockaddr(t *testing.T) {
	require.Nil(t, AddrPortToSockaddr(netip.AddrPort{}))

	sa := AddrPortToSockaddr(netip.MustParseAddrPort("192.0.2.7:80"))
	a4, ok := sa.(*sockaddrInet4)
	require.True(t, ok)
	require.Equal(t, sockaddrInet4{Port: 80, Addr: [4]byte{192, 0, 2, 7}}, *a4)

	sa = AddrPortToSockaddr(netip.MustParseAddrPort("[fe80::1%7]:443"))
	a6, ok := sa.(*sockaddrInet6)
	require.True(t, ok)
	require.Equal(t, 443, a6.Port)
	require.Equal(t, uint32(7), a6.ZoneId)
	require.Equal(t, netip.MustParseAddr("fe80::1").As16(), a6.Addr)

	sa = AddrPortToSockaddr(netip.MustParseAddrPort("[fe80::1%no-such-interface]:443"))
	require.Zero(t, sa.(*sockaddrInet6).ZoneId, "an unknown zone name is index 0, as in package net")

	for _, s := range []string{"192.0.2.7:80", "[2001:db8::1]:8443"} {
		ap := netip.MustParseAddrPort(s)
		var raw RawSockaddrAny
		n, err := RawSockaddr(AddrPortToSockaddr(ap), &raw)
		require.NoError(t, err)
		var want RawSockaddrAny
		require.Equal(t, AddrPortToRawSockaddr(ap, &want), n, s)
		require.Equal(t, want, raw, s)
	}
}
