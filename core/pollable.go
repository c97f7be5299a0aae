//go:build linux

package core

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const registerEventfd = 4

// PollableFd returns a file descriptor that polls readable when the ring has
// completions to run, so another event loop (epoll, Go's netpoller) can
// decide when to call Run(NoWait).
//
// For a default ring it is the ring's own descriptor. A SingleIssuer ring
// defers completion work to its thread, and a poller already asleep on the
// ring descriptor is not woken when such work arrives; for those rings it is
// an eventfd registered with the ring (IORING_REGISTER_EVENTFD), which the
// kernel signals when work arrives and Run drains. Do not close or read the
// returned descriptor; Close releases it.
//
// On the epoll backend it is the ring's epoll instance, which polls readable
// when Run has work: a descriptor an operation waits on became ready, a
// timer expired, a message or worker-pool result arrived, or Submit left
// completions in the queue.
func (r *Ring) PollableFd() (int, error) {
	if r.closed {
		return -1, ErrClosed
	}
	if r.ep != nil || r.setupFlags&setupDeferTaskrun == 0 {
		// An epoll ring's descriptor is its epoll instance, readable when
		// a descriptor it waits on is ready or mail has arrived.
		return r.fd, nil
	}
	if r.evfd > 0 {
		return r.evfd, nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return -1, err
	}
	fd32 := int32(efd)
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventfd, uintptr(unsafe.Pointer(&fd32)), 1, 0, 0)
	if errno != 0 {
		unix.Close(efd)
		return -1, errno
	}
	r.evfd = efd
	return efd, nil
}

// drainEventfd resets the eventfd once Run has caught up, so a level
// triggered poller sleeps again. Work that arrived just before the reset
// would lose its signal, so the eventfd is raised again if any is pending.
func (r *Ring) drainEventfd() {
	var b [8]byte
	unix.Read(r.evfd, b[:])
	if r.cqReady() || atomic.LoadUint32(r.sqFlags)&sqTaskrun != 0 {
		b[0] = 1
		unix.Write(r.evfd, b[:])
	}
}
