//go:build linux

package core

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendmsg and recvmsg, for datagrams and for control messages.

// msghdr is the memory of one Sendmsg or Recvmsg: the kernel's struct
// msghdr and the one iovec it points to. It lives on the heap, made with its
// task's first message and kept with the task, so its address holds until
// the completion and the steady state allocates nothing. Its pointers keep
// the caller's buffers reachable while the kernel holds them.
type msghdr struct {
	hdr unix.Msghdr
	iov unix.Iovec
	oob []byte // the control buffer, which a Recvmsg's completion slices
	// A multishot receive's room, in each provided buffer, for the
	// sender's address and the control data.
	nameSpace, ctlSpace uint32
}

func (m *msghdr) reset() { *m = msghdr{} }

// recvmsgOutSize is the size of struct io_uring_recvmsg_out, which opens
// each buffer a multishot recvmsg fills: namelen, controllen, payloadlen
// and flags, four 32-bit words.
const recvmsgOutSize = 16

// RecvmsgRoom says what RecvmsgMultishot takes before the control data.
var _ [RecvmsgRoom - recvmsgOutSize - unix.SizeofSockaddrAny]struct{}
var _ [recvmsgOutSize + unix.SizeofSockaddrAny - RecvmsgRoom]struct{}

func (t *Task) msgHdr() *msghdr {
	if t.msg == nil {
		t.msg = new(msghdr)
	}
	return t.msg
}

// Sendmsg sends buf and the control data oob (sendmsg(2)) with sendmsg(2)
// flags: to sa, or to the socket's peer when sa is nil. The result is the
// number of bytes of buf sent.
func (r *Ring) Sendmsg(fd int, buf, oob []byte, sa Sockaddr, flags int, ctx Ctx) (Handle, error) {
	_, h, err := r.sendmsg(OpSendmsg, opSendmsg, fd, buf, oob, sa, flags, ctx)
	return h, err
}

// sendmsg prepares a Sendmsg or a SendmsgZC and returns its task.
func (r *Ring) sendmsg(op Op, opcode uint8, fd int, buf, oob []byte, sa Sockaddr, flags int, ctx Ctx) (*Task, Handle, error) {
	var raw unix.RawSockaddrAny
	var n uint32
	if sa != nil {
		var err error
		if n, err = putSockaddr(sa, &raw); err != nil {
			return nil, Handle{}, err
		}
	}
	t, s, err := r.start(op, ctx)
	if err != nil {
		return nil, Handle{}, err
	}
	m := t.prepMsg(s, opcode, fd, buf, oob, flags)
	if n > 0 {
		t.sa = raw
		m.hdr.Name = (*byte)(unsafe.Pointer(&t.sa))
		m.hdr.Namelen = n
	}
	return t, t.Handle(), nil
}

// prepMsg points t's header at buf and oob, which t keeps reachable, and
// fills s for a sendmsg or recvmsg of them on fd; the caller adds the name.
func (t *Task) prepMsg(s *sqe, opcode uint8, fd int, buf, oob []byte, flags int) *msghdr {
	m := t.msgHdr()
	if len(buf) > 0 {
		m.iov.Base = &buf[0]
		m.iov.SetLen(len(buf))
	}
	m.hdr.Iov = &m.iov
	m.hdr.SetIovlen(1)
	if len(oob) > 0 {
		m.hdr.Control = &oob[0]
		m.hdr.SetControllen(len(oob))
		m.oob = oob
	}
	t.buf = buf
	s.opcode = opcode
	s.fd = int32(fd)
	s.addr = uint64(uintptr(unsafe.Pointer(&m.hdr)))
	s.len = 1
	s.opFlags = uint32(flags)
	return m
}

// Recvmsg receives one message into buf and its control data into oob
// (recvmsg(2)) with recvmsg(2) flags. In the callback N is the number of
// bytes in buf, RemoteSockaddr the sender (zero on a connected stream),
// OOB the control data received, and MsgFlags the message's flags:
// MSG_TRUNC when a datagram was longer than buf, MSG_CTRUNC when its
// control data did not fit oob.
func (r *Ring) Recvmsg(fd int, buf, oob []byte, flags int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpRecvmsg, ctx)
	if err != nil {
		return Handle{}, err
	}
	m := t.prepMsg(s, opRecvmsg, fd, buf, oob, flags)
	t.sa = unix.RawSockaddrAny{}
	m.hdr.Name = (*byte)(unsafe.Pointer(&t.sa))
	m.hdr.Namelen = unix.SizeofSockaddrAny
	return t.Handle(), nil
}

