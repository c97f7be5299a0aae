package tlsdial

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
)

// ringConn is a net.Conn whose Read and Write are ring operations. It lets
// code that wants a blocking net.Conn (crypto/tls, net/http) run on any
// goroutine while every byte moves through the ring.
//
// Read and Write post a message to the ring (core.Runtime.Post); on the
// ring's goroutine the message submits Recv or Send on the caller's buffer,
// and the completion hands the result back over a per-direction channel that
// the caller waits on. The caller's buffer is therefore never used by the
// kernel after Read or Write returns, including on a deadline or Close.
// Steady-state operation allocates nothing: the messages carry the conn as
// userdata and the channels are reused.
//
// Deadlines are kept as atomics and armed on each operation with
// core.Handle.SetDeadline; a deadline moved earlier while an operation is
// pending is re-armed through the ring, and one moved later (or cleared)
// lets the old timer fire, after which the operation is resubmitted. Close
// cancels what is pending, waits for those completions, then closes the
// descriptor with a ring CloseFd.
//
// Fields marked "ring" are touched only on the ring's goroutine; the caller
// fills half.buf before posting, which Post's lock orders before the ring
// reads it.
type ringConn struct {
	rt    core.Runtime
	fd    int
	netw  string
	laddr net.Addr
	raddr net.Addr

	rd, wr half

	closed   atomic.Bool   // Close was called
	closedCh chan struct{} // closed once the descriptor is closed
	closeErr error         // set before closedCh is closed

	closing   bool // ring: no new operation may start on fd
	fdClosing bool // ring: CloseFd submitted
}

// half is one direction of a ringConn.
type half struct {
	mu       sync.Mutex // one caller at a time in this direction
	deadline atomic.Int64
	busy     atomic.Bool // an operation was posted and its result not yet taken
	res      chan ioResult

	buf     []byte      // set by the caller before posting
	n       int         // ring: bytes moved so far (Write loops on short sends)
	pending bool        // ring: an operation is in the kernel
	h       core.Handle // ring: that operation
	armed   int64       // ring: the deadline armed on it, 0 for none
}

type ioResult struct {
	n   int
	err error
}

// Messages a ringConn posts to its ring, and completion tags.
const (
	msgStartRead uint16 = iota
	msgStartWrite
	msgRearmRead
	msgRearmWrite
	msgClose
	msgRecvDone
	msgSendDone
	msgCloseDone
)

// newRingConn wraps the connected stream socket fd. It fails, leaving fd
// alone, if fd is not a connected socket.
func newRingConn(rt core.Runtime, fd int) (*ringConn, error) {
	netw, laddr, raddr, err := socketAddrs(fd)
	if err != nil {
		return nil, err
	}
	c := &ringConn{rt: rt, fd: fd, closedCh: make(chan struct{}), netw: netw, laddr: laddr, raddr: raddr}
	c.rd.res = make(chan ioResult, 1)
	c.wr.res = make(chan ioResult, 1)
	return c, nil
}

func (c *ringConn) LocalAddr() net.Addr  { return c.laddr }
func (c *ringConn) RemoteAddr() net.Addr { return c.raddr }

func (c *ringConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: c.netw, Source: c.laddr, Addr: c.raddr, Err: err}
}

// Read reads into b through a ring Recv. It returns io.EOF when the peer
// closed its side.
func (c *ringConn) Read(b []byte) (int, error) {
	c.rd.mu.Lock()
	defer c.rd.mu.Unlock()
	if c.closed.Load() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, err := c.do(&c.rd, b, msgStartRead)
	if err != nil && err != io.EOF {
		err = c.opErr("read", err)
	}
	return n, err
}

// Write writes all of b through ring Sends, looping on short sends.
func (c *ringConn) Write(b []byte) (int, error) {
	c.wr.mu.Lock()
	defer c.wr.mu.Unlock()
	if c.closed.Load() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, err := c.do(&c.wr, b, msgStartWrite)
	if err != nil {
		err = c.opErr("write", err)
	}
	return n, err
}

// do posts one operation on h and waits for its result.
func (c *ringConn) do(h *half, b []byte, msg uint16) (int, error) {
	if d := h.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
		return 0, os.ErrDeadlineExceeded
	}
	h.buf = b
	h.busy.Store(true)
	if err := c.rt.Post(core.Ctx{Callback: ringMsg, Userdata: c, Msg: msg}); err != nil {
		h.busy.Store(false)
		h.buf = nil
		return 0, err
	}
	r := <-h.res
	h.busy.Store(false)
	h.buf = nil
	return r.n, r.err
}

func (c *ringConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *ringConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(&c.rd, t, msgRearmRead)
}

func (c *ringConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(&c.wr, t, msgRearmWrite)
}

func (c *ringConn) setDeadline(h *half, t time.Time, msg uint16) error {
	if c.closed.Load() {
		return c.opErr("set", net.ErrClosed)
	}
	var d int64
	if !t.IsZero() {
		if d = t.UnixNano(); d == 0 {
			d = 1
		}
	}
	h.deadline.Store(d)
	// An operation that starts after this store arms the new deadline
	// itself; one already posted needs the ring to look again.
	if h.busy.Load() {
		if err := c.rt.Post(core.Ctx{Callback: ringMsg, Userdata: c, Msg: msg}); err != nil {
			return c.opErr("set", err)
		}
	}
	return nil
}

