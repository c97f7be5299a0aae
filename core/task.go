package core

import (
	"syscall"
	"time"
)

// Callback is the one signature every completion runs with. rt is the runtime
// that completed the task (use it to submit follow-up work) and t is the task,
// whose Result holds the outcome. A non-nil error stops the Run that delivered
// the completion and is returned from it; the ring stays usable.
//
// t belongs to the runtime: it is recycled when the callback returns (after the
// final completion of a multishot operation), so a callback must not keep t or
// t.Result.Buf beyond its return.
type Callback func(rt Runtime, t *Task) error

// Ctx says what runs when a submission completes: the callback, the userdata
// it receives and a 16-bit message that lets one callback serve several
// purposes. A nil Callback means the completion is consumed silently.
type Ctx struct {
	// Callback runs on the runtime's goroutine when the operation
	// completes; nil consumes the completion silently.
	Callback Callback
	// Userdata is handed back as the task's Userdata (see UserdataAs).
	Userdata any
	// Msg is handed back as the task's Msg (see MsgAs).
	Msg uint16
}

// Task is one unit of work owned by a runtime. A submission method takes a
// Task from the runtime's pool, the kernel completes it, its Callback runs and
// the task returns to the pool. Tasks handed to MsgRing are filled by the
// caller through GetTask.
type Task struct {
	// Userdata is the caller's value, given back to the callback. Use
	// UserdataAs to recover its type.
	Userdata any
	// Callback runs on completion.
	Callback Callback
	// Msg is the caller's message; MsgAs converts it to the caller's enum.
	Msg uint16
	// Result is the outcome, valid inside the callback.
	Result Result

	rt    Runtime
	owner *Ring
	idx   uint32
	gen   uint32
	state taskState
	kind  internalKind

	next       *Task // free list
	remoteNext *Task // owner's remote free list

	// Memory the kernel reads or writes while the operation is in flight.
	// The task keeps it reachable until the final completion.
	buf    []byte
	bufs   [][]byte
	iovs   []iovec
	ts     timespec
	sa     RawSockaddrAny
	saLen  uint32
	path   []byte
	statx  *Statx
	group  *BufRing
	msg    *msghdr // a Sendmsg's or Recvmsg's header, made once and kept with the task
	oob    []byte  // control data a Recvmsg received, for OOB
	mflags int32   // a Recvmsg's message flags, for MsgFlags
	sqePos uint32  // index of the task's SQE in submission order
	target Handle  // for internal cancel / deadline tasks, or the task a MsgRing carries
	peer   *Ring   // the ring a MsgRing targets
	timer  Handle  // deadline timer watching this task
	link   Handle  // linked timeout bounding this task
	bufID  int32   // provided buffer held in Result.Buf, -1 if none
	slot   int32   // for a MsgRing task, the peer inbox slot its message fills
	linked bool    // a linked timeout follows the task's SQE
	zc     zcMode  // how a zero-copy send's notification comes
	ep     epTask  // the epoll backend's state while it performs the task
}

type taskState uint8

const (
	taskFree     taskState = iota
	taskReserved           // taken from the pool, or past its final completion
	taskInFlight
	taskHeld // reserved by GetTask and not yet handed to MsgRing
	// taskAbandoned: a zero-copy send whose ring closed before its
	// notification came; kept for the rest of the process (abandonedZC),
	// never live again.
	taskAbandoned
)

// zcMode says, for a zero-copy send, where its notification comes from.
// It is set when the send is prepared and read by the completion; the
// ring's goroutine owns it, as it owns the task.
type zcMode uint8

const (
	zcNone zcMode = iota // not a zero-copy send
	// The kernel sends without copying: its result comes with
	// IORING_CQE_F_MORE and a notification follows, unless the send
	// failed before it took the buffer.
	zcKernel
	// A plain send stands in (the epoll backend, a kernel without the
	// operation): the ring delivers the notification after the result.
	zcEmulated
)

type internalKind uint8

const (
	kindUser internalKind = iota
	kindLinkTimeout
	kindDeadlineTimer
	kindDeadlineCancel
	kindQuiet
)

// Result is the outcome of a completed task.
type Result struct {
	// Op is the operation that completed.
	Op Op
	// Res is the kernel's result: a count, a file descriptor, or a negated
	// errno. Prefer Err, N and Fd.
	Res int32
	// Flags are the completion's IORING_CQE_F_* flags.
	Flags uint32
	// Buf is the data a multishot receive placed in a provided buffer. It is
	// valid until the callback returns, unless TakeBuffer is called.
	Buf []byte
}

