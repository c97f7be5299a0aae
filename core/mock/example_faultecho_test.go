package mock_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"syscall"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
)

// echoServer is application code written only against core.Runtime: it
// accepts connections with a multishot accept and echoes every byte each
// connection sends, receiving with multishot receives into one buffer ring.
// It must survive what a kernel may do: short sends, receives that end
// without More or with ENOBUFS, resets, completions in any order, and a
// cancel that cannot stop its operation.
type echoServer struct {
	lfd         int
	acceptFlags int // accept4's flags: SOCK_CLOEXEC on a kernel ring
	sendFlags   int // send's flags: MSG_NOSIGNAL on a kernel ring
	br          *core.BufRing
	accept      core.Handle
	stopping    bool // Stop was called: the accept is being cancelled
	stopped     bool // the accept ended and the listener is closed
	conns       map[int]*echoConn
	served      int // connections closed
	completions int // callbacks run, to bound a run that never ends
	met         echoStats
	err         error
}

// echoStats counts the hard cases the server met.
type echoStats struct {
	NoBufs, RecvEnded, ShortSends, SendErrors, CancelRetries int
}

// echoConn is one connection. One send is in flight at a time: inflight
// holds its bytes, which stay untouched until it completes, while what
// arrives meanwhile is queued in out.
type echoConn struct {
	s        *echoServer
	fd       int
	recv     core.Handle
	receive  bool // a receive is in flight (a handle is still live in its final callback)
	out      []byte
	inflight []byte
	sending  bool
	eof      bool // the receive side ended: end of stream or an error
	broken   bool // a send failed: what is left to send is dropped
	closing  bool
}

type echoMsg uint16

const (
	echoAccept echoMsg = iota
	echoCancel
	echoClose
	echoRecv
	echoSend
	echoCloseConn
)

// maxCompletions bounds a run: a server that loops without end (resubmitting
// a receive that never progresses, say) fails instead of hanging.
const maxCompletions = 1_000_000

var errRunaway = errors.New("echo server: too many completions")

func (s *echoServer) ctx(msg echoMsg) core.Ctx {
	return core.Ctx{Callback: echoCallback, Userdata: s, Msg: uint16(msg)}
}

func (c *echoConn) ctx(msg echoMsg) core.Ctx {
	return core.Ctx{Callback: echoCallback, Userdata: c, Msg: uint16(msg)}
}

// Start creates the buffer ring and accepts connections.
func (s *echoServer) Start(rt core.Runtime) error {
	br, err := rt.NewBufRing(1, 8, 128)
	if err != nil {
		return err
	}
	s.br, s.conns = br, make(map[int]*echoConn)
	return s.acceptMore(rt)
}

func (s *echoServer) acceptMore(rt core.Runtime) error {
	h, err := rt.AcceptMultishot(s.lfd, s.acceptFlags, s.ctx(echoAccept))
	s.accept = h
	return err
}

// Stop cancels the accept; the listener is closed once it has ended.
func (s *echoServer) Stop(rt core.Runtime) error {
	s.stopping = true
	if !s.accept.Live() {
		return nil
	}
	_, err := s.accept.Cancel(s.ctx(echoCancel))
	return err
}

func echoCallback(rt core.Runtime, t *core.Task) error {
	msg := core.MsgAs[echoMsg](t)
	if msg >= echoRecv {
		c := core.UserdataAs[*echoConn](t)
		if c.s.completions++; c.s.completions > maxCompletions {
			return errRunaway
		}
		return c.callback(rt, t, msg)
	}
	s := core.UserdataAs[*echoServer](t)
	if s.completions++; s.completions > maxCompletions {
		return errRunaway
	}
	switch msg {
	case echoAccept:
		if err := t.Err(); err != nil {
			if !errors.Is(err, syscall.ECANCELED) {
				s.err = err
			}
			s.stopping = true
			_, err := rt.CloseFd(s.lfd, s.ctx(echoClose))
			return err
		}
		c := &echoConn{s: s, fd: t.Fd()}
		s.conns[c.fd] = c
		if err := c.startRecv(rt); err != nil {
			return err
		}
		if !t.More() {
			// The accept ended although it succeeded: accept on.
			if s.stopping {
				_, err := rt.CloseFd(s.lfd, s.ctx(echoClose))
				return err
			}
			return s.acceptMore(rt)
		}
	case echoCancel:
		// EALREADY: the accept could not be stopped yet; try again.
		// ENOENT: it had ended already.
		if errors.Is(t.Err(), syscall.EALREADY) && s.accept.Live() {
			s.met.CancelRetries++
			_, err := s.accept.Cancel(s.ctx(echoCancel))
			return err
		}
	case echoClose:
		s.stopped = true
		return t.Err()
	}
	return nil
}

func (c *echoConn) startRecv(rt core.Runtime) error {
	h, err := rt.RecvMultishot(c.fd, c.s.br, c.ctx(echoRecv))
	c.recv, c.receive = h, err == nil
	return err
}

