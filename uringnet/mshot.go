package uringnet

import (
	"errors"
	"net"
	"os"
	"sync"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// A Read of at most one provided buffer that has to wait while another
// goroutine polls the engine arms a multishot receive on the socket, and
// the receive stays armed across Reads: the
// kernel receives each arrival into a buffer of the engine's buffer ring
// and posts it, and Reads take the bytes from the connection's queue of
// such buffers. A request-response connection then costs no receive system
// call and no submission per message, where a Read that arms a receive of
// its own costs a failed recvfrom, a submission and the receive's poll
// arming each time, and a Read interrupted by its deadline costs nothing:
// the receive stays armed for the next one.
//
// The queue is bounded: the receive ends in the kernel after msLimit bytes
// and is armed again only by a Read that finds the queue empty, so the
// socket's own buffer, and TCP's window, push back on a sender its reader
// does not keep up with, and no connection holds more than msLimit (and a
// buffer) of the engine's buffers. Engines use multishot receives only where
// the kernel keeps that limit (probeRecvLimit). When the ring runs dry
// anyway, as some 57 stalled readers can make it, the receive ends with
// ENOBUFS and the next Read that waits receives into its own buffer, as a
// Read larger than a provided buffer always does, after cancelling an armed
// receive whose queue is empty.
//
// While a multishot receive is armed or its queue holds bytes, every read
// on the side goes through the queue, so bytes keep their order; a splice
// or a raw read cancels the receive and waits for its end first.

const (
	msBufSize  = 4096          // a provided buffer: net/http's and bufio's read size
	msBufCount = 512           // provided buffers per engine
	msLimit    = 8 * msBufSize // bytes one arming of a receive takes, passed by less than a buffer
)

// msGroup is the buffer group id of an engine's buffer ring.
const msGroup = 1

// multishotRecv reports whether engines arm multishot receives; setting
// OURIO_RECV_MULTISHOT=0 in the environment turns them off, so that each
// waiting Read receives into its own buffer.
func multishotRecv() bool { return os.Getenv("OURIO_RECV_MULTISHOT") != "0" }

// multishotAlways reports whether OURIO_RECV_MULTISHOT=always asks for
// multishot receives even where a Read would poll for itself, which tests
// use to run every Read through them.
func multishotAlways() bool { return os.Getenv("OURIO_RECV_MULTISHOT") == "always" }

// chunk is a provided buffer that holds received bytes no Read has taken.
type chunk struct {
	id  uint16
	buf []byte // the bytes not yet taken
}

// mshot is a side's multishot receive and its queue. Its fields are guarded
// by the engine's mu.
type mshot struct {
	h          core.Handle
	armed      bool // the kernel's receive is live
	cancelling bool
	q          []chunk
	// The receive ended with EOF or an error, which the next Read that
	// finds the queue empty reports: endRes as Read's result.
	ended  bool
	endRes int32
	nobufs bool // it ended for want of a provided buffer
}

// on reports whether reads must go through the queue.
func (m *mshot) on() bool { return m.armed || len(m.q) > 0 || m.ended }

// useMultishot reports whether a Read into b that has to wait arms a
// multishot receive.
func (f *netFD) useMultishot(s *side, b []byte) bool {
	return f.e.bufs != nil && len(b) <= msBufSize && !s.orphan && !f.raw.Load()
}

// errHeldForRead is a raw Read's error while bytes already received wait
// for the next Read.
var errHeldForRead = errors.New("uringnet: bytes already received wait for the next Read; a raw read would miss them")

// settleReads ends the side's multishot receive and orphaned receive, if
// any, for a raw read, and reports errHeldForRead if they hold bytes. The
// caller holds s.mu.
func (f *netFD) settleReads(s *side) error {
	if s.msOn {
		f.settleMS(s)
	}
	if s.orphan {
		f.settle(s)
	}
	if s.holds() {
		return errHeldForRead
	}
	return nil
}

// msDone is the multishot receive's completion callback. It runs under the
// engine's mu.
func msDone(_ core.Runtime, t *core.Task) error {
	s := core.UserdataAs[*side](t)
	m := &s.ms
	res := t.Result.Res
	if res > 0 {
		s.queue(t)
	}
	if !t.More() {
		m.armed, m.cancelling = false, false
		switch {
		case res == -int32(unix.ENOBUFS):
			m.nobufs = true
		case res == -int32(unix.ECANCELED), res > 0:
		default:
			m.ended, m.endRes = true, res
		}
	}
	// Wake the Read waiting on the queue, unless a deadline has already
	// sent it away (detach).
	o := &s.op
	if o.inflight && o.ms && !o.detached {
		o.inflight = false
		o.e.wake(o)
	}
	return nil
}

// queue keeps the buffer a completion of the side's receive brought. It is
// apart from msDone so that msDone's frame, on the poller's stack, stays
// small.
//
//go:noinline
func (s *side) queue(t *core.Task) {
	if buf, id, ok := t.TakeBuffer(); ok {
		s.ms.q = append(s.ms.q, chunk{id: id, buf: buf})
		s.op.e.lent++
	}
}

// cancel asks the kernel to end the receive; its last completion follows.
func (m *mshot) cancel(r *core.Ring) {
	if m.armed && !m.cancelling {
		if _, err := r.Cancel(m.h, core.Ctx{}); err == nil {
			m.cancelling = true
		}
	}
}

// recycle gives a provided buffer back to the kernel. The caller holds
// e.mu.
func (e *engine) recycle(id uint16) {
	e.bufs.Recycle(id)
	e.lent--
}

// take copies queued bytes into b and gives emptied buffers back to the
// kernel.
func (m *mshot) take(e *engine, b []byte) int32 {
	n := 0
	i := 0
	for ; i < len(m.q) && n < len(b); i++ {
		c := &m.q[i]
		k := copy(b[n:], c.buf)
		n += k
		if k < len(c.buf) {
			c.buf = c.buf[k:]
			break
		}
		e.recycle(c.id)
	}
	if i > 0 {
		rest := copy(m.q, m.q[i:])
		clear(m.q[rest:])
		m.q = m.q[:rest]
	}
	return int32(n)
}

// drop gives every queued buffer back to the kernel.
func (m *mshot) drop(e *engine) {
	for _, c := range m.q {
		e.recycle(c.id)
	}
	clear(m.q)
	m.q = m.q[:0]
	m.ended = false
}

// readMS runs a Read into b on the side's multishot receive, arming it if
// needed. The caller holds s.mu. handled is false when the Read should
// receive into b itself instead: the receive cannot be armed for want of
// buffers, or b is larger than a provided buffer and nothing is queued.
//
// It and what it calls while waiting keep their frames small: the Read's
// goroutine parks at the bottom of this chain, and a chain deeper than
// its goroutine's first stack doubles the stack of every idle connection.
func (f *netFD) readMS(s *side, b []byte) (res int32, handled bool, err error) {
	e := f.e
	m := &s.ms
	e.mu.Lock()
	handled = true
loop:
	for {
		switch {
		case f.closed.Load():
			err = net.ErrClosed
			break loop
		case len(m.q) > 0:
			res = m.take(e, b)
			break loop
		case m.ended:
			m.ended = false
			res = m.endRes
			break loop
		case len(b) > msBufSize:
			handled = false // a large Read receives into its own buffer
			break loop
		case s.expired():
			err = os.ErrDeadlineExceeded
			break loop
		case !m.armed && m.nobufs:
			m.nobufs = false // this Read receives into b; the next tries again
			handled = false
			break loop
		case !m.armed && !e.polling && !e.msAlways:
			// A Read that would poll for itself receives into its own
			// buffer. The kernel runs a receive's completion work on the
			// thread that submitted it: this one, about to park in the
			// netpoller, so a lone connection's round trip wakes one
			// thread. A multishot receive's stays on the thread that
			// armed it, wherever that thread is by then.
			handled = false
			break loop
		case !m.armed:
			if err = f.armMS(s); err != nil {
				break loop
			}
		}
		if e.waitQueue(&s.op) && s.expired() {
			// Sent away by its deadline; one moved since, whose timer
			// had already fired, lets the wait go on.
			err = os.ErrDeadlineExceeded
			break
		}
	}
	s.msOn = m.on()
	e.mu.Unlock()
	if !handled && s.msOn {
		f.settleMS(s)
	}
	return res, handled, err
}

// throughQueue runs a Read on the side's multishot receive, for do. done
// is false when readMS declined the Read, which then receives into its
// own buffer: *plain is set so that do does not offer it again. When bytes
// came in as the receive ended, it takes them instead.
func (f *netFD) throughQueue(s *side, b []byte, plain *bool) (res int32, done bool, err error) {
	for {
		res, handled, err := f.readMS(s, b)
		if handled {
			return res, true, err
		}
		*plain = true
		if !s.msOn {
			return 0, false, nil
		}
	}
}

// armMS arms the side's multishot receive. The caller holds e.mu.
//
//go:noinline
func (f *netFD) armMS(s *side) error {
	h, err := f.e.ring.RecvMultishotLimit(f.fd, f.e.bufs, msLimit, core.Ctx{Callback: msDone, Userdata: s})
	if err == nil {
		s.ms.h, s.ms.armed = h, true
	}
	return err
}

// waitQueue waits until the side's multishot receive completes again, and
// reports whether a deadline sent the wait away first. The caller holds
// e.mu, as it does again on return.
func (e *engine) waitQueue(o *op) (detached bool) {
	o.inflight, o.ms = true, true
	e.flush()
	if o.inflight {
		e.wait(o)
		e.mu.Lock()
	} else {
		<-o.done // it ran as it was submitted
	}
	detached = o.detached
	o.ms, o.detached, o.inflight = false, false, false
	return detached
}

// settleMS ends the side's multishot receive, if armed, and waits for its
// last completion, for a read that does not go through the queue (a
// splice, a raw read, a large Read) and for Close. Queued bytes stay for
// the next Read. The caller holds s.mu.
func (f *netFD) settleMS(s *side) {
	e := f.e
	m := &s.ms
	e.mu.Lock()
	for m.armed {
		m.cancel(e.ring)
		e.waitQueue(&s.op)
	}
	s.msOn = m.on()
	e.mu.Unlock()
}

// recvLimitWorks runs probeRecvLimit on the first engine's fresh ring and
// gives every later engine its answer: the limit is the kernel's.
func recvLimitWorks(r *core.Ring, br *core.BufRing) bool {
	recvLimit.once.Do(func() { recvLimit.ok = probeRecvLimit(r, br) })
	return recvLimit.ok
}

var recvLimit struct {
	once sync.Once
	ok   bool
}

// probeRecvLimit reports whether the kernel ends a limited multishot
// receive at its limit: it arms one for a byte on a socket pair that holds
// two. A kernel that predates the limit fails the receive with EINVAL, or
// might ignore it, and without it a connection's receive would take all a
// sender sends, however far behind its reader is. It runs on a ring nobody
// uses yet.
func probeRecvLimit(r *core.Ring, br *core.BufRing) bool {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if _, err := unix.Write(fds[1], []byte("ab")); err != nil {
		return false
	}
	got, ended := 0, false
	_, err = r.RecvMultishotLimit(fds[0], br, 1, core.Ctx{Callback: func(_ core.Runtime, t *core.Task) error {
		got += len(t.Result.Buf)
		ended = !t.More() || t.Result.Res < 0
		if t.Result.Res < 0 {
			got = -1
		}
		return nil
	}})
	if err != nil {
		return false
	}
	// The bytes are there, so the first completion comes at once.
	for got == 0 && !ended {
		if err := r.Run(core.Once); err != nil {
			return false
		}
	}
	if !ended {
		// Still armed after its limit: the kernel ignored it.
		r.CancelAll(core.Ctx{})
		r.Run(core.UntilDone)
		return false
	}
	return got > 0
}
