//go:build linux

package uringnet

import (
	"net/netip"
	"unsafe"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// recvmsg and sendmsg tried directly, as direct.go tries recv and send;
// the ring's Recvmsg and Sendmsg take over when the call would wait.

// recvmsgNow receives one message already queued on the socket into a.buf
// and a.oob, writing the sender into o.sa and the control data's length
// and the message's flags into o, with recvNow's results.
func (f *netFD) recvmsgNow(o *op, a args) (int32, bool) {
	*o.sa = unix.RawSockaddrAny{}
	var iov unix.Iovec
	var msg unix.Msghdr
	msgInit(&msg, &iov, a.buf, a.oob)
	msg.Iov = &iov
	msg.Name = (*byte)(unsafe.Pointer(o.sa))
	msg.Namelen = unix.SizeofSockaddrAny
	var n uintptr
	var errno unix.Errno
	if !f.e.polling.Load() {
		n, _, errno = unix.RawSyscall(unix.SYS_RECVMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	} else {
		n, _, errno = unix.Syscall(unix.SYS_RECVMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	}
	o.oobn, o.mflags = int32(msg.Controllen), msg.Flags
	return nowResult(n, errno)
}

// sendmsgNow sends a.buf and a.oob to a.to (the peer when a.toLen is 0)
// if the socket takes them at once, with recvNow's results.
func (f *netFD) sendmsgNow(a args) (int32, bool) {
	var iov unix.Iovec
	var msg unix.Msghdr
	msgInit(&msg, &iov, a.buf, a.oob)
	msg.Iov = &iov
	if a.toLen > 0 {
		msg.Name = (*byte)(unsafe.Pointer(a.to))
		msg.Namelen = a.toLen
	}
	var n uintptr
	var errno unix.Errno
	if !f.e.polling.Load() {
		n, _, errno = unix.RawSyscall(unix.SYS_SENDMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	} else {
		n, _, errno = unix.Syscall(unix.SYS_SENDMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	}
	return nowResult(n, errno)
}

// msgInit points iov at buf and msg at oob; the caller points msg at iov,
// which stored here would send iov to the heap. The call that uses them is
// synchronous, so all of them may live on the caller's stack.
func msgInit(msg *unix.Msghdr, iov *unix.Iovec, buf, oob []byte) {
	if len(buf) > 0 {
		iov.Base = &buf[0]
		iov.SetLen(len(buf))
	}
	msg.SetIovlen(1)
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
}

// rawToSockaddr converts a destination in the kernel's layout back to the
// form the ring's Sendmsg takes, or nil for none: only a send that has to
// wait on the ring pays for the conversion.
func rawToSockaddr(raw *unix.RawSockaddrAny, n uint32) core.Sockaddr {
	if n == 0 || raw == nil {
		return nil
	}
	switch raw.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		return &unix.SockaddrInet4{Port: int(ntohs(p.Port)), Addr: p.Addr}
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(raw))
		return &unix.SockaddrInet6{Port: int(ntohs(p.Port)), Addr: p.Addr, ZoneId: p.Scope_id}
	}
	return nil
}

func ntohs(v uint16) uint16 { return v>>8 | v<<8 }

// putUDPSockaddr writes ap, with its zone's index, into raw for a socket of
// family, as package net converts a UDP destination: an IPv4 address
// goes to an IPv6 socket mapped, and an IPv6 one does not fit an IPv4
// socket. It returns the address's length.
func putUDPSockaddr(family int, ap netip.AddrPort, raw *unix.RawSockaddrAny) (uint32, bool) {
	ip := ap.Addr()
	*raw = unix.RawSockaddrAny{}
	if family == unix.AF_INET {
		if !ip.Unmap().Is4() {
			return 0, false
		}
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		p.Family = unix.AF_INET
		p.Port = ntohs(ap.Port())
		p.Addr = ip.Unmap().As4()
		return unix.SizeofSockaddrInet4, true
	}
	p := (*unix.RawSockaddrInet6)(unsafe.Pointer(raw))
	p.Family = unix.AF_INET6
	p.Port = ntohs(ap.Port())
	p.Addr = ip.As16()
	p.Scope_id = zoneIndex(ip.Zone())
	return unix.SizeofSockaddrInet6, true
}
