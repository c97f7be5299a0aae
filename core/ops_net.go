//go:build linux

package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func bufAddr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// Accept accepts one connection on a listening socket; flags are accept4
// flags such as unix.SOCK_CLOEXEC. The task's Fd is the new socket and
// RemoteSockaddr holds the peer's address.
func (r *Ring) Accept(fd int, flags int, ctx Ctx) (Handle, error) {
	return r.accept(fd, flags, 0, ctx)
}

// AcceptNoWait is Accept that never waits: with no connection queued it
// completes at once with EAGAIN, whatever fd's O_NONBLOCK flag says
// (IORING_ACCEPT_DONTWAIT, Linux 6.10). A kernel without the flag
// completes it with EINVAL. Unlike Accept, it puts no exclusive waiter on
// the socket, whose wake-up a cancelled Accept can swallow while another
// process's accept on the same socket sleeps on: wait with Poll instead.
func (r *Ring) AcceptNoWait(fd int, flags int, ctx Ctx) (Handle, error) {
	return r.accept(fd, flags, acceptDontWait, ctx)
}

func (r *Ring) accept(fd int, flags int, ioprio uint16, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpAccept, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.sa = unix.RawSockaddrAny{}
	t.saLen = unix.SizeofSockaddrAny
	s.opcode = opAccept
	s.fd = int32(fd)
	s.addr = uint64(uintptr(unsafe.Pointer(&t.sa)))
	s.off = uint64(uintptr(unsafe.Pointer(&t.saLen)))
	s.opFlags = uint32(flags)
	s.ioprio = ioprio
	return t.Handle(), nil
}

// AcceptMultishot accepts connections until cancelled or failed, one
// completion per connection (IORING_ACCEPT_MULTISHOT). Peer addresses are
// not reported; use getpeername where needed.
func (r *Ring) AcceptMultishot(fd int, flags int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpAccept, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.sa = unix.RawSockaddrAny{} // no peer is reported: do not show a previous use's
	s.opcode = opAccept
	s.fd = int32(fd)
	s.opFlags = uint32(flags)
	s.ioprio = acceptMultishot
	return t.Handle(), nil
}

// Connect connects the socket fd to sa.
func (r *Ring) Connect(fd int, sa Sockaddr, ctx Ctx) (Handle, error) {
	var raw unix.RawSockaddrAny
	n, err := putSockaddr(sa, &raw)
	if err != nil {
		return Handle{}, err
	}
	t, s, err := r.start(OpConnect, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.sa = raw
	t.saLen = n
	s.opcode = opConnect
	s.fd = int32(fd)
	s.addr = uint64(uintptr(unsafe.Pointer(&t.sa)))
	s.off = uint64(n)
	return t.Handle(), nil
}

// Recv receives into buf with recv(2) flags.
func (r *Ring) Recv(fd int, buf []byte, flags int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpRecv, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.buf = buf
	s.opcode = opRecv
	s.fd = int32(fd)
	s.addr = bufAddr(buf)
	s.len = uint32(len(buf))
	s.opFlags = uint32(flags)
	return t.Handle(), nil
}

// RecvMultishot receives repeatedly into buffers taken from br
// (IORING_RECV_MULTISHOT with a provided buffer ring). Each completion's
// Result.Buf holds the data; a result of 0 is end of stream and ENOBUFS means
// br ran dry (the operation then ends and may be resubmitted).
func (r *Ring) RecvMultishot(fd int, br *BufRing, ctx Ctx) (Handle, error) {
	return r.recvMultishot(fd, br, 0, ctx)
}

// RecvMultishotLimit is RecvMultishot that ends once it has received limit
// bytes in all (the receive that reaches the limit fills its buffer as any
// other, so it may pass it by less than a buffer): its last completion
// comes without IORING_CQE_F_MORE, and a caller that wants more arms it
// again. It bounds what the kernel takes from the socket before the caller
// has seen the completions, so the socket's buffer and TCP's window push
// back on a sender the caller does not keep up with. Kernels that predate the limit
// fail it with EINVAL in its completion.
func (r *Ring) RecvMultishotLimit(fd int, br *BufRing, limit uint32, ctx Ctx) (Handle, error) {
	if limit == 0 {
		return Handle{}, unix.EINVAL
	}
	return r.recvMultishot(fd, br, limit, ctx)
}

func (r *Ring) recvMultishot(fd int, br *BufRing, limit uint32, ctx Ctx) (Handle, error) {
	if br == nil || br.ring != r {
		return Handle{}, ErrForeignTask
	}
	t, s, err := r.start(OpRecv, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.group = br
	s.opcode = opRecv
	s.fd = int32(fd)
	s.flags = sqeBufferSelect
	s.bufIndex = br.group
	s.ioprio = recvMultishot
	s.spliceFdIn = int32(limit) // optlen
	return t.Handle(), nil
}

// Send sends buf with send(2) flags; the result may be short.
func (r *Ring) Send(fd int, buf []byte, flags int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpSend, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.prepSend(s, opSend, fd, buf, flags)
	return t.Handle(), nil
}

// prepSend points s at buf, which t keeps reachable, for a send of it on fd.
func (t *Task) prepSend(s *sqe, opcode uint8, fd int, buf []byte, flags int) {
	t.buf = buf
	s.opcode = opcode
	s.fd = int32(fd)
	s.addr = bufAddr(buf)
	s.len = uint32(len(buf))
	s.opFlags = uint32(flags)
}

// Socket creates a socket; the task's Fd is the new descriptor.
func (r *Ring) Socket(domain, typ, proto int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpSocket, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opSocket
	s.fd = int32(domain)
	s.off = uint64(typ)
	s.len = uint32(proto)
	return t.Handle(), nil
}

// Shutdown shuts down the read side, write side or both of a connection
// (unix.SHUT_RD, SHUT_WR, SHUT_RDWR).
func (r *Ring) Shutdown(fd int, how int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpShutdown, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opShutdown
	s.fd = int32(fd)
	s.len = uint32(how)
	return t.Handle(), nil
}

// Poll completes once fd has one of events; the result is the ready mask.
func (r *Ring) Poll(fd int, events uint32, ctx Ctx) (Handle, error) {
	return r.poll(fd, events, 0, ctx)
}

// PollMultishot completes each time fd becomes ready, until cancelled.
func (r *Ring) PollMultishot(fd int, events uint32, ctx Ctx) (Handle, error) {
	return r.poll(fd, events, pollAddMulti, ctx)
}

func (r *Ring) poll(fd int, events uint32, mode uint32, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpPoll, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opPollAdd
	s.fd = int32(fd)
	s.opFlags = events
	s.len = mode
	return t.Handle(), nil
}
