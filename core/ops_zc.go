//go:build linux

package core

// Zero-copy sends: IORING_OP_SEND_ZC (Linux 6.0) and IORING_OP_SENDMSG_ZC
// (6.1). The kernel posts the send's result and, once the network stack
// has let go of the pages, a notification; a Ring delivers both to the
// one callback and holds the caller's memory until the second.

// SendZC sends buf with send(2) flags without copying it into the kernel
// where it can (IORING_OP_SEND_ZC): the network stack sends from buf's
// pages, so buf must stay unchanged until the send's last callback.
//
// The callback runs twice. First with the result, as Send's (a byte count,
// which may be short, or an error), with More true; then with the
// notification, Notif true, More false and a result of 0, after which the
// task is recycled. The caller must neither write to nor reuse buf before
// the notification: until then the kernel may still read it, even after a
// failed result. The task keeps buf reachable until then, so the garbage
// collector cannot free it. Handle.Live stays true until the notification.
// Ring.Close waits a second for it, running no callback, and then gives
// the send up, keeping buf referenced (see Close).
//
// Where the kernel lacks the operation, and on the epoll backend, a plain
// send stands in and the notification follows its result at once, so one
// code path serves both; ZeroCopy says which runs. The kernel sends
// without a copy only on sockets that support it (TCP and UDP): on others,
// such as Unix sockets, its result is EOPNOTSUPP, where a plain send
// standing in would send; use Send there. Sending without a copy pays off
// for large buffers on a device that can send from them; on loopback the
// kernel copies anyway.
func (r *Ring) SendZC(fd int, buf []byte, flags int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpSendZC, ctx)
	if err != nil {
		return Handle{}, err
	}
	if r.ZeroCopy(OpSendZC) {
		t.prepSend(s, opSendZC, fd, buf, flags)
		t.zc = zcKernel
	} else {
		t.prepSend(s, opSend, fd, buf, flags)
		t.zc = zcEmulated
	}
	return t.Handle(), nil
}

// SendmsgZC is Sendmsg without copying buf where the kernel can
// (IORING_OP_SENDMSG_ZC): it sends buf and the control data oob to sa, or
// to the socket's peer when sa is nil. Its callbacks are SendZC's, the
// result then the notification, and buf and oob must stay unchanged until
// the notification.
func (r *Ring) SendmsgZC(fd int, buf, oob []byte, sa Sockaddr, flags int, ctx Ctx) (Handle, error) {
	zc := r.ZeroCopy(OpSendmsgZC)
	opcode := uint8(opSendmsg)
	if zc {
		opcode = opSendmsgZC
	}
	t, h, err := r.sendmsg(OpSendmsgZC, opcode, fd, buf, oob, sa, flags, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.zc = zcEmulated
	if zc {
		t.zc = zcKernel
	}
	return h, nil
}

// ZeroCopy reports whether the zero-copy send op (OpSendZC or OpSendmsgZC)
// runs on this ring as the kernel's, sending from the caller's buffer,
// rather than as a plain send that copies it: false on the epoll backend
// and where the kernel lacks the operation. It is false for any other op.
func (r *Ring) ZeroCopy(op Op) bool { return r.ep == nil && kernelZeroCopy(op) }
