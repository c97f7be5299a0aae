//go:build linux

package uringnet

import (
	"net"
	"unsafe"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/netaddr"
	"golang.org/x/sys/unix"
)

// rawToAddr converts a socket address in the kernel's layout to the net.Addr
// package net would give for network.
func rawToAddr(network string, raw *unix.RawSockaddrAny) net.Addr {
	if ap, ok := core.SockaddrToAddrPort(raw); ok {
		// An IPv4-mapped peer of a dual-stack socket keeps its 16-byte
		// form, as in package net.
		zone := ""
		if raw.Addr.Family == unix.AF_INET6 {
			// A link-local address names its zone, as in net.
			zone = netaddr.Zone((*unix.RawSockaddrInet6)(unsafe.Pointer(raw)).Scope_id)
		}
		if isUDP(network) {
			a := net.UDPAddrFromAddrPort(ap)
			a.Zone = zone
			return a
		}
		a := net.TCPAddrFromAddrPort(ap)
		a.Zone = zone
		return a
	}
	if raw.Addr.Family == unix.AF_UNIX {
		p := (*unix.RawSockaddrUnix)(unsafe.Pointer(raw))
		// As package net (syscall's anyToSockaddr): a leading NUL, of an
		// abstract or an unnamed socket, reads as '@', and the name ends
		// at the next NUL. raw must have been zeroed before the kernel
		// wrote it, which writes only the address's length.
		n := 1
		for n < len(p.Path) && p.Path[n] != 0 {
			n++
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(p.Path[i])
		}
		if b[0] == 0 {
			b[0] = '@'
		}
		return &net.UnixAddr{Name: string(b), Net: network}
	}
	return nil
}

func localAddr(network string, fd int) net.Addr {
	return sockName(unix.SYS_GETSOCKNAME, network, fd)
}

// peerAddr is the address of fd's peer, as localAddr is its own.
func peerAddr(network string, fd int) net.Addr {
	return sockName(unix.SYS_GETPEERNAME, network, fd)
}

// sockName asks the kernel for fd's name (getsockname or getpeername).
func sockName(call uintptr, network string, fd int) net.Addr {
	// The raw call: x/sys's Getsockname asks every IPv4 and IPv6 socket
	// for its protocol too (one more system call per accepted
	// connection), and allocates the sockaddr it converts.
	var raw unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	if _, _, errno := unix.RawSyscall(call, uintptr(fd), uintptr(unsafe.Pointer(&raw)), uintptr(unsafe.Pointer(&n))); errno != 0 {
		return nil
	}
	return rawToAddr(network, &raw)
}
