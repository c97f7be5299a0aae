//go:build linux

package uringnet

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// netFD is a socket whose I/O goes through the engine's ring: the shared
// part of Conn and Listener.
type netFD struct {
	e      *engine
	fd     int
	net    string
	laddr  net.Addr
	raddr  net.Addr
	closed atomic.Bool
	raw    atomic.Bool // SyscallConn or File was called: Reads always try the socket
	shared atomic.Bool // another descriptor shares the file description (file.go)
	// slot is the socket's place in the engine's epoll instance
	// (ready.go), or -1: written under e.mu before the socket is
	// published, or by Close holding both sides' mu; read under a side's.
	slot   int32
	dialed bool // made by a Dialer; set before the Conn is published
	//lint:ignore U1000 used by raceOrder in the race build only
	order  atomic.Uint32
	rd, wr side
	tmu    sync.Mutex // guards both sides' timers
	// beforeClose, set before the socket is published, runs in Close
	// once no operation of either side runs, before the descriptor is
	// closed: a UDP socket's multishot receive ends there (udpbatch.go).
	beforeClose func()
	// sys is held shared by calls that use the descriptor outside the ring
	// (socket options, shutdown, raw access) and exclusively by Close, so
	// Close never frees a descriptor number such a call is about to use.
	sys sync.RWMutex
}

// incref holds off Close while the descriptor is used outside the ring; it
// reports false once the descriptor is closed.
func (f *netFD) incref() bool {
	f.raceOrder()
	if f.closed.Load() {
		// Fail before queueing on sys: a call made inside a RawConn's
		// Control, which holds sys shared, while Close waits for it
		// exclusively would otherwise wait behind Close for good.
		return false
	}
	f.sys.RLock()
	if f.closed.Load() {
		f.sys.RUnlock()
		return false
	}
	return true
}

func (f *netFD) decref() { f.sys.RUnlock() }

func newFD(e *engine, fd int, network string) *netFD {
	f := &netFD{e: e, fd: fd, net: network, slot: -1}
	f.rd.op.e, f.wr.op.e = e, e
	f.rd.op.done.empty()
	f.wr.op.done.empty()
	f.rd.fd, f.wr.fd = f, f
	return f
}

// The operations a side runs.
const (
	kindRecv = iota
	kindSend
	kindAccept
	kindConnect
	kindPollIn
	kindPollOut
	kindSplice
	kindAcceptNoWait
	kindRecvmsg
	kindSendmsg
)

// args are an operation's operands; which ones count depends on its kind.
type args struct {
	buf []byte
	sa  unix.Sockaddr
	// A message's control data, and a sendmsg's destination in the
	// kernel's layout (toLen 0 for the socket's peer).
	oob   []byte
	to    *unix.RawSockaddrAny
	toLen uint32
	flags int // a recvmsg's flags beyond MSG_DONTWAIT
	// A splice moves n bytes from in (at off, or its position if off is
	// -1) to out.
	in, out int
	off     int64
	n       int
}

// cancel cancels the operation in flight on s, if any.
func (f *netFD) cancel(s *side) {
	f.e.mu.Lock()
	if s.detach() {
		f.e.mu.Unlock()
		return
	}
	s.cancelInFlight(f.e.ring)
	f.e.flush()
	f.e.mu.Unlock()
}

// do runs one operation on side s and waits for the kernel to finish with
// it, so the caller's buffer is free again whatever happened. A receive,
// send or accept that can finish at once runs directly (direct.go); a
// receive on a watched socket waits for readiness (ready.go); the rest run
// on the ring. The caller holds s.mu. It returns the kernel's result, or
// net.ErrClosed or os.ErrDeadlineExceeded. An operation cancelled by a
// deadline that has since been moved is resubmitted; a cancelled connect
// is reported as ECANCELED for the dialer to explain.
func (f *netFD) do(s *side, kind int, a args) (int32, error) {
	if kind == kindRecv && f.slot >= 0 {
		return f.readReady(s, a.buf)
	}
	if kind == kindSplice && s == &f.rd {
		// A splice reads past the side's readiness (readstate.go).
		s.markReady()
	}
	return f.onRing(s, kind, a)
}

// testHookDirectAttempt, when set by a test, runs before each of onRing's
// direct attempts.
var testHookDirectAttempt func(f *netFD, kind int)

