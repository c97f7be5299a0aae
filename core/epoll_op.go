//go:build linux

package core

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// attNext says what follows one attempt at an operation.
type attNext uint8

const (
	attDone        attNext = iota // the final result is in
	attDrained                    // final, and the direction is drained (a short transfer on a stream)
	attMore                       // a multishot result; attempt again
	attMoreDrained                // a multishot result, and the direction is drained: wait
	attWait                       // would block: wait for readiness
)

const rwfNowait = 0x8 // RWF_NOWAIT

func errRes(errno unix.Errno) int32 { return -int32(errno) }

// dispatch performs one SQE, as io_uring_enter does on submission.
func (ep *epollRing) dispatch(s *sqe) {
	t := ep.r.lookup(s.userData)
	prevLink := ep.linkPrev
	ep.linkPrev = nil
	if t == nil {
		// Every SQE the Ring prepares names a task in flight; complete
		// anything else as the kernel completes a NOP.
		ep.post(s.userData, 0, 0)
		return
	}
	t.ep.s = *s
	t.ep.where = epIdle
	t.ep.got = 0
	t.ep.phase = 0
	if s.flags&sqeIOLink != 0 {
		ep.linkPrev = t
	}
	switch s.opcode {
	case opNop:
		ep.finish(t, 0, 0)
	case opTimeout:
		ep.timeout(t)
	case opLinkTimeout:
		ep.linkTimeout(t, prevLink)
	case opTimeoutRem:
		ep.timeoutRemove(t)
	case opAsyncCancel:
		ep.cancel(t)
	case opMsgRing:
		ep.msgRing(t)
	case opSocket:
		fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, uintptr(s.fd), uintptr(s.off), uintptr(s.len))
		if errno == 0 {
			ep.renew(int32(fd))
		}
		ep.finishSys(t, int32(fd), errno)
	case opShutdown:
		_, _, errno := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(s.fd), uintptr(s.len), 0)
		ep.finishSys(t, 0, errno)
	case opClose:
		// Operations still waiting on the descriptor would otherwise
		// wait on whatever reuses its number: they end, cancelled.
		if s.fd >= 0 && int(s.fd) < len(ep.fds) && ep.fds[s.fd] != nil {
			ep.cancelFd(ep.fds[s.fd])
		}
		ep.forget(s.fd)
		ep.finishSys(t, 0, errnoOf(unix.Close(int(s.fd))))
	case opOpenat, opStatx:
		ep.toPool(t)
	case opPollAdd:
		ep.pollAdd(t)
	case opAccept, opRecv, opRecvmsg, opRead, opReadv:
		ep.io(t, dirRead)
	case opConnect, opSend, opSendmsg, opWrite, opWritev:
		ep.io(t, dirWrite)
	case opSplice:
		ep.splice(t)
	default:
		ep.finish(t, errRes(unix.EINVAL), 0)
	}
}

func errnoOf(err error) unix.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}

func (ep *epollRing) finishSys(t *Task, res int32, errno unix.Errno) {
	if errno != 0 {
		res = errRes(errno)
	}
	ep.finish(t, res, 0)
}

// io performs a readiness-driven operation: at once when its direction
// may be ready and nobody queues before it, otherwise after the next edge.
func (ep *epollRing) io(t *Task, d epDir) {
	s := &t.ep.s
	st := ep.watch(s.fd)
	if st == nil {
		switch s.opcode {
		case opRead, opWrite, opReadv, opWritev:
			// A regular file (or anything else epoll cannot watch)
			// blocks in the kernel instead of saying EAGAIN.
			ep.toPool(t)
			return
		}
		ep.perform(t, nil, d, false)
		return
	}
	if s.opcode == opAccept || s.opcode == opConnect {
		setNonblock(s.fd)
	}
	if st.waiters[d].head != nil {
		ep.park(t, st, d, false)
		return
	}
	if !st.ready[d] {
		ep.parkFresh(t, st, d)
		return
	}
	ep.perform(t, st, d, false)
}