// RecvmsgMultishot receives messages repeatedly (IORING_RECV_MULTISHOT on
// recvmsg) into buffers taken from br, one completion per message, until
// cancelled or failed. The kernel lays each buffer out as a header, room for
// the sender's address, oobSpace bytes of room for control data, and the
// payload; in the callback Result.Buf is the payload (N its length),
// RemoteSockaddr the sender, OOB the control data and MsgFlags the
// message's flags (MSG_TRUNC when the payload did not fit what the buffer
// had left). ENOBUFS means br ran dry: the operation ends and may be armed
// again. Each buffer must hold more than the header and both rooms.
func (r *Ring) RecvmsgMultishot(fd int, br *BufRing, oobSpace int, flags int, ctx Ctx) (Handle, error) {
	if br == nil || br.ring != r {
		return Handle{}, ErrForeignTask
	}
	if oobSpace < 0 || recvmsgOutSize+unix.SizeofSockaddrAny+oobSpace >= br.size {
		return Handle{}, fmt.Errorf("ourio: RecvmsgMultishot: %d bytes of buffer leave no room for a payload after %d of header and %d of control data: %w", br.size, RecvmsgRoom, oobSpace, unix.EINVAL)
	}
	t, s, err := r.start(OpRecvmsg, ctx)
	if err != nil {
		return Handle{}, err
	}
	m := t.msgHdr()
	m.nameSpace, m.ctlSpace = unix.SizeofSockaddrAny, uint32(oobSpace)
	m.hdr.Namelen = m.nameSpace
	m.hdr.SetControllen(oobSpace)
	t.group = br
	s.opcode = opRecvmsg
	s.fd = int32(fd)
	s.addr = uint64(uintptr(unsafe.Pointer(&m.hdr)))
	s.len = 1
	s.opFlags = uint32(flags)
	s.flags = sqeBufferSelect
	s.bufIndex = br.group
	s.ioprio = recvMultishot
	return t.Handle(), nil
}

// recvmsgDone fills what a Recvmsg's callback reads: from the header the
// kernel updated, or, for a multishot receive, from the layout it wrote at
// the start of the provided buffer in Result.Buf.
func (t *Task) recvmsgDone() {
	m := t.msg
	// Nothing of an earlier completion may show: a multishot receive's
	// last buffer is back in the ring, where the kernel may be writing.
	t.oob, t.mflags = nil, 0
	if t.Result.Res < 0 {
		if t.group != nil {
			t.sa = unix.RawSockaddrAny{}
		}
		return
	}
	if t.group == nil {
		if n := int(m.hdr.Controllen); n <= len(m.oob) {
			t.oob = m.oob[:n]
		}
		t.mflags = m.hdr.Flags
		if m.hdr.Namelen == 0 {
			t.sa = unix.RawSockaddrAny{}
		}
		return
	}
	raw := t.Result.Buf
	t.sa = unix.RawSockaddrAny{}
	if t.bufID < 0 || len(raw) < recvmsgOutSize {
		return
	}
	nameLen := binary.NativeEndian.Uint32(raw[0:])
	ctlLen := binary.NativeEndian.Uint32(raw[4:])
	t.mflags = int32(binary.NativeEndian.Uint32(raw[12:]))
	ctlStart := recvmsgOutSize + int(m.nameSpace)
	payloadStart := ctlStart + int(m.ctlSpace)
	if payloadStart > len(raw) {
		return
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&t.sa)), unix.SizeofSockaddrAny), raw[recvmsgOutSize:recvmsgOutSize+int(min(nameLen, m.nameSpace))])
	t.oob = raw[ctlStart : ctlStart+int(min(ctlLen, m.ctlSpace))]
	t.Result.Buf = raw[payloadStart:]
	t.Result.Res = int32(len(t.Result.Buf))
}
