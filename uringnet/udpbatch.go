//go:build linux

package uringnet

import (
	"net"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// ReadBatch: datagrams received by a multishot recvmsg on the ring.
//
// A UDP socket's first ReadBatch arms one multishot recvmsg
// (core.RecvmsgMultishot) into a buffer ring of the socket's own, and from
// then on the kernel receives each datagram as it arrives, with no system
// call of ours, into a buffer it takes from that ring. The completions run
// on the engine's poller and queue the datagrams; a ReadBatch takes what is
// queued, copies it into the caller's messages and gives the buffers back.
// With none queued it parks (opBatch, readstate.go) until a completion
// wakes it. A receive that ends (the ring ran dry while the queue held its
// buffers, or an error) is armed again by the next ReadBatch; an error it
// ended with is that ReadBatch's.
//
// Owner rules. Every field of batchReader is guarded by the engine's mu,
// under which the completions run; the buffers of taken datagrams belong
// to the ReadBatch that took them, which holds the read side's lock, until
// it recycles them under mu. The buffer ring outlives the receive: Close
// frees it after the socket is closed, so after every ReadBatch has left,
// once the receive's last completion has run.

const (
	// batchBuffers is how many datagrams the kernel can hold for
	// ReadBatch before the receive ends for want of buffers.
	batchBuffers = 32
	// batchOOB is the room for control data in each buffer.
	batchOOB = 128
	// batchBufferSize fits the kernel's header, a sockaddr, the control
	// data and the largest UDP payload, so no datagram is cut short
	// here. The memory is mapped, not touched: a datagram costs the
	// pages it fills.
	batchBufferSize = 17 * 4096
)

// batchReader is a UDP socket's multishot receive and what it has queued.
type batchReader struct {
	e  *engine
	br *core.BufRing
	h  core.Handle
	// armed: the receive is in flight; closing: Close is done with the
	// socket and the receive's last completion frees br.
	armed, closing bool
	queue          []batchMsg // received, not yet taken
	err            int32      // the error that ended the receive, for the next ReadBatch
	waiter         *op        // a ReadBatch parked in opBatch, or nil
	group          uint16
	ended          chan struct{} // closed by the receive's last completion once Close waits for it
}

// batchMsg is one queued datagram; data and oob lie in buffer id.
type batchMsg struct {
	id    uint16
	data  []byte
	oob   []byte
	from  unix.RawSockaddrAny
	flags int
}

// batchDone is the multishot receive's completion callback; it runs under
// the engine's mu.
func batchDone(_ core.Runtime, t *core.Task) error {
	b := core.UserdataAs[*batchReader](t)
	res := t.Result.Res
	if res >= 0 {
		if _, id, ok := t.TakeBuffer(); ok {
			b.queue = append(b.queue, batchMsg{id: id, data: t.Result.Buf, oob: t.OOB(), from: *t.RemoteSockaddr(), flags: t.MsgFlags()})
		}
	} else if res != -int32(unix.ENOBUFS) && res != -int32(unix.ECANCELED) {
		b.err = res
	}
	if !t.More() {
		b.armed = false
		if b.closing {
			b.free()
			if b.ended != nil {
				close(b.ended)
			}
		}
	}
	if w := b.waiter; w != nil && w.state == opBatch && (len(b.queue) > 0 || !b.armed) {
		b.waiter = nil
		b.e.endWait(w, 0)
	}
	return nil
}

// free releases the buffer ring and its group id. The caller holds e.mu,
// and the receive has ended.
func (b *batchReader) free() {
	if b.br == nil {
		return
	}
	b.queue = nil
	b.e.ring.FreeBufRing(b.br)
	b.br = nil
	b.e.freeGroups = append(b.e.freeGroups, b.group)
}

// newBatchReader makes a socket's buffer ring. The caller holds e.mu.
func (e *engine) newBatchReader() (*batchReader, error) {
	var group uint16
	if n := len(e.freeGroups); n > 0 {
		group = e.freeGroups[n-1]
		e.freeGroups = e.freeGroups[:n-1]
	} else {
		e.nextGroup++
		group = e.nextGroup
	}
	br, err := e.ring.NewBufRing(group, batchBuffers, batchBufferSize)
	if err != nil {
		e.freeGroups = append(e.freeGroups, group)
		return nil, err
	}
	return &batchReader{e: e, br: br, group: group}, nil
}

// ReadBatch reads up to len(ms) datagrams, waiting for the first, as
// (*ipv4.PacketConn).ReadBatch does (golang.org/x/net/ipv4: ipv4.Message
// and ipv6.Message are one type), so that a QUIC stack such as quic-go,
// which uses a conn's ReadBatch when it has one, receives through the ring:
// each message gets the datagram in Buffers[0] (N bytes), its control data
// in OOB (NN bytes), the sender as a *net.UDPAddr in Addr and the message's
// flags (MSG_TRUNC when Buffers[0] was short, MSG_CTRUNC when OOB was) in
// Flags. A message's Buffers beyond the first are not filled. flags must be
// 0. Deadlines and Close apply as to other reads. From the first ReadBatch
// on, the socket's other reads take their datagrams from the same receive,
// so the order holds whichever reads them.
func (c *UDPConn) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	if flags != 0 {
		return 0, c.readErr(syscall.EINVAL)
	}
	if len(ms) == 0 {
		return 0, nil
	}
	c.fd.raceOrder()
	defer c.fd.raceOrder()
	s := &c.fd.rd
	s.mu.Lock()
	n, err := c.readBatch(s, ms)
	s.mu.Unlock()
	if err != nil {
		return n, c.readErr(c.fd.closedWait(s, err))
	}
	return n, nil
}

