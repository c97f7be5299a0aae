package core

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// putSockaddr writes sa into raw in the kernel's layout and returns its
// length. It exists because x/sys/unix keeps that conversion private.
func putSockaddr(sa unix.Sockaddr, raw *unix.RawSockaddrAny) (uint32, error) {
	*raw = unix.RawSockaddrAny{}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		p.Family = unix.AF_INET
		p.Port = htons(uint16(a.Port))
		p.Addr = a.Addr
		return unix.SizeofSockaddrInet4, nil
	case *unix.SockaddrInet6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(raw))
		p.Family = unix.AF_INET6
		p.Port = htons(uint16(a.Port))
		p.Scope_id = a.ZoneId
		p.Addr = a.Addr
		return unix.SizeofSockaddrInet6, nil
	case *unix.SockaddrUnix:
		p := (*unix.RawSockaddrUnix)(unsafe.Pointer(raw))
		p.Family = unix.AF_UNIX
		n := len(a.Name)
		if n >= len(p.Path) {
			return 0, unix.EINVAL
		}
		for i := 0; i < n; i++ {
			p.Path[i] = int8(a.Name[i])
		}
		// An abstract address starts with '@' in Go's notation.
		if n > 0 && a.Name[0] == '@' {
			p.Path[0] = 0
			return uint32(2 + n), nil
		}
		if n == 0 {
			return 2, nil
		}
		return uint32(2 + n + 1), nil
	}
	return 0, unix.EAFNOSUPPORT
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// SockaddrToAddrPort converts an IPv4 or IPv6 socket address in the kernel's
// layout to a netip.AddrPort without allocating. ok is false for other
// families.
func SockaddrToAddrPort(raw *unix.RawSockaddrAny) (ap netip.AddrPort, ok bool) {
	switch raw.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), htons(p.Port)), true
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr), htons(p.Port)), true
	}
	return netip.AddrPort{}, false
}
