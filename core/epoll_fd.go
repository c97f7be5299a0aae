//go:build linux

package core

import (
	"time"

	"golang.org/x/sys/unix"
)

// epTask is what the epoll backend keeps in a Task while it performs the
// task's operation; only the ring's goroutine touches it.
type epTask struct {
	s     sqe     // the operation as submitted: its SQE slot is reused at once
	where epWhere // what holds the task
	fd    *epFd   // the descriptor it waits on, when parked
	dir   epDir
	prev  *Task // neighbours in the fd's waiter list, or in nothing
	next  *Task
	heap  int32       // index in the timer heap when timed
	when  int64       // monotonic deadline when timed
	got   uint32      // bytes a limited multishot receive has taken
	phase uint8       // connect: 0 before connect(2), 1 once it is in progress
	iov   iovec       // the one iovec of a read or write
	mhdr  unix.Msghdr // a multishot recvmsg's header into its provided buffer
}

// epWhere is the state machine of a task on the epoll backend: idle while
// it is being performed or waits in the SQ, then held by exactly one of
// parked, timed or pooled until it is done (its final completion posted,
// not yet reaped).
type epWhere uint8

const (
	epIdle epWhere = iota
	epParked
	epTimed
	epPooled
	epDone
	// epAbandoned: a pooled openat that Close left to its worker (it may
	// block for good, on a FIFO without a writer); the worker closes what
	// it opens once the ring is gone.
	epAbandoned
)

// epDir says what readiness a parked operation waits for.
type epDir uint8

const (
	dirRead epDir = iota
	dirWrite
	dirPoll // poll and multishot poll: every event, filtered by the mask
	numDirs
)

// epFd is one descriptor's epoll registration, edge triggered, with its
// waiters per direction.
type epFd struct {
	fd    int32
	state fdState
	// ready says the last attempt in a direction did not drain it; an
	// edge sets it, EAGAIN or a short transfer on a stream clears it.
	ready  [2]bool
	stream bool // a short transfer drains the direction (stream sockets, pipes)
	// suspect says an operation parked on the descriptor while nothing
	// waited on it, at suspectAt, and no event has proved the
	// registration since (parkFresh).
	suspect   bool
	suspectAt int64
	waiters   [numDirs]taskList
}

// fdState is whether a descriptor is registered with epoll.
type fdState uint8

const (
	fdNew        fdState = iota // not registered (never, or forgotten after close)
	fdRegistered                // in the epoll set with EPOLLET
)

// taskList is an intrusive FIFO of parked tasks.
type taskList struct{ head, tail *Task }

func (l *taskList) pushBack(t *Task) {
	t.ep.prev, t.ep.next = l.tail, nil
	if l.tail != nil {
		l.tail.ep.next = t
	} else {
		l.head = t
	}
	l.tail = t
}

func (l *taskList) pushFront(t *Task) {
	t.ep.prev, t.ep.next = nil, l.head
	if l.head != nil {
		l.head.ep.prev = t
	} else {
		l.tail = t
	}
	l.head = t
}

func (l *taskList) remove(t *Task) {
	if t.ep.prev != nil {
		t.ep.prev.ep.next = t.ep.next
	} else {
		l.head = t.ep.next
	}
	if t.ep.next != nil {
		t.ep.next.ep.prev = t.ep.prev
	} else {
		l.tail = t.ep.prev
	}
	t.ep.prev, t.ep.next = nil, nil
}

// watch returns fd's registration, registering it (edge triggered, both
// directions and peer hang-up) the first time. It returns nil for a
// descriptor epoll cannot watch (regular files, EPERM) or an invalid one;
// the operation's own system call then reports what is wrong or, for a
// file, runs on the worker pool.
func (ep *epollRing) watch(fd int32) *epFd {
	if fd < 0 {
		return nil
	}
	if int(fd) < len(ep.fds) {
		if st := ep.fds[fd]; st != nil && st.state == fdRegistered {
			return st
		}
	}
	ep.ev = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: fd}
	if err := unix.EpollCtl(ep.epfd, unix.EPOLL_CTL_ADD, int(fd), &ep.ev); err != nil && err != unix.EEXIST {
		return nil
	}
	for int(fd) >= len(ep.fds) {
		ep.fds = append(ep.fds, nil)
	}
	st := ep.fds[fd]
	if st == nil {
		st = &epFd{fd: fd}
		ep.fds[fd] = st
	}
	st.state = fdRegistered
	st.ready = [2]bool{true, true} // unknown: try first
	typ, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
	st.stream = err == unix.ENOTSOCK || (err == nil && typ == unix.SOCK_STREAM)
	return st
}

// forget drops fd's registration when the ring closes fd, so a descriptor
// that reuses the number registers afresh. It takes fd out of the epoll
// set first: epoll drops a registration only with the file's last
// descriptor, so a duplicate left open would go on reporting events under
// the number.
func (ep *epollRing) forget(fd int32) {
	if fd >= 0 && int(fd) < len(ep.fds) {
		if st := ep.fds[fd]; st != nil {
			if st.state == fdRegistered {
				unix.EpollCtl(ep.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
			}
			st.state = fdNew
		}
	}
}

// renew forgets what the ring knew of descriptor number fd when a new
// descriptor gets the number through the ring (accept, socket, openat):
// the old one was closed, maybe outside the ring, and epoll dropped its
// registration with it. Operations still waiting on the old descriptor
// could never be woken: they end, cancelled.
func (ep *epollRing) renew(fd int32) {
	if fd >= 0 && int(fd) < len(ep.fds) {
		if st := ep.fds[fd]; st != nil {
			ep.cancelFd(st)
			st.state = fdNew
		}
	}
}

// setNonblock puts a watched descriptor in nonblocking mode, for the
// system calls that have no per-call flag for it (accept, connect,
// splice). Package net does the same to every descriptor it polls.
func setNonblock(fd int32) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil && fl&unix.O_NONBLOCK == 0 {
		unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|unix.O_NONBLOCK)
	}
}