// readBatch is ReadBatch with the read side's lock held.
func (c *UDPConn) readBatch(s *side, ms []ipv4.Message) (int, error) {
	e := c.fd.e
	o := &s.op
	for {
		if c.fd.closed.Load() {
			return 0, net.ErrClosed
		}
		if s.expired() {
			return 0, os.ErrDeadlineExceeded
		}
		e.mu.Lock()
		if c.fd.closed.Load() {
			e.mu.Unlock()
			return 0, net.ErrClosed
		}
		b := c.batch
		if b == nil {
			var err error
			if b, err = e.newBatchReader(); err != nil {
				e.mu.Unlock()
				return 0, err
			}
			c.batch = b
			c.batchOn.Store(true)
		}
		if len(b.queue) > 0 {
			k := min(len(ms), len(b.queue))
			c.taken = append(c.taken[:0], b.queue[:k]...)
			b.queue = append(b.queue[:0], b.queue[k:]...)
			e.mu.Unlock()
			for i := range c.taken {
				fillMessage(&ms[i], &c.taken[i])
			}
			e.mu.Lock()
			for i := range c.taken {
				b.br.Recycle(c.taken[i].id)
				c.taken[i] = batchMsg{}
			}
			e.mu.Unlock()
			return k, nil
		}
		if res := b.err; res != 0 {
			b.err = 0
			e.mu.Unlock()
			return 0, os.NewSyscallError("recvmsg", syscall.Errno(-res))
		}
		if !b.armed {
			h, err := e.ring.RecvmsgMultishot(c.fd.fd, b.br, batchOOB, 0, core.Ctx{Callback: batchDone, Userdata: b})
			if err != nil {
				e.mu.Unlock()
				return 0, err
			}
			b.h, b.armed = h, true
		}
		if s.expired() {
			e.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		o.state = opBatch
		b.waiter = o
		e.flush()
		if o.state != opBatch {
			// The receive ran as it was submitted, and its completions
			// ended the wait before this ReadBatch parked: endWait left
			// it owed a wake-up that it no longer needs.
			o.owed = false
			e.mu.Unlock()
			continue
		}
		e.wait(o)
	}
}

// fillMessage copies a queued datagram into m.
func fillMessage(m *ipv4.Message, d *batchMsg) {
	m.N, m.NN, m.Flags, m.Addr = 0, 0, d.flags, nil
	if len(m.Buffers) > 0 {
		m.N = copy(m.Buffers[0], d.data)
	}
	if m.N < len(d.data) {
		m.Flags |= unix.MSG_TRUNC
	}
	m.NN = copy(m.OOB, d.oob)
	if m.NN < len(d.oob) {
		m.Flags |= unix.MSG_CTRUNC
	}
	if ap := senderAddrPort(&d.from); ap.IsValid() {
		m.Addr = udpAddr(ap)
	}
}

// batched reports whether ReadBatch has armed the socket's multishot
// receive, whose queue every read then takes from.
func (c *UDPConn) batched() bool { return c.batchOn.Load() }

// stopBatch ends the socket's multishot receive and waits for its last
// completion, so that Close closes a descriptor the kernel no longer holds
// (the port is free when Close returns, as in package net), then frees the
// buffer ring. It runs inside Close, once no ReadBatch runs. The receive's
// completions reach batchDone through whoever runs the ring: the poller,
// or with none, this goroutine.
func (c *UDPConn) stopBatch() {
	e := c.fd.e
	e.mu.Lock()
	b := c.batch
	if b == nil {
		e.mu.Unlock()
		return
	}
	b.closing = true
	if !b.armed {
		b.free()
		e.mu.Unlock()
		return
	}
	b.ended = make(chan struct{})
	for {
		if _, err := e.ring.Cancel(b.h, core.Ctx{}); err == nil {
			break
		}
		// No room on the ring for the cancel: let it drain, and again.
		e.flush()
		e.mu.Unlock()
		runtime.Gosched()
		e.mu.Lock()
	}
	e.flush()
	ended := b.ended
	e.mu.Unlock()
	// The cancel's completions may come a moment after the submission
	// (the kernel's task work): with no poller to run them, run the ring
	// here until they have.
	for {
		select {
		case <-ended:
			return
		case <-time.After(time.Millisecond):
		}
		e.mu.Lock()
		if !e.polling.Load() {
			e.ring.Run(core.NoWait)
		}
		e.mu.Unlock()
	}
}