// perform attempts t until it completes or would block; front re-queues a
// woken waiter ahead of those behind it.
func (ep *epollRing) perform(t *Task, st *epFd, d epDir, front bool) {
	for {
		res, flags, next := ep.attempt(t)
		switch next {
		case attDone:
			ep.finish(t, res, flags)
			return
		case attDrained:
			if st != nil && st.stream {
				st.ready[d] = false
			}
			ep.finish(t, res, flags)
			return
		case attMore:
			ep.finish(t, res, flags|cqeFMore)
		case attMoreDrained:
			ep.finish(t, res, flags|cqeFMore)
			if st != nil && st.stream {
				st.ready[d] = false
				if front {
					ep.park(t, st, d, true)
				} else {
					ep.parkFresh(t, st, d)
				}
				return
			}
		case attWait:
			if t.ep.s.opcode == opSplice {
				ep.spliceWait(t)
				return
			}
			if st == nil {
				ep.toPool(t)
				return
			}
			st.ready[d] = false
			if front {
				ep.park(t, st, d, true) // an event just proved the registration
			} else {
				ep.parkFresh(t, st, d)
			}
			return
		}
	}
}

// attempt performs t's operation once without blocking. The receive and
// send of the hot path are raw system calls: with MSG_DONTWAIT they return
// in microseconds, so handing off the P (as a call that may block must)
// costs more than it can save; the in-process echo benchmark measured
// 5 to 10% more messages per second at 16 connections.
func (ep *epollRing) attempt(t *Task) (int32, uint32, attNext) {
	s := &t.ep.s
	switch s.opcode {
	case opAccept:
		return ep.accept(t)
	case opConnect:
		return ep.connect(t)
	case opRecv:
		if s.flags&sqeBufferSelect != 0 {
			return ep.recvProvided(t)
		}
		if s.opFlags&unix.MSG_WAITALL != 0 {
			return ep.recvAll(t)
		}
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(s.addr), uintptr(s.len), uintptr(s.opFlags|unix.MSG_DONTWAIT), 0, 0)
		if s.opFlags&unix.MSG_PEEK != 0 && errno == 0 {
			return int32(n), 0, attDone // the data stays: the socket is still readable
		}
		return transferred(int(n), errno, s.len)
	case opSendmsg:
		n, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&t.msg.hdr)), uintptr(s.opFlags|unix.MSG_DONTWAIT))
		return transferred(int(n), errno, uint32(len(t.buf)))
	case opRecvmsg:
		if s.flags&sqeBufferSelect != 0 {
			return ep.recvmsgProvided(t)
		}
		n, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&t.msg.hdr)), uintptr(s.opFlags|unix.MSG_DONTWAIT))
		if s.opFlags&unix.MSG_PEEK != 0 && errno == 0 {
			return int32(n), 0, attDone
		}
		return transferred(int(n), errno, uint32(len(t.buf)))
	case opSend:
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(s.addr), uintptr(s.len), uintptr(s.opFlags|unix.MSG_DONTWAIT), 0, 0)
		return transferred(int(n), errno, s.len)
	case opRead, opWrite:
		t.ep.iov = iovec{Base: ptrOrNil(t.buf)}
		t.ep.iov.SetLen(len(t.buf))
		n, errno := rwvNowait(s.opcode == opWrite, s.fd, &t.ep.iov, 1, int64(s.off))
		return transferred(n, errno, s.len)
	case opReadv, opWritev:
		var iov *iovec
		want := uint64(0)
		if s.len > 0 {
			iov = &t.iovs[0]
			for i := range t.iovs {
				want += uint64(t.iovs[i].Len)
			}
		}
		n, errno := rwvNowait(s.opcode == opWritev, s.fd, iov, int(s.len), int64(s.off))
		if want > 1<<31 {
			want = 1 << 31
		}
		return transferred(n, errno, uint32(want))
	case opSplice:
		return ep.spliceOnce(t)
	}
	return errRes(unix.EINVAL), 0, attDone
}