// Err returns the operation's error as a syscall.Errno, or nil. A timer that
// expired reports nil; a task whose deadline passed reports ECANCELED.
func (t *Task) Err() error {
	if t.Result.Res < 0 {
		return syscall.Errno(-t.Result.Res)
	}
	return nil
}

// N returns the byte count of a successful read, write, send or receive.
func (t *Task) N() int {
	if t.Result.Res < 0 {
		return 0
	}
	return int(t.Result.Res)
}

// Fd returns the file descriptor made by accept, socket or openat, or -1.
func (t *Task) Fd() int {
	if t.Result.Res < 0 {
		return -1
	}
	return int(t.Result.Res)
}

// More reports whether a multishot operation will complete again, or, in a
// zero-copy send's result, that its notification follows.
func (t *Task) More() bool { return t.Result.Flags&cqeFMore != 0 }

// Notif reports whether the completion is a zero-copy send's notification
// (SendZC, SendmsgZC): the last callback of the send, after which the
// buffers it was given are the caller's again.
func (t *Task) Notif() bool { return t.Result.Flags&cqeFNotif != 0 }

// Handle returns the handle of the task's current use.
func (t *Task) Handle() Handle { return Handle{task: t, gen: t.gen} }

// Statx returns the result of a Statx operation, valid inside the callback,
// or nil for any other operation.
func (t *Task) Statx() *Statx {
	if t.Result.Op != OpStatx {
		return nil
	}
	return t.statx
}

// RemoteSockaddr returns the peer address an Accept filled in, or the sender
// of a message a Recvmsg or RecvmsgMultishot received, as the kernel wrote
// it, valid inside the callback. AcceptMultishot reports no peer: it is zero
// there.
func (t *Task) RemoteSockaddr() *RawSockaddrAny { return &t.sa }

// OOB returns the control data (ancillary data, cmsgs) a Recvmsg or
// RecvmsgMultishot received, valid inside the callback.
func (t *Task) OOB() []byte { return t.oob }

// MsgFlags returns the flags of the message a Recvmsg or RecvmsgMultishot
// received (recvmsg(2)'s msg_flags): MSG_TRUNC when the payload did not fit,
// MSG_CTRUNC when the control data did not.
func (t *Task) MsgFlags() int { return int(t.mflags) }

// TakeBuffer keeps the provided buffer in Result.Buf out of the buffer ring
// after the callback returns. The caller owns the bytes until it passes the id
// to BufRing.Recycle. It returns ok false when the task holds no buffer.
// The bytes live in the buffer ring's memory, which Ring.Close unmaps: copy
// or recycle them before closing the ring.
func (t *Task) TakeBuffer() (buf []byte, id uint16, ok bool) {
	if t.bufID < 0 {
		return nil, 0, false
	}
	id = uint16(t.bufID)
	t.bufID = -1
	return t.Result.Buf, id, true
}

// UserdataAs returns t.Userdata as a T, or T's zero value if it holds
// something else.
func UserdataAs[T any](t *Task) T {
	v, _ := t.Userdata.(T)
	return v
}

// MsgAs returns t.Msg converted to the caller's message type.
func MsgAs[M ~uint16](t *Task) M { return M(t.Msg) }

// Handle names one use of a task: the submission that returned it. It stays
// safe to use after the task is recycled; it then refers to nothing and
// cancels nothing.
type Handle struct {
	task *Task
	gen  uint32
}

// Live reports whether the operation the handle names has not yet completed
// for the last time.
func (h Handle) Live() bool {
	return h.task != nil && h.task.gen == h.gen && h.task.state == taskInFlight
}

// Cancel asks the runtime to cancel the operation. ctx's callback receives the
// cancel's own result: nil, ENOENT when the operation already finished, or
// EALREADY when it could not be stopped. The cancelled operation completes
// with ECANCELED (or its own result if it won the race).
func (h Handle) Cancel(ctx Ctx) (Handle, error) {
	if h.task == nil {
		return Handle{}, ErrInvalidHandle
	}
	return h.task.rt.Cancel(h, ctx)
}

// SetDeadline bounds the operation: if it has not completed by d it is
// cancelled and completes with ECANCELED.
func (h Handle) SetDeadline(d time.Time) error {
	if h.task == nil {
		return ErrInvalidHandle
	}
	return h.task.rt.SetDeadline(h, d)
}

// userData is what the kernel carries for a task: the pool index and the
// generation, so a stale completion or cancel never reaches a recycled task.
func (h Handle) userData() uint64 {
	return uint64(h.gen&genMask)<<32 | uint64(h.task.idx)
}

const (
	genMask   = 1<<31 - 1
	inboxFlag = 1 << 63
)