func (c *echoConn) callback(rt core.Runtime, t *core.Task, msg echoMsg) error {
	switch msg {
	case echoRecv:
		c.receive = t.More()
		switch err := t.Err(); {
		case errors.Is(err, syscall.ENOBUFS):
			// Every buffer was taken; the callbacks have given them
			// back by now.
			c.s.met.NoBufs++
			return c.startRecv(rt)
		case err != nil:
			c.eof = true // a reset, or the receive was cancelled
		case t.N() == 0:
			c.eof = true
		default:
			c.out = append(c.out, t.Result.Buf...)
			if !t.More() {
				c.s.met.RecvEnded++
				if err := c.startRecv(rt); err != nil {
					return err
				}
			}
			if err := c.flush(rt); err != nil {
				return err
			}
		}
	case echoSend:
		c.sending = false
		if t.Err() == nil && t.N() < len(c.inflight) {
			c.s.met.ShortSends++
		}
		if t.Err() != nil {
			c.s.met.SendErrors++
			// The peer is gone: drop the rest and stop receiving.
			c.broken, c.inflight, c.out = true, nil, nil
			if c.receive {
				if _, err := c.recv.Cancel(core.Ctx{}); err != nil {
					return err
				}
			}
		} else if c.inflight = c.inflight[t.N():]; len(c.inflight) == 0 {
			c.inflight = nil
		}
		if err := c.flush(rt); err != nil {
			return err
		}
	case echoCloseConn:
		delete(c.s.conns, c.fd)
		c.s.served++
		return t.Err()
	}
	return c.maybeClose(rt)
}

// flush sends what is left of the send in flight, or else what is queued.
func (c *echoConn) flush(rt core.Runtime) error {
	if c.sending || c.broken {
		return nil
	}
	if len(c.inflight) == 0 {
		if len(c.out) == 0 {
			return nil
		}
		c.inflight, c.out = c.out, nil
	}
	c.sending = true
	_, err := rt.Send(c.fd, c.inflight, c.s.sendFlags, c.ctx(echoSend))
	return err
}

// maybeClose closes the connection once the receive has ended and every
// byte is sent (or the peer is gone), with no operation left on it.
func (c *echoConn) maybeClose(rt core.Runtime) error {
	done := c.broken || len(c.out) == 0 && len(c.inflight) == 0
	if c.closing || !c.eof || c.receive || c.sending || !done {
		return nil
	}
	c.closing = true
	_, err := rt.CloseFd(c.fd, c.ctx(echoCloseConn))
	return err
}

// echoFaultRun runs the echo server on a mock with random faults from
// seed: a few connections, each sending random bytes in random pieces and
// then closing, or resetting, its side. It returns the first broken
// promise: a byte not echoed or echoed wrong, a descriptor left open, an
// operation left pending, or a run that does not end. It also returns the
// hard cases the server met.
func echoFaultRun(m *mock.Ring, seed uint64) (echoStats, error) {
	s := &echoServer{lfd: 3}
	err := s.faultRun(m, seed)
	return s.met, err
}

func (s *echoServer) faultRun(m *mock.Ring, seed uint64) error {
	if err := m.SetFaults(mock.Faults{
		Seed: seed, ShortRecv: 0.3, ShortSend: 0.3, Reset: 0.005, NoBufs: 0.05,
		EndMultishot: 0.1, Reorder: 0.5, CancelRace: 0.5,
	}); err != nil {
		return err
	}
	// The workload has its own generator, so that it does not change
	// with the faults drawn.
	rng := rand.New(rand.NewPCG(seed, 1))
	lfd := s.lfd
	m.RegisterFd(lfd)
	input := map[int][]byte{}
	peerReset := map[int]bool{}
	for i := range 1 + rng.IntN(4) {
		fd := 10 + i
		m.Script(lfd, core.OpAccept, mock.Accepted(fd, netip.MustParseAddrPort("127.0.0.1:40000")))
		data := make([]byte, rng.IntN(3000))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		input[fd] = data
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(700))
			m.Script(fd, core.OpRecv, mock.Data(rest[:n]))
			rest = rest[n:]
		}
		if rng.IntN(8) == 0 {
			peerReset[fd] = true
			m.Script(fd, core.OpRecv, mock.ConnReset())
		} else {
			m.Script(fd, core.OpRecv, mock.EOF())
		}
	}

	if err := s.Start(m); err != nil {
		return err
	}
	if err := m.Run(core.UntilDone); err != nil {
		return err
	}
	if err := s.Stop(m); err != nil {
		return err
	}
	if err := m.Run(core.UntilDone); err != nil {
		return err
	}

	for _, f := range m.Injected() {
		if f.Kind == mock.FaultReset {
			peerReset[f.Fd] = true
		}
	}
	for fd, want := range input {
		got := m.Sent(fd)
		switch {
		case peerReset[fd] && !bytes.HasPrefix(want, got):
			return fmt.Errorf("fd %d, reset: echoed %d bytes that are not what it sent", fd, len(got))
		case !peerReset[fd] && !bytes.Equal(got, want):
			return fmt.Errorf("fd %d: echoed %d bytes for %d sent", fd, len(got), len(want))
		}
	}
	switch {
	case s.err != nil:
		return s.err
	case s.served != len(input) || !s.stopped:
		return fmt.Errorf("served %d of %d connections, stopped %v", s.served, len(input), s.stopped)
	case m.Active() != 0:
		return fmt.Errorf("%d operations still pending", m.Active())
	}
	return m.Verify()
}

// Example_echoServerUnderFaults runs a callback echo server through many
// random-fault runs. Each seed gives one reproducible run; in a test, run
// each seed as a subtest named after it, so that a failure names the seed
// and -run replays it.
func Example_echoServerUnderFaults() {
	const seeds = 200
	for seed := range uint64(seeds) {
		if _, err := echoFaultRun(mock.New(nil), seed); err != nil {
			fmt.Printf("seed %d: %v\n", seed, err)
			return
		}
	}
	fmt.Printf("%d seeds: every byte echoed\n", seeds)
	// Output: 200 seeds: every byte echoed
}
