package core

import (
	"net"
	"net/netip"
	"strconv"
	"unsafe"
)

// SockaddrToAddrPort converts an IPv4 or IPv6 socket address in the kernel's
// layout to a netip.AddrPort without allocating. ok is false for other
// families.
func SockaddrToAddrPort(raw *RawSockaddrAny) (ap netip.AddrPort, ok bool) {
	switch raw.Addr.Family {
	case afInet:
		p := (*rawSockaddrInet4)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), htons(p.Port)), true
	case afInet6:
		p := (*rawSockaddrInet6)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr), htons(p.Port)), true
	}
	return netip.AddrPort{}, false
}

// AddrPortToRawSockaddr writes ap into raw in the kernel's layout, as an
// Accept fills in its peer, and returns the address's length. It is the
// inverse of SockaddrToAddrPort, for runtimes such as mock.Ring that play
// the kernel: an IPv4 address becomes AF_INET and any other (an
// IPv4-mapped one included) AF_INET6, without a zone. An invalid ap leaves
// raw zero and returns 0.
func AddrPortToRawSockaddr(ap netip.AddrPort, raw *RawSockaddrAny) uint32 {
	*raw = RawSockaddrAny{}
	if !ap.IsValid() {
		return 0
	}
	var n uint32
	if addr := ap.Addr(); addr.Is4() {
		p := (*rawSockaddrInet4)(unsafe.Pointer(raw))
		p.Family = afInet
		p.Port = htons(ap.Port())
		p.Addr = addr.As4()
		n = uint32(unsafe.Sizeof(*p))
	} else {
		p := (*rawSockaddrInet6)(unsafe.Pointer(raw))
		p.Family = afInet6
		p.Port = htons(ap.Port())
		p.Addr = addr.As16()
		n = uint32(unsafe.Sizeof(*p))
	}
	setSockaddrLen(raw, n)
	return n
}

// AddrPortToSockaddr returns ap as the Sockaddr Connect takes, so code that
// dials builds its address the same way on every platform: a SockaddrInet4
// for an IPv4 address, and a SockaddrInet6 for any other (an IPv4-mapped
// one included; Unmap it first for IPv4), whose ZoneId is the interface
// ap's zone names, by index or by name (0 for none or an unknown name, as
// in package net). It returns nil for an invalid ap.
func AddrPortToSockaddr(ap netip.AddrPort) Sockaddr {
	if !ap.IsValid() {
		return nil
	}
	if addr := ap.Addr(); addr.Is4() {
		return &sockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}
	}
	return &sockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16(), ZoneId: zoneIndex(ap.Addr().Zone())}
}

// zoneIndex is the interface index an IPv6 zone names: a number, or an
// interface's name; 0 for none or an unknown name.
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