// recvAll is a receive with MSG_WAITALL: as io_uring does, it receives
// until the buffer is full, waiting between tries, and completes short only
// at end of stream or an error after some bytes (their count). got keeps
// what it has taken across its waits.
func (ep *epollRing) recvAll(t *Task) (int32, uint32, attNext) {
	s := &t.ep.s
	for t.ep.got < s.len {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(s.addr)+uintptr(t.ep.got), uintptr(s.len-t.ep.got), uintptr(s.opFlags&^unix.MSG_WAITALL|unix.MSG_DONTWAIT), 0, 0)
		switch {
		case errno == unix.EAGAIN || errno == unix.EINTR:
			return 0, 0, attWait
		case errno != 0 && t.ep.got == 0:
			return errRes(errno), 0, attDone
		case errno != 0 || n == 0:
			return int32(t.ep.got), 0, attDone
		}
		t.ep.got += uint32(n)
	}
	return int32(t.ep.got), 0, attDone
}

// transferred classifies the result of a nonblocking transfer of want bytes.
func transferred(n int, errno unix.Errno, want uint32) (int32, uint32, attNext) {
	switch {
	case errno == unix.EAGAIN:
		return 0, 0, attWait
	case errno != 0:
		return errRes(errno), 0, attDone
	case uint32(n) < want:
		return int32(n), 0, attDrained
	}
	return int32(n), 0, attDone
}

// rwvNowait is rwv that does not wait. Some descriptors epoll watches take
// no RWF_NOWAIT (inotify, ttys: EOPNOTSUPP); for them the call is made
// without it when poll says it will not block, and otherwise waits for
// readiness (EAGAIN), as io_uring arms a poll for them.
func rwvNowait(write bool, fd int32, iov *iovec, n int, off int64) (int, unix.Errno) {
	got, errno := rwv(write, fd, iov, n, off, rwfNowait)
	if errno != unix.EOPNOTSUPP {
		return got, errno
	}
	events := int16(unix.POLLIN)
	if write {
		events = unix.POLLOUT
	}
	pfd := [1]unix.PollFd{{Fd: fd, Events: events}}
	if k, err := unix.Poll(pfd[:], 0); err != nil || k == 0 {
		return 0, unix.EAGAIN
	}
	return rwv(write, fd, iov, n, off, 0)
}

// rwv is preadv2 or pwritev2; off -1 means the file position.
func rwv(write bool, fd int32, iov *iovec, n int, off int64, flags int) (int, unix.Errno) {
	nr := uintptr(unix.SYS_PREADV2)
	if write {
		nr = unix.SYS_PWRITEV2
	}
	lo, hi := splitOffset(off)
	r, _, errno := unix.Syscall6(nr, uintptr(fd), uintptr(unsafe.Pointer(iov)), uintptr(n), lo, hi, uintptr(flags))
	return int(r), errno
}

// splitOffset splits a file offset into the low and high words preadv2
// takes, which on 64-bit systems are the whole offset and zero.
func splitOffset(off int64) (lo, hi uintptr) {
	const bits = unsafe.Sizeof(uintptr(0)) * 8
	return uintptr(off), uintptr(uint64(off) >> (bits - 1) >> 1)
}

func (ep *epollRing) accept(t *Task) (int32, uint32, attNext) {
	s := &t.ep.s
	if s.ioprio&acceptMultishot != 0 {
		fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(s.fd), 0, 0, uintptr(s.opFlags), 0, 0)
		switch errno {
		case 0:
			ep.renew(int32(fd))
			return int32(fd), 0, attMore
		case unix.EAGAIN:
			return 0, 0, attWait
		}
		return errRes(errno), 0, attDone
	}
	fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(s.fd), uintptr(unsafe.Pointer(&t.sa)), uintptr(unsafe.Pointer(&t.saLen)), uintptr(s.opFlags), 0, 0)
	switch errno {
	case 0:
		ep.renew(int32(fd))
		return int32(fd), 0, attDone
	case unix.EAGAIN:
		if s.ioprio&acceptDontWait != 0 {
			return errRes(errno), 0, attDone
		}
		return 0, 0, attWait
	}
	return errRes(errno), 0, attDone
}

