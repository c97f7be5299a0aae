//go:build linux

package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// RawSockaddr writes sa into raw in the kernel's layout and returns its
// length, for a bind or connect made outside the ring. A unix name follows
// package syscall's rules, so the kernel sees what package net would hand
// it: a leading '@' or NUL makes the name abstract, and an abstract name
// may fill all 108 bytes of sun_path, which x/sys/unix refuses.
func RawSockaddr(sa Sockaddr, raw *RawSockaddrAny) (uint32, error) {
	return putSockaddr(sa, raw)
}

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
	case *sockaddrUnix:
		return putSockaddrUnix(a.Name, (*rawSockaddrUnix)(unsafe.Pointer(raw)))
	}
	return 0, unix.EAFNOSUPPORT
}

// putSockaddrUnix writes a unix name into p as package syscall does. A
// name that starts with '@' or NUL is abstract: the kernel gets it with a
// leading NUL and no terminating one, so it may fill all 108 bytes of
// sun_path. A path needs room for its terminating NUL, so it may have at
// most 107. The empty name (length 2) is an unnamed address, which bind
// turns into an autobound one.
func putSockaddrUnix(name string, p *rawSockaddrUnix) (uint32, error) {
	n := len(name)
	abstract := n > 0 && (name[0] == '@' || name[0] == 0)
	if n > len(p.Path) || n == len(p.Path) && !abstract {
		return 0, unix.EINVAL
	}
	p.Family = afUnix
	for i := 0; i < n; i++ {
		p.Path[i] = int8(name[i])
	}
	l := uint32(2 + n)
	if abstract {
		p.Path[0] = 0
	} else if n > 0 {
		l++ // the NUL
	}
	return l, nil
}
