package uringnet

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// A read or write first tries the socket directly, without waiting, and
// goes to the ring only when it would have to wait: with data already
// queued (a read) or room in the send buffer (a write), the direct call
// finishes the operation in one system call, touches neither the engine's
// lock nor the ring, and posts no completion, which would otherwise wake
// the poller asleep in the kernel only to hand the result back. Operations
// that wait (a read before the peer has sent, a write to a full buffer)
// run on the ring, whose task work performs them when the socket is ready
// and posts one completion that the poller turns into the goroutine's
// wake-up. The caller holds the side's lock, so Close cannot free the
// descriptor number under these calls.

// recvNow reads what the socket already holds. It reports false when the
// read would have to wait, and otherwise the result as the ring gives it:
// a byte count, or a negated errno.
func (f *netFD) recvNow(b []byte) (int32, bool) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(f.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	return nowResult(n, errno)
}

// sendNow writes as much of b as the socket takes at once, with the same
// results as recvNow.
func (f *netFD) sendNow(b []byte) (int32, bool) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(f.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	return nowResult(n, errno)
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