// connect starts a nonblocking connect and, once the socket is writable,
// reads its outcome; a wake-up before the handshake ends waits again.
func (ep *epollRing) connect(t *Task) (int32, uint32, attNext) {
	s := &t.ep.s
	if t.ep.phase == 0 {
		_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(s.fd), uintptr(unsafe.Pointer(&t.sa)), uintptr(t.saLen))
		switch errno {
		case 0:
			return 0, 0, attDone
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			t.ep.phase = 1
			return 0, 0, attWait
		case unix.EAGAIN:
			return 0, 0, attWait // a full AF_UNIX backlog: connect again once writable
		}
		return errRes(errno), 0, attDone
	}
	soerr, err := unix.GetsockoptInt(int(s.fd), unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return errRes(errnoOf(err)), 0, attDone
	}
	if soerr != 0 {
		return errRes(unix.Errno(soerr)), 0, attDone
	}
	// SO_ERROR is zero while the handshake is still running, too.
	if _, err := unix.Getpeername(int(s.fd)); err == unix.ENOTCONN {
		return 0, 0, attWait
	}
	return 0, 0, attDone
}

// recvProvided is one step of a multishot receive into a provided buffer
// ring: it takes the next buffer as the kernel would and reports ENOBUFS,
// ending the operation, when the ring is empty.
func (ep *epollRing) recvProvided(t *Task) (int32, uint32, attNext) {
	s := &t.ep.s
	br := t.group
	id, buf, ok := br.Take()
	if !ok {
		return errRes(unix.ENOBUFS), 0, attDone
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 || n == 0 {
		br.untake()
		switch {
		case errno == unix.EAGAIN:
			return 0, 0, attWait
		case errno != 0:
			return errRes(errno), 0, attDone
		}
		return 0, 0, attDone // end of stream
	}
	flags := uint32(cqeFBuffer) | uint32(id)<<cqeBufferShift
	if limit := uint32(s.spliceFdIn); limit > 0 {
		t.ep.got += uint32(n)
		if t.ep.got >= limit {
			return int32(n), flags, attDone
		}
	}
	if int(n) < len(buf) {
		return int32(n), flags, attMoreDrained
	}
	return int32(n), flags, attMore
}

// recvmsgProvided is one step of a multishot recvmsg: it takes the next
// provided buffer and lays it out as the kernel does, an
// io_uring_recvmsg_out header (name, control and payload lengths, flags),
// room for the sender's address, room for control data, then the payload;
// the result counts the whole layout.
func (ep *epollRing) recvmsgProvided(t *Task) (int32, uint32, attNext) {
	s := &t.ep.s
	m := t.msg
	br := t.group
	id, buf, ok := br.Take()
	if !ok {
		return errRes(unix.ENOBUFS), 0, attDone
	}
	ctlStart := recvmsgOutSize + int(m.nameSpace)
	payloadStart := ctlStart + int(m.ctlSpace)
	h := &t.ep.mhdr
	*h = unix.Msghdr{Name: &buf[recvmsgOutSize], Namelen: m.nameSpace}
	if m.ctlSpace > 0 {
		h.Control = &buf[ctlStart]
		h.SetControllen(int(m.ctlSpace))
	}
	t.ep.iov = iovec{Base: &buf[payloadStart]}
	t.ep.iov.SetLen(len(buf) - payloadStart)
	h.Iov = &t.ep.iov
	h.SetIovlen(1)
	n, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(h)), uintptr(s.opFlags|unix.MSG_DONTWAIT))
	if errno != 0 {
		br.untake()
		if errno == unix.EAGAIN {
			return 0, 0, attWait
		}
		return errRes(errno), 0, attDone
	}
	binary.NativeEndian.PutUint32(buf[0:], h.Namelen)
	binary.NativeEndian.PutUint32(buf[4:], uint32(h.Controllen))
	binary.NativeEndian.PutUint32(buf[8:], uint32(n))
	binary.NativeEndian.PutUint32(buf[12:], uint32(h.Flags))
	flags := uint32(cqeFBuffer) | uint32(id)<<cqeBufferShift
	return int32(payloadStart + int(n)), flags, attMore
}

