//go:build linux

package uringnet

import (
	"net"
	"os"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// A Read that has to wait submits nothing to the kernel until its socket
// has data. Each connection engine watches its sockets with an epoll
// instance of its own (edge-triggered), which also watches the ring's fd,
// and the poller waits for that epoll fd in Go's netpoller. When sockets
// become readable the poller submits a receive for each waiting Read in one
// system call; the data is there, so each receive completes as it is
// submitted (MSG_DONTWAIT: never armed in the kernel), and the poller wakes
// the Reads.
//
// A receive armed in the kernel before its data arrived has its
// completion work run on the thread that submitted it, which the kernel
// wakes for it. Go's threads sleep in
// futexes when their P has no work, so arrivals woke sleeping threads only
// to receive and to wake the netpoller's: under net/http keep-alive (wrk
// -c64), 15,000 task-work wake-ups in 3 s, a tenth of all requests, and
// context switches took 9 points more of the server's cycles than package
// net's (perf). Readiness wakes what package net wakes, the netpoller, once
// per batch, and receiving stays on the ring.
//
// A Read skips the direct attempt when its last receive left the socket
// empty and no readiness has arrived since: a keep-alive connection's
// Reads then cost no failed recvfrom. The socket is edge-triggered, so new
// data always brings a new event, which marks the side readable (rsReady)
// or submits the waiting Read's receive (readstate.go).
//
// A Read waiting for readiness holds nothing in the kernel, so a deadline
// or Close sends it away at once (detach).
//
// A Read with no poller on its engine becomes the poller and waits for
// readiness like any other: a receive armed on the ring instead would have
// its completion work run on whichever thread submitted it, which in a busy
// process is seldom the one asleep in the netpoller, and which, while it
// runs Go code, runs no task work (COOP_TASKRUN): echo at one connection
// woke 2.5 threads per message that way, 1.7 on readiness, package net
// 1.6. The poller parks on the ring's fd while only operations on the
// ring wait (Writes, Accepts); a Read that registers for readiness kicks it
// onto the epoll fd.

// watchEvents are a connection socket's epoll events. EPOLLPRI reports TCP
// urgent data, at whose mark a read stops short with bytes still queued.
const watchEvents = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLRDHUP | unix.EPOLLET

// ringToken is the epoll data of the ring's own fd.
const ringToken = -1

// epollCreate is a variable so that tests can play a process that cannot
// create an epoll instance.
var epollCreate = unix.EpollCreate1

// startEpoll gives the engine its epoll instance, watching the ring's fd,
// and returns the fd the poller waits for.
func (e *engine) startEpoll(ringFd int) (int, error) {
	ep, err := epollCreate(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("epoll_create1", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: ringToken}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ringFd, &ev); err != nil {
		unix.Close(ep)
		return -1, os.NewSyscallError("epoll_ctl", err)
	}
	e.ep = ep
	e.events = make([]unix.EpollEvent, 128)
	return ep, nil
}

// watch adds a connection's socket to the engine's epoll instance. A socket
// it cannot add keeps receives on the ring.
func (e *engine) watch(f *netFD) {
	if e.ep < 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var slot int32
	if n := len(e.free); n > 0 {
		slot = e.free[n-1]
		e.free = e.free[:n-1]
	} else {
		slot = int32(len(e.socks))
		e.socks = append(e.socks, nil)
		e.gens = append(e.gens, 0)
	}
	ev := unix.EpollEvent{Events: watchEvents, Fd: slot, Pad: int32(e.gens[slot])}
	f.rd.markReady()
	if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_ADD, f.fd, &ev); err != nil {
		e.free = append(e.free, slot)
		return
	}
	e.socks[slot] = f
	f.slot = slot
}

// unwatch forgets a closing connection's slot; closing the socket removes
// it from the epoll instance, unless another descriptor keeps the socket
// open (file.go), when the registration would outlive the connection and
// its events wake the poller for nothing. Events still queued for the slot
// carry the old generation and are ignored. The caller holds e.mu.
func (e *engine) unwatch(f *netFD) {
	if f.slot < 0 {
		return
	}
	if f.shared.Load() {
		unix.EpollCtl(e.ep, unix.EPOLL_CTL_DEL, f.fd, nil)
	}
	e.socks[f.slot] = nil
	e.gens[f.slot]++
	e.free = append(e.free, f.slot)
	f.slot = -1
}

// harvest collects the epoll events that are ready, without waiting, and
// reports whether there is anything for the poller to do. It is the
// poller's test of the netpoller's wait on the epoll fd (epRc.Read), so it
// runs every time the poller is about to park there and every time it
// wakes: RawRead clears the fd's readiness before its first test, so the
// last harvest before a park must follow that reset, or an event arriving
// between the two would find its wake-up cleared.
func (e *engine) harvest() bool {
	if e.ep >= 0 && e.nev == 0 {
		n, _ := unix.EpollWait(e.ep, e.events, 0)
		if n > 0 {
			e.nev = n
		}
	}
	return e.nev > 0 || e.ring.Ready()
}

// dispatch hands the harvested events to their sockets: a waiting Read
// gets its receive submitted, any other socket is marked readable. The
// caller holds e.mu; the next Run submits the receives.
func (e *engine) dispatch() {
	for e.nev > 0 {
		for _, ev := range e.events[:e.nev] {
			if ev.Fd == ringToken || int(ev.Fd) >= len(e.socks) || e.gens[ev.Fd] != uint32(ev.Pad) {
				continue
			}
			if f := e.socks[ev.Fd]; f != nil {
				f.readable(ev.Events)
			}
		}
		full := e.nev == len(e.events)
		e.nev = 0
		if !full {
			return
		}
		e.harvest()
	}
}

