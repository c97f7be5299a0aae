//go:build linux

package core

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	registerSendMsgRing = 31 // IORING_REGISTER_SEND_MSG_RING, Linux 6.13
	postFlag            = 1 << 62
)

// Post hands ctx to the ring from any goroutine: the ring's next Run calls
// ctx.Callback with Result.Op OpMessage, on the ring's own goroutine. It is
// how code that does not own the ring (a resolver goroutine, a handshake
// goroutine, a signal handler) gives it work, and it is the one Ring method
// that is safe for concurrent use.
//
// The message travels as a completion posted straight into the ring
// (IORING_REGISTER_SEND_MSG_RING, Linux 6.13) or, on older kernels, through a
// private sender ring with IORING_OP_MSG_RING. Run(UntilDone) does not wait
// for messages not yet posted.
func (r *Ring) Post(ctx Ctx) error {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	if r.inboxClosed {
		return ErrClosed
	}
	slot := r.posted.put(ctx)
	if r.ep != nil {
		r.ep.notify(cqe{userData: inboxFlag | postFlag | uint64(slot)})
		return nil
	}
	// The lock is held across the send so Close cannot close r.fd under it.
	if err := sendMsg(r.fd, inboxFlag|postFlag|uint64(slot)); err != nil {
		r.posted.take(slot)
		return err
	}
	return nil
}

// sendMsg posts a completion carrying ud into the ring whose fd is target.
func sendMsg(target int, ud uint64) error {
	if !blindMsgUnsupported.Load() {
		s := sqe{opcode: opMsgRing, fd: int32(target), addr: msgData, off: ud}
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, ^uintptr(0), registerSendMsgRing, uintptr(unsafe.Pointer(&s)), 1, 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINVAL:
			blindMsgUnsupported.Store(true)
		default:
			return errno
		}
	}
	return senderRing.send(target, ud)
}

// blindMsgUnsupported is set once the kernel refuses a blind MSG_RING.
var blindMsgUnsupported atomic.Bool

// senderRing is the fallback for kernels without blind MSG_RING: one small
// ring, shared by every poster under a mutex.
var senderRing sharedSender

type sharedSender struct {
	mu   sync.Mutex
	ring *Ring
	res  int32
}

func (s *sharedSender) send(target int, ud uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ring == nil {
		r, err := New(Options{Entries: 8})
		if err != nil {
			return err
		}
		s.ring = r
	}
	if !opSupported(OpMsgRing) {
		return &UnsupportedError{What: OpMsgRing.String()}
	}
	_, sq, err := s.ring.start(OpMsgRing, Ctx{Callback: s.done})
	if err != nil {
		return err
	}
	sq.opcode = opMsgRing
	sq.fd = int32(target)
	sq.addr = msgData
	sq.off = ud
	if err := s.ring.Run(UntilDone); err != nil {
		return err
	}
	if s.res < 0 {
		return unix.Errno(-s.res)
	}
	return nil
}

func (s *sharedSender) done(_ Runtime, t *Task) error {
	s.res = t.Result.Res
	return nil
}

// deliverPost runs a Ctx that Post sent here, with a task from this ring's
// pool.
func (r *Ring) deliverPost(slot int32, res int32) error {
	r.inboxMu.Lock()
	ctx, ok := r.posted.take(slot)
	r.inboxMu.Unlock()
	if !ok {
		r.stale++
		return nil
	}
	t := r.alloc()
	t.Callback, t.Userdata, t.Msg = ctx.Callback, ctx.Userdata, ctx.Msg
	return r.runMessage(t, res)
}