// pollAdd completes at once if fd already has one of the events (as
// io_uring checks on arming), and otherwise waits for an edge that brings
// one.
func (ep *epollRing) pollAdd(t *Task) {
	s := &t.ep.s
	st := ep.watch(s.fd)
	ep.pfd[0] = unix.PollFd{Fd: s.fd, Events: int16(s.opFlags)}
	n, err := unix.Poll(ep.pfd[:], 0)
	for err == unix.EINTR {
		n, err = unix.Poll(ep.pfd[:], 0)
	}
	if n > 0 {
		rev := uint32(uint16(ep.pfd[0].Revents))
		if rev&unix.POLLNVAL != 0 {
			ep.finish(t, errRes(unix.EBADF), 0)
			return
		}
		if mask := rev & (s.opFlags | unix.POLLERR | unix.POLLHUP); mask != 0 {
			if s.len&pollAddMulti == 0 {
				ep.finish(t, int32(mask), 0)
				return
			}
			ep.finish(t, int32(mask), cqeFMore)
		}
	}
	if st == nil {
		ep.finish(t, errRes(unix.EBADF), 0)
		return
	}
	ep.parkFresh(t, st, dirPoll)
}

// pollEvent hands an epoll event to a parked poll.
func (ep *epollRing) pollEvent(t *Task, events uint32) {
	s := &t.ep.s
	mask := events & (s.opFlags | unix.POLLERR | unix.POLLHUP)
	if mask == 0 {
		return
	}
	if s.len&pollAddMulti != 0 {
		ep.finish(t, int32(mask), cqeFMore)
		return
	}
	ep.unpark(t)
	ep.finish(t, int32(mask), 0)
}

// splice moves data between two descriptors, one a pipe, in nonblocking
// mode; when it would block it waits for whichever side is not ready.
func (ep *epollRing) splice(t *Task) {
	s := &t.ep.s
	t.ts = timespec{sec: int64(s.addr), nsec: int64(s.off)} // the offsets splice advances
	for _, fd := range [2]int32{s.spliceFdIn, s.fd} {
		if ep.watch(fd) != nil {
			setNonblock(fd)
		}
	}
	ep.perform(t, nil, dirRead, false)
}

func (ep *epollRing) spliceOnce(t *Task) (int32, uint32, attNext) {
	s := &t.ep.s
	var offIn, offOut uintptr
	if t.ts.sec != -1 {
		offIn = uintptr(unsafe.Pointer(&t.ts.sec))
	}
	if t.ts.nsec != -1 {
		offOut = uintptr(unsafe.Pointer(&t.ts.nsec))
	}
	n, _, errno := unix.Syscall6(unix.SYS_SPLICE, uintptr(s.spliceFdIn), offIn, uintptr(s.fd), offOut, uintptr(s.len), uintptr(s.opFlags|unix.SPLICE_F_NONBLOCK))
	switch errno {
	case 0:
		return int32(n), 0, attDone
	case unix.EAGAIN:
		return 0, 0, attWait
	}
	return errRes(errno), 0, attDone
}

// spliceWait parks a splice on its input until readable, or, when the
// input has data, on its output until writable.
func (ep *epollRing) spliceWait(t *Task) {
	s := &t.ep.s
	in, out := ep.watch(s.spliceFdIn), ep.watch(s.fd)
	ep.pfd[0] = unix.PollFd{Fd: s.spliceFdIn, Events: unix.POLLIN}
	n, _ := unix.Poll(ep.pfd[:], 0)
	switch {
	case in != nil && n == 0:
		in.ready[dirRead] = false
		ep.park(t, in, dirRead, false)
	case out != nil:
		out.ready[dirWrite] = false
		ep.park(t, out, dirWrite, false)
	default:
		ep.toPool(t)
	}
}

// msgRing posts a MsgRing's message into its target ring.
func (ep *epollRing) msgRing(t *Task) {
	peer := t.peer
	ud := t.ep.s.off
	peer.inboxMu.Lock()
	var err error
	switch {
	case peer.inboxClosed:
		err = unix.EBADF
	case peer.ep != nil:
		peer.ep.notify(cqe{userData: ud})
	default:
		err = sendMsg(peer.fd, ud)
	}
	peer.inboxMu.Unlock()
	ep.finishSys(t, 0, errnoOf(err))
}