// parkFresh parks a new operation (not one an event just woke). If nothing
// waited on the descriptor, the user may have closed it outside the ring
// since its last operation, and a new descriptor may have its number: epoll
// dropped the old registration, and the new descriptor would never wake
// the operation. Confirming the registration (EPOLL_CTL_MOD) at every such
// park would cost a system call per message, so the descriptor is only
// marked suspect: an event clears it, which is what happens under load,
// and one still waiting after suspectAge is confirmed, and registered
// afresh if its registration was gone (checkSuspects). A reused number is
// thus watched again within suspectAge.
func (ep *epollRing) parkFresh(t *Task, st *epFd, d epDir) {
	if st.idle() && !st.suspect {
		st.suspect = true
		st.suspectAt = monoNow()
		ep.suspects = append(ep.suspects, suspectEntry{st: st, at: st.suspectAt})
	}
	ep.park(t, st, d, false)
}

// suspectAge is how long an operation waits on a suspect descriptor before
// its registration is confirmed: longer than most waits under load (the
// echo benchmark's p99 round trip at 1,000 connections on a busy 2-CPU
// machine nears it), so that confirming stays rare, and short enough that
// a reused number stalls an operation only briefly.
const suspectAge = 100 * time.Millisecond

// suspectEntry is a descriptor marked suspect at time at.
type suspectEntry struct {
	st *epFd
	at int64
}

// checkSuspects confirms the registrations of descriptors suspect for
// suspectAge or more that operations still wait on, and re-registers those
// epoll dropped; the new registration reports the descriptor at once if it
// is ready.
func (ep *epollRing) checkSuspects() {
	if len(ep.suspects) == ep.suspectHead {
		return
	}
	now := monoNow()
	for ep.suspectHead < len(ep.suspects) {
		e := ep.suspects[ep.suspectHead]
		if now-e.at < int64(suspectAge) {
			break
		}
		ep.suspects[ep.suspectHead] = suspectEntry{}
		ep.suspectHead++
		st := e.st
		if !st.suspect || st.suspectAt != e.at {
			continue // an event proved it since, or a later entry stands for it
		}
		st.suspect = false
		if st.idle() || st.state != fdRegistered {
			continue
		}
		ep.ev = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: st.fd}
		if err := unix.EpollCtl(ep.epfd, unix.EPOLL_CTL_MOD, int(st.fd), &ep.ev); err == unix.ENOENT {
			st.state = fdNew
			ep.watch(st.fd)
		}
	}
	if ep.suspectHead == len(ep.suspects) {
		ep.suspects = ep.suspects[:0]
		ep.suspectHead = 0
	} else if ep.suspectHead > len(ep.suspects)/2 {
		n := copy(ep.suspects, ep.suspects[ep.suspectHead:])
		clear(ep.suspects[n:])
		ep.suspects = ep.suspects[:n]
		ep.suspectHead = 0
	}
}

// suspectWait is how long a blocking wait may sleep before the oldest
// suspect is due, or -1.
func (ep *epollRing) suspectWait() int {
	if len(ep.suspects) == ep.suspectHead {
		return -1
	}
	d := ep.suspects[ep.suspectHead].at + int64(suspectAge) - monoNow()
	if d <= 0 {
		return 0
	}
	return int((d + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

func (st *epFd) idle() bool {
	return st.waiters[dirRead].head == nil && st.waiters[dirWrite].head == nil && st.waiters[dirPoll].head == nil
}

// park queues t until st is ready in direction d.
func (ep *epollRing) park(t *Task, st *epFd, d epDir, front bool) {
	t.ep.where = epParked
	t.ep.fd = st
	t.ep.dir = d
	if front {
		st.waiters[d].pushFront(t)
	} else {
		st.waiters[d].pushBack(t)
	}
	ep.parked++
}

// unpark takes a parked task off its list.
func (ep *epollRing) unpark(t *Task) {
	t.ep.fd.waiters[t.ep.dir].remove(t)
	t.ep.fd = nil
	t.ep.where = epIdle
	ep.parked--
}

// ready handles an epoll event on st: polls see the mask, and the waiters
// of each direction that became ready run until it drains again.
func (ep *epollRing) ready(st *epFd, events uint32) {
	st.suspect = false
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		st.ready[dirRead] = true
	}
	if events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		st.ready[dirWrite] = true
	}
	for t := st.waiters[dirPoll].head; t != nil; {
		next := t.ep.next
		ep.pollEvent(t, events)
		t = next
	}
	for d := dirRead; d <= dirWrite; d++ {
		for st.ready[d] && st.waiters[d].head != nil {
			t := st.waiters[d].head
			ep.unpark(t)
			ep.perform(t, st, d, true)
		}
	}
}
