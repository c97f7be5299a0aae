//go:build !linux

package core

import (
	"net/netip"
	"syscall"
	"unsafe"
)

// RawSockaddr writes sa into raw in this system's layout and returns its
// length, for a bind or connect made outside the ring. Off Linux a unix
// name is a path (no abstract names) that must leave room for its
// terminating NUL.
func RawSockaddr(sa Sockaddr, raw *RawSockaddrAny) (uint32, error) {
	switch a := sa.(type) {
	case *sockaddrInet4:
		n := AddrPortToRawSockaddr(netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), raw)
		return n, nil
	case *sockaddrInet6:
		n := AddrPortToRawSockaddr(netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)), raw)
		(*rawSockaddrInet6)(unsafe.Pointer(raw)).Scope_id = a.ZoneId
		return n, nil
	case *sockaddrUnix:
		*raw = RawSockaddrAny{}
		p := (*rawSockaddrUnix)(unsafe.Pointer(raw))
		if len(a.Name) >= len(p.Path) {
			return 0, syscall.EINVAL
		}
		p.Family = afUnix
		for i := 0; i < len(a.Name); i++ {
			p.Path[i] = int8(a.Name[i])
		}
		n := uint32(unsafe.Offsetof(p.Path)) + uint32(len(a.Name))
		if len(a.Name) > 0 {
			n++ // the NUL
		}
		setSockaddrLen(raw, n)
		return n, nil
	}
	*raw = RawSockaddrAny{}
	return 0, syscall.EAFNOSUPPORT
}
