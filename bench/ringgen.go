package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// ringGen is the echo load generator on Ourio's own ring: every connection
// of a run on one core.Ring, driven from one locked OS thread through one
// callback, with no goroutine per connection. Each connection is the same
// closed loop as package net's client: send a message, wait for the whole
// echo, record the round trip if it began and ended in the measured window,
// send the next. The send and the receive for the echo are queued together,
// so one io_uring_enter carries both; short sends and short receives are
// resubmitted for the rest.
//
// Only the ring's thread touches the connections and the histogram; the
// goroutine that runs the load reads done, sets the phase and Posts the
// stop.
type ringGen struct {
	ring  *core.Ring
	cb    core.Callback // g.callback bound once: a method value per Ctx allocates
	phase *atomic.Int32
	base  time.Time // round trips are monotonic times since base
	conns []*ringConn
	hist  histogram
	done  atomic.Uint64 // messages echoed in any phase, for the syscall pass

	busy     int  // connections with a message in flight
	stopping bool // the stop was posted; connections finish and go idle

	exit chan error // the ring thread's error, once it has closed the ring
}

// ringConn is one connection's state in the closed loop.
type ringConn struct {
	fd   int
	msg  []byte
	buf  []byte
	seq  uint64 // messages sent, stamped into msg so a stale echo shows
	sent int    // bytes of msg the kernel has taken
	got  int    // bytes of the echo received
	t0   time.Duration
	ph0  int32 // the phase when the message was sent
}

// Messages tell the generator's one callback what completed.
const (
	genSend uint16 = iota
	genRecv
	genStop    // posted when the measured window (and syscall pass) ends
	genTimeout // the stop's grace period ran out
)

// stopGrace is how long a connection may take to finish its message in
// flight once the run stops, as the net generator's deadlines allow.
const stopGrace = 2 * time.Second

// checkEvery is how often, in messages per connection, the echoed bytes
// are compared with the message; the sequence number stamped into the
// first bytes is checked on every message.
const checkEvery = 16

// errServerClosed is a connection's end of stream in the middle of a run.
var errServerClosed = errors.New("server closed the connection")

// startRingGen dials l.conns connections with package net, takes their
// descriptors and starts the generator's thread, which begins every
// connection's first message at once in whatever phase is current.
func startRingGen(l load, phase *atomic.Int32) (*ringGen, error) {
	g := &ringGen{phase: phase, base: time.Now(), exit: make(chan error, 1)}
	g.cb = g.callback
	closeFds := func() {
		for _, c := range g.conns {
			unix.Close(c.fd)
		}
	}
	for range l.conns {
		fd, err := dialFd(l.dialNetwork(), l.addr)
		if err != nil {
			closeFds()
			return nil, err
		}
		c := &ringConn{fd: fd, msg: make([]byte, l.size), buf: make([]byte, l.size)}
		for j := range c.msg {
			c.msg[j] = byte(j)
		}
		g.conns = append(g.conns, c)
	}
	ready := make(chan error, 1)
	go func() {
		err := g.loop(ready)
		closeFds()
		g.exit <- err
	}()
	if err := <-ready; err != nil {
		<-g.exit
		return nil, err
	}
	return g, nil
}

// dialFd connects to addr on network with package net and returns a
// blocking duplicate of the socket, the connection itself closed.
func dialFd(network, addr string) (int, error) {
	conn, err := net.Dial(network, addr)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, dupErr := -1, error(nil)
	if err := raw.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("dup: %w", dupErr)
	}
	// The duplicate shares package net's file status: the ring waits for
	// readiness itself, so the socket need not be non-blocking.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// ringEntries sizes the submission queue for a send and a receive per
// connection in one batch, within the kernel's limit.
func ringEntries(conns int) uint32 {
	n := uint32(1) << bits.Len(uint(2*conns+16))
	return min(max(n, 256), 32768)
}

// loop is the generator's thread: it creates the ring there, reports on
// ready, and runs completions until every connection has gone idle after
// the stop or one has failed. It closes the ring, which cancels whatever
// is still in flight, before returning.
func (g *ringGen) loop(ready chan<- error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ring, err := core.New(core.Options{Entries: ringEntries(len(g.conns)), SingleIssuer: true})
	if err != nil {
		ready <- err
		return err
	}
	g.ring = ring
	for _, c := range g.conns {
		if err := g.begin(ring, c); err != nil {
			ring.Close()
			ready <- err
			return err
		}
	}
	ready <- nil
	for g.busy > 0 {
		if err = ring.Run(core.Once); err != nil {
			break
		}
	}
	if cerr := ring.Close(); err == nil {
		err = cerr
	}
	return err
}

