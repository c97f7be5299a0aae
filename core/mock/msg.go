package mock

import (
	"net/netip"
	"slices"
	"syscall"

	"github.com/ourio-go/ourio/core"
)

// Messages: Sendmsg, Recvmsg and RecvmsgMultishot, with datagram
// semantics for Message replies.

// Message is a reply for Recvmsg and RecvmsgMultishot that delivers one
// datagram b, with the control data oob, from from (the zero AddrPort for
// none, as on a connected socket). As from a datagram socket, what does not
// fit the receiving buffer is dropped and the message's flags say
// MSG_TRUNC; control data that does not fit says MSG_CTRUNC. b and oob are
// copied.
func Message(b, oob []byte, from netip.AddrPort) Reply {
	return Reply{data: slices.Clone(b), isData: true, isMsg: true, oob: slices.Clone(oob), peer: from}
}

// Sendmsg records buf as sent on fd and completes with its length, or with
// the next reply scripted for core.OpSendmsg on fd. The control data and
// the address are not recorded. It refuses at once an address
// core.RawSockaddr cannot convert, as a core.Ring's Sendmsg does.
func (m *Ring) Sendmsg(fd int, buf, oob []byte, sa core.Sockaddr, flags int, ctx core.Ctx) (core.Handle, error) {
	if sa != nil {
		var raw core.RawSockaddrAny
		if _, err := core.RawSockaddr(sa, &raw); err != nil {
			return core.Handle{}, err
		}
	}
	o := m.submit(core.OpSendmsg, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	return o.task.Handle(), nil
}

// Recvmsg completes with the next reply scripted for core.OpRecvmsg on fd:
// a Message is delivered into buf and oob whole or truncated, Data as by
// Recv, anything else as its result.
func (m *Ring) Recvmsg(fd int, buf, oob []byte, flags int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpRecvmsg, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	o.oob = oob
	return o.task.Handle(), nil
}

// RecvmsgMultishot completes once for each Message scripted for
// core.OpRecvmsg on fd, delivering its payload in a buffer taken from br
// (ENOBUFS when br has none free), until an error or a cancel ends it. The
// payload is truncated to what a buffer holds after the room a core.Ring
// leaves for the header, the sender and oobSpace bytes of control data.
func (m *Ring) RecvmsgMultishot(fd int, br *core.BufRing, oobSpace int, flags int, ctx core.Ctx) (core.Handle, error) {
	if br == nil || !m.ownsBufRing(br) {
		return core.Handle{}, core.ErrForeignTask
	}
	if oobSpace < 0 || core.RecvmsgRoom+oobSpace >= br.BufferSize() {
		return core.Handle{}, syscall.EINVAL
	}
	o := m.submit(core.OpRecvmsg, ctx)
	o.fd = fd
	o.br = br
	o.multishot = true
	o.oobSpace = oobSpace
	return o.task.Handle(), nil
}

// inputMsg completes a Recvmsg or a RecvmsgMultishot with scripted replies.
func (m *Ring) inputMsg(o *op) {
	for !o.done {
		r := m.peek(o.fd, core.OpRecvmsg)
		if r == nil {
			return
		}
		if !r.isMsg {
			if !o.multishot {
				m.input(o)
				return
			}
			// An error (or a plain result) ends a multishot receive.
			res := r.value()
			m.pop(o.fd, core.OpRecvmsg)
			m.postRes(o, res)
			return
		}
		c := cqe{recvmsg: true, peer: r.peer}
		var dst []byte
		oobRoom := len(o.oob)
		if o.multishot {
			// Without a buffer the datagram stays queued, as in the
			// socket, for the receive armed next.
			id, buf, ok := o.br.Take()
			if !ok || m.faults.inject(FaultNoBufs, o) {
				if ok {
					o.br.Recycle(id)
				}
				m.postRes(o, -int32(syscall.ENOBUFS))
				return
			}
			dst = buf[core.RecvmsgRoom+o.oobSpace:]
			oobRoom = o.oobSpace
			c.flags = core.CQEFlagBuffer | uint32(id)<<core.CQEBufferShift | m.multishotFlags(o, r)
			c.bufID, c.br = int32(id), o.br
		} else {
			dst = o.bufs[0]
		}
		rep := *r // pop clears the script's slot
		r = &rep
		m.pop(o.fd, core.OpRecvmsg)
		n := copy(dst, r.data)
		if n < len(r.data) {
			c.msgFlags |= msgTrunc
		}
		c.oob = slices.Clone(r.oob[:min(len(r.oob), oobRoom)])
		if len(r.oob) > oobRoom {
			c.msgFlags |= msgCtrunc
		}
		if !o.multishot && len(o.oob) > 0 {
			c.oob = o.oob[:copy(o.oob, r.oob)]
		}
		c.res = int32(n)
		if o.multishot {
			c.buf = dst[:n]
		}
		m.post(o, c)
		if !o.multishot {
			return
		}
	}
}

// The message flags a truncated receive reports, Linux's values, as a
// core.Ring reports them (package syscall lacks them on some platforms).
const (
	msgCtrunc = 0x8
	msgTrunc  = 0x20
)
