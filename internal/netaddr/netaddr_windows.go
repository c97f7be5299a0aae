package netaddr

import (
	"net"
	"net/netip"
	"syscall"
)

// FromSockaddr returns the net.Addr package net reports for sa, as on Unix
// systems, for package syscall's socket addresses, which Windows has in
// place of x/sys/unix's.
func FromSockaddr(network string, sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *syscall.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr).WithZone(Zone(a.ZoneId))
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(a.Port)))
	case *syscall.SockaddrUnix:
		if network == "" {
			network = "unix"
		}
		return &net.UnixAddr{Name: a.Name, Net: network}
	}
	return nil
}
