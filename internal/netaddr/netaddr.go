//go:build unix

package netaddr

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// FromSockaddr returns the net.Addr package net reports for sa: a
// *net.TCPAddr whose IP has 4 bytes for IPv4 and 16 for IPv6 (a link-local
// IPv6 address with its zone named), or a *net.UnixAddr on network ("unix"
// when empty). It returns nil for other families.
func FromSockaddr(network string, sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr).WithZone(Zone(a.ZoneId))
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(a.Port)))
	case *unix.SockaddrUnix:
		if network == "" {
			network = "unix"
		}
		return &net.UnixAddr{Name: a.Name, Net: network}
	}
	return nil
}