// now is the monotonic time since the generator started.
func (g *ringGen) now() time.Duration { return time.Since(g.base) }

// begin sends c's next message and queues the receive for its echo, unless
// the run is stopping, when c goes idle.
func (g *ringGen) begin(rt core.Runtime, c *ringConn) error {
	ph := g.phase.Load()
	if ph == phaseStop || g.stopping {
		return nil
	}
	g.busy++
	c.seq++
	stamp(c.msg, c.seq)
	c.sent, c.got = 0, 0
	c.ph0, c.t0 = ph, g.now()
	if _, err := rt.Send(c.fd, c.msg, unix.MSG_NOSIGNAL, core.Ctx{Callback: g.cb, Userdata: c, Msg: genSend}); err != nil {
		return err
	}
	_, err := rt.Recv(c.fd, c.buf, 0, core.Ctx{Callback: g.cb, Userdata: c, Msg: genRecv})
	return err
}

// stamp writes the low bytes of seq over the first bytes of msg.
func stamp(msg []byte, seq uint64) {
	for i := 0; i < len(msg) && i < 8; i++ {
		msg[i] = byte(seq >> (8 * i))
	}
}

func (g *ringGen) callback(rt core.Runtime, t *core.Task) error {
	switch t.Msg {
	case genStop:
		g.stopping = true
		_, err := rt.Timer(stopGrace, core.Ctx{Callback: g.cb, Msg: genTimeout})
		return err
	case genTimeout:
		return fmt.Errorf("%d of %d connections still waiting for an echo %s after the stop", g.busy, len(g.conns), stopGrace)
	}
	c := core.UserdataAs[*ringConn](t)
	if err := t.Err(); err != nil {
		return fail(t.Msg, err)
	}
	switch t.Msg {
	case genSend:
		if t.N() == 0 {
			return fail(t.Msg, errors.New("sent nothing"))
		}
		if c.sent += t.N(); c.sent < len(c.msg) {
			_, err := rt.Send(c.fd, c.msg[c.sent:], unix.MSG_NOSIGNAL, core.Ctx{Callback: g.cb, Userdata: c, Msg: genSend})
			return err
		}
	case genRecv:
		if t.N() == 0 {
			return fail(t.Msg, errServerClosed)
		}
		if c.got += t.N(); c.got < len(c.buf) {
			_, err := rt.Recv(c.fd, c.buf[c.got:], 0, core.Ctx{Callback: g.cb, Userdata: c, Msg: genRecv})
			return err
		}
	}
	if c.sent < len(c.msg) || c.got < len(c.buf) {
		return nil // the other half is still in flight
	}
	return g.finish(rt, c)
}

// finish ends c's message once it is sent and its whole echo received:
// it checks the echo, records the round trip and begins the next.
func (g *ringGen) finish(rt core.Runtime, c *ringConn) error {
	d := g.now() - c.t0
	n := min(len(c.buf), 8)
	if !bytes.Equal(c.buf[:n], c.msg[:n]) || (c.seq%checkEvery == 1 && !bytes.Equal(c.buf, c.msg)) {
		return fail(genRecv, fmt.Errorf("echo of message %d differs from what was sent", c.seq))
	}
	g.busy--
	g.done.Add(1)
	// Count only messages that began and ended inside the window.
	if c.ph0 == phaseMeasure && g.phase.Load() == phaseMeasure {
		g.hist.record(d)
	}
	return g.begin(rt, c)
}

// fail names the operation whose completion ended the run.
func fail(msg uint16, err error) error {
	op := "send"
	if msg == genRecv {
		op = "receive"
	}
	return fmt.Errorf("%s: %w", op, err)
}

// echoed reports the messages echoed so far, in any phase.
func (g *ringGen) echoed() uint64 { return g.done.Load() }

// stop ends the run: each connection finishes its message in flight and
// goes idle, a server that stopped answering is given stopGrace, and the
// ring is closed. It returns the round trips measured, or the first error.
func (g *ringGen) stop() (histogram, error) {
	// The phase is already past the window; the post wakes a thread that
	// waits on a server that has gone quiet. ErrClosed means the thread
	// has already finished.
	postErr := g.ring.Post(core.Ctx{Callback: g.cb, Msg: genStop})
	if errors.Is(postErr, core.ErrClosed) {
		postErr = nil
	}
	err := <-g.exit
	if err == nil {
		err = postErr
	}
	if err != nil {
		return histogram{}, fmt.Errorf("ring generator: %w", err)
	}
	return g.hist, nil
}
