//go:build linux

package uringnet

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// A read, write or accept first tries the socket directly, without waiting,
// and goes to the ring only when it would have to wait: with data already
// queued (a read), room in the send buffer (a write) or a connection
// queued (an accept), the direct call
// finishes the operation in one system call, touches neither the engine's
// lock nor the ring, and posts no completion, which would otherwise wake
// the poller only to hand the result back. Operations
// that wait (a read before the peer has sent, a write to a full buffer)
// run on the ring, whose task work performs them when the socket is ready
// and posts one completion that the poller turns into the goroutine's
// wake-up. The caller holds the side's lock, so Close cannot free the
// descriptor number under these calls.
//
// Which system call: these calls never block, but a send on loopback wakes
// the peer's thread, and the kernel often preempts the sender as the call
// returns. Inside a raw call (RawSyscall) the goroutine never left its P,
// so the P (its run queue, the poller's role, a lock the goroutine holds)
// waits out the descheduled thread's slice, 3 to 10 ms; a runtime trace of
// the echo benchmark with every call raw showed 88 such stalls in two
// seconds where package net had 6, and they were uringnet's whole p99
// excess at 64 connections. Through unix.Syscall the runtime's sysmon
// hands the P to another thread. But Syscall costs too: in a process that
// went idle between messages, entering it wakes the sleeping sysmon
// thread, which a lone connection pays on every message (1.2 to 1.8x
// package net's CPU per message at one connection in earlier runs with
// every call through Syscall). So a receive or send is raw while no goroutine of its engine
// waits (no poller: nothing of ours queued to stall behind it), as is the
// engine's submission then (core.NoWaitRaw, wait.go), and goes through
// Syscall while others wait. Echo, alternating builds, three rounds each:
// at one connection CPU per message 0.37x and 0.30x package net's against
// 0.82x and 0.51x with Syscall always (64 B, 4 KiB), p99 0.8x against 1.0x;
// at 64 connections no change. Accepts always go through Syscall.

// now runs a receive, send or accept directly when it can finish at once,
// as do's first step. For other kinds, or when the operation would have to
// wait, it reports false.
func (f *netFD) now(s *side, kind int, a args) (int32, bool) {
	switch kind {
	case kindRecv:
		return f.recvNow(a.buf)
	case kindSend:
		return f.sendNow(a.buf)
	case kindAccept:
		return f.acceptNow(s.op.sa)
	case kindRecvmsg:
		return f.recvmsgNow(&s.op, a)
	case kindSendmsg:
		return f.sendmsgNow(a)
	}
	return 0, false
}

// recvNow reads what the socket already holds. It reports false when the
// read would have to wait, and otherwise the result as the ring gives it:
// a byte count, or a negated errno.
func (f *netFD) recvNow(b []byte) (int32, bool) {
	if !f.e.polling.Load() {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(f.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
		return nowResult(n, errno)
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(f.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	return nowResult(n, errno)
}

// sendNow writes as much of b as the socket takes at once, with the same
// results as recvNow.
func (f *netFD) sendNow(b []byte) (int32, bool) {
	// b may be empty: a unix socket's Write of nothing still sends
	// (conn.go), and the kernel reads no byte of it.
	if !f.e.polling.Load() {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(f.fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		return nowResult(n, errno)
	}
	n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(f.fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	return nowResult(n, errno)
}

// acceptNow takes a connection already queued on the listening socket, as
// an Accept on the ring would, writing the peer's address into sa. A
// connection aborted before it was taken counts as none, as package net
// skips it.
func (f *netFD) acceptNow(sa *unix.RawSockaddrAny) (int32, bool) {
	// The listener's sockaddr is reused, and for an unnamed or abstract
	// unix peer the kernel writes only its length: clear what the last
	// peer left.
	*sa = unix.RawSockaddrAny{}
	n := uint32(unix.SizeofSockaddrAny)
	fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(f.fd), uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&n)), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0, 0)
	if errno == unix.ECONNABORTED {
		return 0, false
	}
	return nowResult(fd, errno)
}

func nowResult(n uintptr, errno unix.Errno) (int32, bool) {
	switch errno {
	case 0:
		return int32(n), true
	case unix.EAGAIN, unix.EINTR:
		return 0, false
	}
	return -int32(errno), true
}