// Close cancels pending operations, waits until the kernel has finished with
// their buffers, and closes the descriptor through the ring. It blocks until
// the ring has run, so it must not be called on the ring's goroutine. A
// second Close waits for the first and reports net.ErrClosed.
func (c *ringConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		<-c.closedCh
		return c.opErr("close", net.ErrClosed)
	}
	if err := c.rt.Post(core.Ctx{Callback: ringMsg, Userdata: c, Msg: msgClose}); err != nil {
		// The ring is closed, and a closed ring holds no operation on fd.
		c.closeErr = c.opErr("close", errors.Join(err, os.NewSyscallError("close", closeFd(c.fd))))
		close(c.closedCh)
		return c.closeErr
	}
	<-c.closedCh
	return c.closeErr
}

// ringMsg runs a posted message on the ring's goroutine.
func ringMsg(rt core.Runtime, t *core.Task) error {
	c := core.UserdataAs[*ringConn](t)
	switch t.Msg {
	case msgStartRead:
		c.start(rt, &c.rd, false)
	case msgStartWrite:
		c.start(rt, &c.wr, true)
	case msgRearmRead:
		c.rearm(&c.rd)
	case msgRearmWrite:
		c.rearm(&c.wr)
	case msgClose:
		c.closing = true
		for _, h := range [2]*half{&c.rd, &c.wr} {
			if h.pending {
				if _, err := rt.Cancel(h.h, core.Ctx{}); err != nil {
					_, _ = rt.CancelFd(c.fd, core.Ctx{})
				}
			}
		}
		c.maybeCloseFd(rt)
	}
	return nil
}

func (c *ringConn) start(rt core.Runtime, h *half, write bool) {
	h.n = 0
	if c.closing {
		h.deliver(0, net.ErrClosed)
		return
	}
	c.submit(rt, h, write)
}

// submit hands the rest of h's operation to the kernel, with its deadline.
func (c *ringConn) submit(rt core.Runtime, h *half, write bool) {
	var hd core.Handle
	var err error
	if write {
		hd, err = rt.Send(c.fd, h.buf[h.n:], sendFlags, core.Ctx{Callback: ioDone, Userdata: c, Msg: msgSendDone})
	} else {
		hd, err = rt.Recv(c.fd, h.buf, 0, core.Ctx{Callback: ioDone, Userdata: c, Msg: msgRecvDone})
	}
	if err != nil {
		h.deliver(h.n, err)
		return
	}
	h.pending, h.h, h.armed = true, hd, 0
	if d := h.deadline.Load(); d != 0 {
		if hd.SetDeadline(time.Unix(0, d)) == nil {
			h.armed = d
		}
	}
}

// rearm applies a deadline that moved earlier to the pending operation. A
// deadline moved later or cleared needs nothing: if the old one fires, ioDone
// sees the deadline has not passed and resubmits.
func (c *ringConn) rearm(h *half) {
	if !h.pending {
		return
	}
	d := h.deadline.Load()
	if d == 0 || (h.armed != 0 && d >= h.armed) {
		return
	}
	if h.h.SetDeadline(time.Unix(0, d)) == nil {
		h.armed = d
	}
}

// ioDone completes a Recv or Send on the ring's goroutine.
func ioDone(rt core.Runtime, t *core.Task) error {
	c := core.UserdataAs[*ringConn](t)
	write := t.Msg == msgSendDone
	h := &c.rd
	if write {
		h = &c.wr
	}
	h.pending, h.h = false, core.Handle{}
	err := t.Err()
	switch {
	case err == nil && !write:
		if n := t.N(); n == 0 {
			h.deliver(0, io.EOF)
		} else {
			h.deliver(n, nil)
		}
	case err == nil:
		n := t.N()
		h.n += n
		switch {
		case h.n == len(h.buf):
			h.deliver(h.n, nil)
		case n == 0:
			h.deliver(h.n, io.ErrShortWrite)
		case c.closing:
			h.deliver(h.n, net.ErrClosed)
		default:
			c.submit(rt, h, true)
			return nil
		}
	case err == syscall.ECANCELED:
		switch d := h.deadline.Load(); {
		case c.closing:
			h.deliver(h.n, net.ErrClosed)
		case d != 0 && time.Now().UnixNano() >= d:
			h.deliver(h.n, os.ErrDeadlineExceeded)
		default:
			// A deadline that has since moved later fired: go on.
			c.submit(rt, h, write)
			return nil
		}
	default:
		op := "recv"
		if write {
			op = "send"
		}
		h.deliver(h.n, os.NewSyscallError(op, err))
	}
	c.maybeCloseFd(rt)
	return nil
}

func (h *half) deliver(n int, err error) {
	h.res <- ioResult{n: n, err: err}
}

// maybeCloseFd closes the descriptor once Close was asked for and no
// operation is left in the kernel.
func (c *ringConn) maybeCloseFd(rt core.Runtime) {
	if !c.closing || c.fdClosing || c.rd.pending || c.wr.pending {
		return
	}
	c.fdClosing = true
	if _, err := rt.CloseFd(c.fd, core.Ctx{Callback: closeDone, Userdata: c, Msg: msgCloseDone}); err != nil {
		c.finishClose(closeFd(c.fd))
	}
}

func closeDone(_ core.Runtime, t *core.Task) error {
	core.UserdataAs[*ringConn](t).finishClose(t.Err())
	return nil
}

func (c *ringConn) finishClose(err error) {
	if err != nil {
		c.closeErr = c.opErr("close", os.NewSyscallError("close", err))
	}
	close(c.closedCh)
}

var _ net.Conn = (*ringConn)(nil)