// onRing runs do's operation on the ring, after a direct attempt.
func (f *netFD) onRing(s *side, kind int, a args) (int32, error) {
	e := f.e
	o := &s.op
	for {
		if f.closed.Load() {
			return 0, net.ErrClosed
		}
		if s.expired() {
			return 0, os.ErrDeadlineExceeded
		}
		// A receive here (a datagram socket's, or a stream socket's the
		// engine could not watch) has no readiness to say the socket is
		// empty, and a datagram read in ping-pong finds it empty every
		// time, so after a receive that waited the next goes to the ring
		// at once: a ring with no poller tries the socket as it
		// submits, in the one system call that would otherwise arm the
		// receive after a failed attempt. With a poller the submission
		// waits for it, so the attempt comes first.
		recv := kind == kindRecv || kind == kindRecvmsg
		if !recv || !s.ringFirst || e.polling.Load() {
			if testHookDirectAttempt != nil {
				testHookDirectAttempt(f, kind)
			}
			if res, ok := f.now(s, kind, a); ok {
				s.ringFirst = false
				return res, nil
			}
		}
		e.mu.Lock()
		if f.closed.Load() { // Close cancels under mu: check again there
			e.mu.Unlock()
			return 0, net.ErrClosed
		}
		ctx := opCtx(o)
		var h core.Handle
		var err error
		switch kind {
		case kindRecv:
			h, err = e.ring.Recv(f.fd, a.buf, 0, ctx)
		case kindSend:
			h, err = e.ring.Send(f.fd, a.buf, unix.MSG_NOSIGNAL, ctx)
		case kindAccept:
			h, err = e.ring.Accept(f.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, ctx)
		case kindAcceptNoWait:
			h, err = e.ring.AcceptNoWait(f.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, ctx)
		case kindConnect:
			h, err = e.ring.Connect(f.fd, a.sa, ctx)
		case kindPollIn:
			h, err = e.ring.Poll(f.fd, unix.POLLIN, ctx)
		case kindPollOut:
			h, err = e.ring.Poll(f.fd, unix.POLLOUT, ctx)
		case kindSplice:
			h, err = e.ring.Splice(a.in, a.off, a.out, -1, a.n, unix.SPLICE_F_MOVE, ctx)
		case kindRecvmsg:
			h, err = e.ring.Recvmsg(f.fd, a.buf, a.oob, a.flags, ctx)
		case kindSendmsg:
			h, err = e.ring.Sendmsg(f.fd, a.buf, a.oob, rawToSockaddr(a.to, a.toLen), unix.MSG_NOSIGNAL, ctx)
		}
		if err != nil {
			e.mu.Unlock()
			return 0, err
		}
		o.h, o.state = h, opRing
		e.flush()
		if o.state == opIdle { // the ring ran it as it was submitted
			e.mu.Unlock()
			o.done.take()
			s.ringFirst = false
		} else {
			s.ringFirst = recv
			// The deadline may have passed after the check above and
			// before the operation was in flight, when its timer found
			// nothing to cancel.
			if s.expired() {
				s.cancelInFlight(e.ring)
				e.flush()
			}
			e.wait(o)
		}
		res := o.res
		if res != -int32(unix.ECANCELED) || kind == kindConnect {
			return res, nil
		}
		if f.closed.Load() {
			return 0, net.ErrClosed
		}
		if s.expired() {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// Close cancels the operations in flight, waits until the kernel is done
// with them, and closes the socket.
func (f *netFD) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	f.e.mu.Lock()
	f.rd.detach()
	f.rd.cancelInFlight(f.e.ring)
	f.wr.cancelInFlight(f.e.ring)
	f.e.flush()
	f.e.mu.Unlock()
	// Each side's lock is held by an operation until its completion arrives.
	f.rd.mu.Lock()
	f.wr.mu.Lock()
	f.rd.stopTimer()
	f.wr.stopTimer()
	f.e.mu.Lock()
	f.e.unwatch(f)
	f.e.mu.Unlock()
	if f.beforeClose != nil {
		f.beforeClose()
	}
	f.sys.Lock()
	err := unix.Close(f.fd)
	f.sys.Unlock()
	f.rd.op.done.open()
	f.wr.op.done.open()
	f.wr.mu.Unlock()
	f.rd.mu.Unlock()
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// closedWait returns err, first waiting, if err says this socket is
// closed, until Close has closed it (wakeup.go). A call that failed on
// side s returns through it after releasing every side's lock. (An
// ErrClosed from another socket, a copy's other end, waits for nothing:
// this one's closed flag is not set, or its Close is under way and ends.)
func (f *netFD) closedWait(s *side, err error) error {
	if err != nil && f.closed.Load() && errors.Is(err, net.ErrClosed) {
		// The gate is the side's wakeup, which ops take under s.mu: a
		// call that found the socket closed without that lock (a
		// ReadFrom's early check, a copy's other end) passes through it
		// first, so no take of an op still finishing runs beside the
		// wait. None starts after it: the socket is closed.
		s.mu.Lock()
		//lint:ignore SA2001 the lock is the point: it waits out a take in progress
		s.mu.Unlock()
		s.op.done.waitOpen()
	}
	return err
}
