//go:build !linux

package core

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// This file is the Ring off Linux. io_uring is a Linux interface, so no
// ring can exist here: New returns an error matching errors.ErrUnsupported,
// and every method of Ring and Thread exists, so that code written for
// Linux compiles unchanged, and reports the same error. The rest of the
// package (Task, Handle, Runtime, BufRing, the errors) works on every
// platform, which is what runtimes such as mock.Ring build on.

// errNoRing is what New, and everything that would open or use a ring,
// returns off Linux.
var errNoRing = fmt.Errorf("ourio: io_uring needs Linux, and this is %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)

// Ring is one io_uring instance on Linux. Off Linux none can be created:
// New returns an error matching errors.ErrUnsupported, and the methods,
// which exist so that the same code compiles everywhere, return it too.
type Ring struct {
	_ [0]func() // no ring exists off Linux
}

// The kernel-facing memory a Task declares. Off Linux no kernel sees it.
type (
	timespec struct{ sec, nsec int64 }
	iovec    struct{}
	msghdr   struct{}
)

// New creates a ring on Linux. Off Linux it returns an error matching
// errors.ErrUnsupported that says io_uring needs Linux.
func New(opts Options) (*Ring, error) { return nil, errNoRing }

// Supported reports whether the running kernel can perform op: never off
// Linux.
func Supported(op Op) bool { return false }

// InitChild creates a ring sharing r's worker pool on Linux; off Linux it
// returns New's error.
func (r *Ring) InitChild(opts Options) (*Ring, error) { return nil, errNoRing }

// SpawnThread starts a child ring on its own thread on Linux; off Linux it
// returns New's error.
func (r *Ring) SpawnThread(opts Options, init func(child *Ring) error) (*Thread, error) {
	return nil, errNoRing
}

// Fd returns the ring's descriptor on Linux; off Linux it returns -1.
func (r *Ring) Fd() int { return -1 }

// PollableFd returns a descriptor that polls readable when completions
// wait, on Linux; off Linux it returns New's error.
func (r *Ring) PollableFd() (int, error) { return -1, errNoRing }

// Active returns how many submitted tasks await their final completion:
// none off Linux.
func (r *Ring) Active() int { return 0 }

// SingleIssuer reports whether the ring runs in single-issuer mode: false
// off Linux.
func (r *Ring) SingleIssuer() bool { return false }

// Allowed reports whether the ring may run op: false off Linux.
func (r *Ring) Allowed(op Op) bool { return false }

// Restricted reports whether the ring runs under Options.Restrict: false
// off Linux.
func (r *Ring) Restricted() bool { return false }

// Ready reports whether completions wait for Run: false off Linux.
func (r *Ring) Ready() bool { return false }

// Close releases the ring on Linux; off Linux it returns New's error.
func (r *Ring) Close() error { return errNoRing }

// Run runs completions on Linux; off Linux it returns New's error.
func (r *Ring) Run(mode RunMode) error { return errNoRing }

// Submit publishes prepared operations on Linux; off Linux it returns New's
// error.
func (r *Ring) Submit() error { return errNoRing }

// Post hands ctx to the ring on Linux; off Linux it returns New's error.
func (r *Ring) Post(ctx Ctx) error { return errNoRing }

// GetTask reserves a task for MsgRing on Linux; off Linux it returns nil.
func (r *Ring) GetTask() *Task { return nil }

// MsgRing hands task to target on Linux; off Linux it returns New's error.
func (r *Ring) MsgRing(target Runtime, task *Task, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// FreeBufRing releases a registered buffer ring on Linux; off Linux it
// returns New's error.
func (r *Ring) FreeBufRing(br *BufRing) error { return errNoRing }

// NewBufRing creates a registered buffer ring on Linux; off Linux it
// returns New's error (NewUnregisteredBufRing works everywhere).
func (r *Ring) NewBufRing(group uint16, count uint16, size int) (*BufRing, error) {
	return nil, errNoRing
}

// Nop is Runtime.Nop; off Linux it returns New's error.
func (r *Ring) Nop(ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// Timer is Runtime.Timer; off Linux it returns New's error.
func (r *Ring) Timer(d time.Duration, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// TimerAt is Runtime.TimerAt; off Linux it returns New's error.
func (r *Ring) TimerAt(when time.Time, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// Cancel is Runtime.Cancel; off Linux it returns New's error.
func (r *Ring) Cancel(h Handle, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// CancelFd is Runtime.CancelFd; off Linux it returns New's error.
func (r *Ring) CancelFd(fd int, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// CancelAll is Runtime.CancelAll; off Linux it returns New's error.
func (r *Ring) CancelAll(ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// SetDeadline is Runtime.SetDeadline; off Linux it returns New's error.
func (r *Ring) SetDeadline(h Handle, when time.Time) error { return errNoRing }

// Accept is Runtime.Accept; off Linux it returns New's error.
func (r *Ring) Accept(fd int, flags int, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// AcceptNoWait is an Accept that never waits, on Linux; off Linux it
// returns New's error.
func (r *Ring) AcceptNoWait(fd int, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// AcceptMultishot is Runtime.AcceptMultishot; off Linux it returns New's
// error.
func (r *Ring) AcceptMultishot(fd int, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Connect is Runtime.Connect; off Linux it returns New's error.
func (r *Ring) Connect(fd int, sa Sockaddr, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// Recv is Runtime.Recv; off Linux it returns New's error.
func (r *Ring) Recv(fd int, buf []byte, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// RecvMultishot is Runtime.RecvMultishot; off Linux it returns New's error.
func (r *Ring) RecvMultishot(fd int, br *BufRing, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// RecvMultishotLimit is Runtime.RecvMultishotLimit; off Linux it returns
// New's error.
func (r *Ring) RecvMultishotLimit(fd int, br *BufRing, limit uint32, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Send is Runtime.Send; off Linux it returns New's error.
func (r *Ring) Send(fd int, buf []byte, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// SendZC is Runtime.SendZC; off Linux it returns New's error.
func (r *Ring) SendZC(fd int, buf []byte, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// SendmsgZC is Runtime.SendmsgZC; off Linux it returns New's error.
func (r *Ring) SendmsgZC(fd int, buf, oob []byte, sa Sockaddr, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// ZeroCopy reports whether the zero-copy send op runs as the kernel's:
// false off Linux.
func (r *Ring) ZeroCopy(op Op) bool { return false }

// Read is Runtime.Read; off Linux it returns New's error.
func (r *Ring) Read(fd int, buf []byte, off int64, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Write is Runtime.Write; off Linux it returns New's error.
func (r *Ring) Write(fd int, buf []byte, off int64, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Readv is Runtime.Readv; off Linux it returns New's error.
func (r *Ring) Readv(fd int, bufs [][]byte, off int64, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Writev is Runtime.Writev; off Linux it returns New's error.
func (r *Ring) Writev(fd int, bufs [][]byte, off int64, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Splice is Runtime.Splice; off Linux it returns New's error.
func (r *Ring) Splice(fdIn int, offIn int64, fdOut int, offOut int64, n int, flags uint32, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// CloseFd is Runtime.CloseFd; off Linux it returns New's error.
func (r *Ring) CloseFd(fd int, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// Poll is Runtime.Poll; off Linux it returns New's error.
func (r *Ring) Poll(fd int, events uint32, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// PollMultishot is Runtime.PollMultishot; off Linux it returns New's error.
func (r *Ring) PollMultishot(fd int, events uint32, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Sendmsg is Runtime.Sendmsg; off Linux it returns New's error.
func (r *Ring) Sendmsg(fd int, buf, oob []byte, sa Sockaddr, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Recvmsg is Runtime.Recvmsg; off Linux it returns New's error.
func (r *Ring) Recvmsg(fd int, buf, oob []byte, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// RecvmsgMultishot is Runtime.RecvmsgMultishot; off Linux it returns New's
// error.
func (r *Ring) RecvmsgMultishot(fd int, br *BufRing, oobSpace int, flags int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Socket is Runtime.Socket; off Linux it returns New's error.
func (r *Ring) Socket(domain, typ, proto int, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Shutdown is Runtime.Shutdown; off Linux it returns New's error.
func (r *Ring) Shutdown(fd int, how int, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// Openat is Runtime.Openat; off Linux it returns New's error.
func (r *Ring) Openat(dirfd int, path string, flags int, mode uint32, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Statx is Runtime.Statx; off Linux it returns New's error.
func (r *Ring) Statx(dirfd int, path string, flags int, mask uint32, ctx Ctx) (Handle, error) {
	return Handle{}, errNoRing
}

// Thread is a child ring on its own OS thread, on Linux. Off Linux none can
// be started (SpawnThread fails); the methods exist so that the same code
// compiles everywhere.
type Thread struct {
	_ [0]func()
}

// Ring returns the thread's ring: nil off Linux.
func (th *Thread) Ring() *Ring { return nil }

// Send hands task to the thread on Linux; off Linux it returns New's error.
func (th *Thread) Send(task *Task, ctx Ctx) (Handle, error) { return Handle{}, errNoRing }

// Stop ends the thread on Linux; off Linux it returns New's error.
func (th *Thread) Stop() error { return errNoRing }

// Done returns a channel that receives the thread's final error; off Linux
// it is nil, as no thread runs.
func (th *Thread) Done() <-chan error { return nil }

// epTask is the epoll backend's per-task state on Linux; empty elsewhere.
type epTask struct{}

// Backend returns the backend a ring runs on; off Linux no ring runs and it
// returns BackendAuto.
func (r *Ring) Backend() Backend { return BackendAuto }

// IOURingError returns why io_uring was refused on Linux; off Linux it
// returns New's error.
func (r *Ring) IOURingError() error { return errNoRing }