// readable hands an event to the socket's read side (readstate.go): it
// submits the receive of a Read waiting for the socket's data, and
// otherwise marks the side readable for the next Read; end of stream and
// urgent data also set rsHup. The caller holds e.mu.
func (f *netFD) readable(events uint32) {
	s := &f.rd
	o := &s.op
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLPRI) != 0 {
		// End of stream brings no further event; past urgent data a
		// short read does not mean the socket is empty. (EPOLLERR only
		// marks the side readable: an error queue that a receive does
		// not drain would keep it set while the socket has nothing to
		// read.)
		s.rs.Or(rsHup)
	}
	if o.state != opAwait {
		s.markReady()
		return
	}
	h, err := f.e.ring.Recv(f.fd, o.buf, unix.MSG_DONTWAIT, core.Ctx{Callback: recvDone, Userdata: s})
	if err != nil {
		// No room on the ring: the Read tries the socket itself.
		s.markReady()
		f.e.endAwait(o, -int32(unix.EAGAIN))
		return
	}
	o.h, o.state = h, opRecv
}

// recvDone is the completion callback of a waiting Read's receive. It runs
// under the engine's mu.
func recvDone(_ core.Runtime, t *core.Task) error {
	s := core.UserdataAs[*side](t)
	o := &s.op
	res := t.Result.Res
	if res == -int32(unix.EAGAIN) && o.state == opRecv && s.rs.Load() == 0 {
		o.state = opAwait // stale readiness: the next event submits again
		return nil
	}
	o.e.endAwait(o, res)
	return nil
}

// endAwait ends o's wait for readiness (opAwait, opRecv or opRecvStop)
// with res, -EAGAIN telling the Read to look again, and wakes its
// goroutine: at once if it is parked, or, if it is the poller or about to
// be, through its poll, which sees the op idle. The caller holds e.mu.
func (e *engine) endAwait(o *op, res int32) {
	e.rwWaiting--
	e.endWait(o, res)
}

// endWait ends o's wait in opAwait, opRecv, opRecvStop or opBatch with res
// and wakes its goroutine, as endAwait says. The caller holds e.mu.
func (e *engine) endWait(o *op, res int32) {
	o.state, o.res = opIdle, res
	switch {
	case o.parked:
		e.wake(o)
	case e.polling.Load() && e.pollerOp == o && !o.takeover:
		// Its goroutine is the poller: it passes the role on when it
		// sees its operation done (wait.go).
		e.wake(o)
		e.kickPoller()
	default:
		// Handed the poller's role, its done still holding the
		// hand-off, or between wait and poll, which sets pollerOp only
		// once the goroutine runs it: poll sees the op idle at its
		// first look and sends the wake-up owed to it then.
		o.owed = true
	}
}

// detach sends a Read waiting for readiness, with nothing in the kernel,
// away at once, for a deadline or Close; it reports whether it did. The
// caller holds the engine's mu.
func (s *side) detach() bool {
	switch s.op.state {
	case opAwait:
		s.op.e.endAwait(&s.op, -int32(unix.EAGAIN))
	case opBatch:
		s.op.e.endWait(&s.op, -int32(unix.EAGAIN))
	default:
		return false
	}
	return true
}

// testHookEmptyAttempt, when set by a test, runs after a Read's direct
// attempt found the socket empty, before the Read records it: the window
// in which an event must not be lost.
var testHookEmptyAttempt func(*netFD)

// readReady runs a Read into b on a watched socket. The caller holds s.mu.
func (f *netFD) readReady(s *side, b []byte) (int32, error) {
	e := f.e
	o := &s.op
	for {
		if f.closed.Load() {
			return 0, net.ErrClosed
		}
		if s.expired() {
			return 0, os.ErrDeadlineExceeded
		}
		if seen, try := s.claim(f.raw.Load()); try {
			if res, ok := f.recvNow(b); ok {
				f.afterRecv(res, b)
				return res, nil
			}
			if testHookEmptyAttempt != nil {
				testHookEmptyAttempt(f)
			}
			if !s.foundEmpty(seen) {
				continue // something arrived during the attempt
			}
		}
		e.mu.Lock()
		if f.closed.Load() {
			e.mu.Unlock()
			return 0, net.ErrClosed
		}
		if s.rs.Load() != 0 {
			e.mu.Unlock()
			continue
		}
		if s.expired() {
			// Its timer may have fired before the Read was waiting,
			// and found nothing to cancel.
			e.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		o.state, o.buf = opAwait, b
		e.rwWaiting++
		if !e.onEp {
			// The poller is parked on the ring's fd, which this Read's
			// readiness does not reach.
			e.kickPoller()
		}
		e.wait(o)
		e.mu.Lock()
		res := o.res
		o.buf = nil
		e.mu.Unlock()
		if res == -int32(unix.EAGAIN) || res == -int32(unix.ECANCELED) {
			continue // closed, expired, a deadline moved, or stale: the loop says
		}
		f.afterRecv(res, b)
		return res, nil
	}
}

// afterRecv keeps the side readable unless the receive into b left the
// socket empty: a short TCP read drained its receive queue (bytes still in
// the socket's backlog bring an event of their own), while a full one may
// have left more, and EOF or an error stays for the next Read to see. A
// unix socket's read also stops short at a message that carries
// descriptors or other credentials, and a unixpacket read at the end of
// each message, so there only a failed attempt says the socket is empty.
func (f *netFD) afterRecv(res int32, b []byte) {
	if res <= 0 || int(res) == len(b) || isUnix(f.net) {
		f.rd.markReady()
	}
}
