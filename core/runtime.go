package core

import "time"

// Runtime is the callback API. *Ring implements it on the kernel's io_uring;
// mock.Ring implements it with scripted results, so code written against
// Runtime is unit-tested without a kernel.
//
// Every submission takes a Ctx and returns a Handle that can cancel the
// operation or give it a deadline. Submissions are queued and reach the
// kernel on the next Run (or Submit).
type Runtime interface {
	// Nop completes at once with result 0.
	Nop(ctx Ctx) (Handle, error)
	// Timer completes after d.
	Timer(d time.Duration, ctx Ctx) (Handle, error)
	// TimerAt completes when the wall clock reaches when.
	TimerAt(when time.Time, ctx Ctx) (Handle, error)
	// Cancel cancels the operation h names.
	Cancel(h Handle, ctx Ctx) (Handle, error)
	// CancelFd cancels every operation on fd.
	CancelFd(fd int, ctx Ctx) (Handle, error)
	// CancelAll cancels every operation on the runtime.
	CancelAll(ctx Ctx) (Handle, error)
	// SetDeadline cancels the operation h names if it has not completed by
	// when; it then completes with ECANCELED.
	SetDeadline(h Handle, when time.Time) error

	// Accept accepts one connection on a listening socket; flags are
	// accept4 flags such as unix.SOCK_CLOEXEC. The task's Fd is the new
	// socket and RemoteSockaddr the peer.
	Accept(fd int, flags int, ctx Ctx) (Handle, error)
	// AcceptMultishot accepts connections until cancelled or failed, one
	// completion per connection; More reports whether more will follow.
	AcceptMultishot(fd int, flags int, ctx Ctx) (Handle, error)
	// Connect connects a socket to sa.
	Connect(fd int, sa Sockaddr, ctx Ctx) (Handle, error)
	// Recv receives into buf.
	Recv(fd int, buf []byte, flags int, ctx Ctx) (Handle, error)
	// RecvMultishot receives repeatedly into buffers taken from br, one
	// completion per receive with the data in Result.Buf; More reports
	// whether more will follow. A result of 0 is end of stream.
	RecvMultishot(fd int, br *BufRing, ctx Ctx) (Handle, error)
	// RecvMultishotLimit is RecvMultishot that ends, with the completion
	// that reaches it, once it has received limit bytes.
	RecvMultishotLimit(fd int, br *BufRing, limit uint32, ctx Ctx) (Handle, error)
	// Send sends buf; the result may be short.
	Send(fd int, buf []byte, flags int, ctx Ctx) (Handle, error)
	// SendZC sends buf without copying it where the kernel can. The
	// callback runs twice: with the result (More true), then with the
	// notification (Notif true), after which the runtime no longer uses
	// buf; the caller must not change or reuse buf before then.
	SendZC(fd int, buf []byte, flags int, ctx Ctx) (Handle, error)
	// SendmsgZC is Sendmsg without copying buf where the kernel can,
	// with SendZC's two callbacks; buf and oob stay the runtime's until
	// the notification.
	SendmsgZC(fd int, buf, oob []byte, sa Sockaddr, flags int, ctx Ctx) (Handle, error)
	// Sendmsg sends buf and the control data oob to sa, or to the
	// socket's peer when sa is nil.
	Sendmsg(fd int, buf, oob []byte, sa Sockaddr, flags int, ctx Ctx) (Handle, error)
	// Recvmsg receives one message into buf and its control data into
	// oob; the task's RemoteSockaddr is the sender, OOB the control data
	// and MsgFlags the message's flags (MSG_TRUNC: buf was short).
	Recvmsg(fd int, buf, oob []byte, flags int, ctx Ctx) (Handle, error)
	// RecvmsgMultishot receives messages repeatedly into buffers taken
	// from br, with room for oobSpace bytes of control data in each; each
	// completion's Result.Buf is a payload, with the sender, control data
	// and flags as for Recvmsg. More reports whether more will follow.
	RecvmsgMultishot(fd int, br *BufRing, oobSpace int, flags int, ctx Ctx) (Handle, error)
	// Read reads into buf at offset off, or at the file position if off is -1.
	Read(fd int, buf []byte, off int64, ctx Ctx) (Handle, error)
	// Write writes buf at offset off, or at the file position if off is -1.
	Write(fd int, buf []byte, off int64, ctx Ctx) (Handle, error)
	// Readv reads into bufs in order.
	Readv(fd int, bufs [][]byte, off int64, ctx Ctx) (Handle, error)
	// Writev writes bufs in order.
	Writev(fd int, bufs [][]byte, off int64, ctx Ctx) (Handle, error)
	// Splice moves n bytes from fdIn to fdOut, one of which is a pipe; an
	// offset of -1 means the descriptor's own position.
	Splice(fdIn int, offIn int64, fdOut int, offOut int64, n int, flags uint32, ctx Ctx) (Handle, error)
	// CloseFd closes fd.
	CloseFd(fd int, ctx Ctx) (Handle, error)
	// Poll completes once fd has one of events (unix.POLLIN, ...); the
	// result is the ready mask.
	Poll(fd int, events uint32, ctx Ctx) (Handle, error)
	// PollMultishot completes each time fd becomes ready, until cancelled.
	PollMultishot(fd int, events uint32, ctx Ctx) (Handle, error)
	// Socket creates a socket; the task's Fd is the new socket.
	Socket(domain, typ, proto int, ctx Ctx) (Handle, error)
	// Shutdown shuts down part of a full-duplex connection.
	Shutdown(fd int, how int, ctx Ctx) (Handle, error)
	// Openat opens path relative to dirfd (unix.AT_FDCWD for the working
	// directory); the task's Fd is the new descriptor.
	Openat(dirfd int, path string, flags int, mode uint32, ctx Ctx) (Handle, error)
	// Statx fills the task's Statx with the file's status.
	Statx(dirfd int, path string, flags int, mask uint32, ctx Ctx) (Handle, error)

	// GetTask reserves a task for MsgRing. Fill its Callback, Userdata and
	// Msg, then pass it to MsgRing.
	GetTask() *Task
	// MsgRing hands task to target, whose Run calls task's callback with
	// Result.Op OpMessage. ctx's callback runs here once the message is
	// posted.
	MsgRing(target Runtime, task *Task, ctx Ctx) (Handle, error)
	// Post hands ctx to the runtime from any goroutine; the runtime's Run
	// calls ctx.Callback with Result.Op OpMessage. Post is safe for
	// concurrent use.
	Post(ctx Ctx) error
	// NewBufRing creates a ring of count provided buffers of size bytes
	// each, registered under group id group, for RecvMultishot.
	NewBufRing(group uint16, count uint16, size int) (*BufRing, error)

	// Run submits queued work and runs completions as mode says.
	Run(mode RunMode) error
}

var _ Runtime = (*Ring)(nil)
