package uringnet

import (
	"net"
	"os"

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
// A receive armed in the kernel before its data arrived (a plain receive
// or a multishot one) has its completion work run on the thread that
// submitted it, which the kernel wakes for it. Go's threads sleep in
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
// data always brings a new event, which marks the side readable (rready)
// or submits the waiting Read's receive.
//
// A Read waiting for readiness holds nothing in the kernel, so a deadline
// or Close sends it away at once (detach).
//
// A Read that would poll for itself, with no poller on its ring, receives
// on the ring instead (readReady), and while only such Reads wait the
// poller parks on the ring's fd: that receive's completion work runs on the
// thread about to wait for it, the one the data wakes anyway, and the wait
// costs no epoll_wait. A Read that registers for readiness kicks a poller
// parked there onto the epoll fd.

// watchEvents are a connection socket's epoll events. EPOLLPRI reports TCP
// urgent data, at whose mark a read stops short with bytes still queued.
const watchEvents = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLRDHUP | unix.EPOLLET

// ringToken is the epoll data of the ring's own fd.
const ringToken = -1

// readinessRecv reports whether connection engines wait for readiness;
// OURIO_RECV=ring turns it off, so that waiting Reads arm receives on the
// ring (multishot or plain, as OURIO_RECV_MULTISHOT says).
func readinessRecv() bool { return os.Getenv("OURIO_RECV") != "ring" }

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
	f.rd.rready.Store(true)
	if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_ADD, f.fd, &ev); err != nil {
		e.free = append(e.free, slot)
		return
	}
	e.socks[slot] = f
	f.slot = slot
}

// unwatch forgets a closing connection's slot; closing the socket removes
// it from the epoll instance. Events still queued for the slot carry the
// old generation and are ignored. The caller holds e.mu.
func (e *engine) unwatch(f *netFD) {
	if f.slot < 0 {
		return
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

// readable submits the receive of a Read waiting for the socket's data, or
// marks the side readable for the next Read. The caller holds e.mu.
func (f *netFD) readable(events uint32) {
	s := &f.rd
	o := &s.op
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLPRI) != 0 {
		// End of stream brings no further event and stays for every
		// later Read to see; past urgent data a short read does not
		// mean the socket is empty. Until a direct attempt finds it
		// empty, every Read tries it. (EPOLLERR only marks the side
		// readable: an error queue that a receive does not drain would
		// keep it set while the socket has nothing to read.)
		s.rhup.Store(true)
	}
	if !o.inflight || !o.rw || o.sub || o.detached {
		s.rready.Store(true)
		return
	}
	h, err := f.e.ring.Recv(f.fd, o.buf, unix.MSG_DONTWAIT, opCtx(o))
	if err != nil {
		// No room on the ring: the Read tries the socket itself.
		s.rready.Store(true)
		o.res = -int32(unix.EAGAIN)
		o.inflight = false
		f.e.wake(o)
		return
	}
	o.h, o.sub = h, true
}

// readReady runs a Read into b on a watched socket. The caller holds s.mu.
// done is false when the Read would poll for itself: it then receives on
// the ring, into its own buffer, without trying the socket again. The
// kernel runs that receive's completion work on the thread that submitted
// it, this one, about to park in the netpoller on the ring's fd, so a lone
// connection's round trip wakes one thread and costs no epoll_wait.
func (f *netFD) readReady(s *side, b []byte) (res int32, err error, done bool) {
	e := f.e
	o := &s.op
	for {
		if f.closed.Load() {
			return 0, net.ErrClosed, true
		}
		if s.expired() {
			return 0, os.ErrDeadlineExceeded, true
		}
		// Cleared before the attempt, so that readiness arriving during
		// it is kept.
		if s.rready.Swap(false) || s.rhup.Load() || f.raw.Load() {
			res, ok := f.recvNow(b)
			if ok {
				f.afterRecv(res, b)
				return res, nil, true
			}
			s.rhup.Store(false) // found empty: events tell the rest
		}
		e.mu.Lock()
		if f.closed.Load() {
			e.mu.Unlock()
			return 0, net.ErrClosed, true
		}
		if s.rready.Load() || s.rhup.Load() {
			e.mu.Unlock()
			continue
		}
		if !e.polling {
			e.mu.Unlock()
			return 0, nil, false
		}
		o.inflight, o.rw, o.buf = true, true, b
		e.rwWaiting++
		if s.expired() {
			// Its timer may have fired before the Read was waiting.
			o.inflight, o.rw, o.buf = false, false, nil
			e.rwWaiting--
			e.mu.Unlock()
			return 0, os.ErrDeadlineExceeded, true
		}
		if !e.onEp {
			// The poller is parked on the ring's fd, which this Read's
			// readiness does not reach.
			e.kickPoller()
		}
		e.wait(o)
		e.mu.Lock()
		detached, res := o.detached, o.res
		o.inflight, o.rw, o.sub, o.detached, o.buf, o.stop = false, false, false, false, nil, false
		e.rwWaiting--
		e.mu.Unlock()
		if detached || res == -int32(unix.ECANCELED) || res == -int32(unix.EAGAIN) {
			continue // closed, expired or a deadline moved: the loop says
		}
		f.afterRecv(res, b)
		return res, nil, true
	}
}

// afterRecv keeps the side readable unless the receive into b left the
// socket empty: a short TCP read drained its receive queue (bytes still in
// the socket's backlog bring an event of their own), while a full one may
// have left more, and EOF or an error stays for the next Read to see. A
// unix socket's read also stops short at a message that carries
// descriptors or other credentials, so there only a failed attempt says
// the socket is empty.
func (f *netFD) afterRecv(res int32, b []byte) {
	if res <= 0 || int(res) == len(b) || f.net == "unix" {
		f.rd.rready.Store(true)
	}
}
