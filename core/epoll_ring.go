//go:build linux

package core

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollRing is the kernel side of a Ring on the epoll backend. The Ring
// prepares SQEs and reaps CQEs exactly as it does on io_uring, in arrays of
// Go memory instead of the kernel's shared mappings; enter consumes the
// published SQEs in order and performs them with nonblocking system calls,
// parking an operation that would block on its descriptor's epoll
// registration until readiness, and posts each completion into the CQ. So
// Task, Handle, msg, userdata, errors and the callbacks are one code path
// for both backends, and the epoll side only has to behave like the kernel.
//
// Everything here belongs to the goroutine that runs the ring, except mail
// (other goroutines hand completions in under mailMu) and the indices Ready
// reads (written atomically).
type epollRing struct {
	r    *Ring
	epfd int
	evfd int // eventfd that wakes epoll_wait when mail arrives

	// The indices io_uring shares with the kernel. sqHead and cqTail are
	// the "kernel's" (written here), sqTail and cqHead the Ring's.
	sqHead, sqTail, sqFlags, cqHead, cqTail uint32
	overflow                                []cqe // completions that found the CQ full, oldest first

	fds    []*epFd // by descriptor number; nil where none was watched
	parked int     // operations waiting on a descriptor
	// sincePoll counts completions posted since epoll was last asked for
	// readiness, stopping at pollBudget (so it cannot wrap on 32-bit
	// systems); at pollBudget a nonblocking enter asks again (see enter).
	// Like the rest, it belongs to the goroutine that runs the ring.
	sincePoll int
	timers    timerHeap
	linkPrev  *Task // the task of the last SQE flagged IOSQE_IO_LINK in this submission

	suspects    []suspectEntry // descriptors to confirm, oldest first from suspectHead
	suspectHead int

	events [pollBudget]unix.EpollEvent
	tfd    int   // timerfd armed for the earliest timer, so a poller of PollableFd sees it
	armed  int64 // the monotonic deadline tfd is armed for, 0 if none
	its    unix.ItimerSpec
	rbuf   [8]byte // where eventfd and timerfd reads land
	pfd    [1]unix.PollFd
	ev     unix.EpollEvent // epoll_ctl's argument, kept off the stack

	// mail holds completions other goroutines post: worker-pool results,
	// MsgRing messages and Post. woken is set by the poster that writes the
	// eventfd and cleared by drainMail before it reads the eventfd, so a
	// message is never left without a wake-up.
	mailMu     sync.Mutex
	mail       []cqe // guarded by mailMu
	mailClosed bool  // guarded by mailMu: the eventfd is closed
	spare      []cqe // the loop's other mail buffer, swapped with mail
	woken      atomic.Bool
}

// evOne is what an eventfd write adds; it is never written, so every
// goroutine may pass it to write(2) (a buffer of the caller's would escape).
var evOne = [8]byte{1}

// monoStart anchors the monotonic clock the timer heap runs on.
var monoStart = time.Now()

func monoNow() int64 { return int64(time.Since(monoStart)) }

// newEpollRing creates a Ring on the epoll backend. uringErr is why
// io_uring was not used, kept for IOURingError.
func newEpollRing(opts Options, uringErr error) (*Ring, error) {
	var allowed restrictionSet
	if len(opts.Restrict) > 0 {
		// No kernel ring exists to restrict: start refuses what the set
		// does not allow, and nothing else submits to this ring.
		var err error
		if allowed, err = newRestrictionSet(opts.Restrict); err != nil {
			return nil, err
		}
	}
	entries := roundPow2(opts.Entries, 256)
	cqEntries := roundPow2(opts.CQEntries, 4*entries)
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	if err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, err
	}
	for _, fd := range []int{evfd, tfd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(tfd)
			unix.Close(evfd)
			unix.Close(epfd)
			return nil, err
		}
	}
	ep := &epollRing{epfd: epfd, evfd: evfd, tfd: tfd}
	// The epoll backend updates a linked timeout in place, which is what
	// the feature bit vouches for on io_uring.
	r := &Ring{fd: epfd, features: featCQESkip, ep: ep, backend: BackendEpoll, uringErr: uringErr, allowed: allowed}
	ep.r = r
	if opts.SingleIssuer {
		r.setupFlags = setupSingleIssuer
		r.tid = unix.Gettid()
	}
	r.sqHead, r.sqTail, r.sqFlags = &ep.sqHead, &ep.sqTail, &ep.sqFlags
	r.cqHead, r.cqTail = &ep.cqHead, &ep.cqTail
	r.sqEntries, r.sqMask = entries, entries-1
	r.cqEntries, r.cqMask = cqEntries, cqEntries-1
	r.sqes = make([]sqe, entries)
	r.cqes = make([]cqe, cqEntries)
	return r, nil
}

// roundPow2 rounds n (def when zero) up to a power of two, at most 32768 as
// io_uring's clamp does.
func roundPow2(n, def uint32) uint32 {
	if n == 0 {
		n = def
	}
	if n > 1<<15 {
		n = 1 << 15
	}
	p := uint32(1)
	for p < n {
		p <<= 1
	}
	return p
}

// close releases the epoll instance's descriptors other than r.fd. The
// eventfd closes under mailMu, so a late notify cannot write to its number
// after it is reused.
func (ep *epollRing) close() {
	ep.mailMu.Lock()
	ep.mailClosed = true
	unix.Close(ep.evfd)
	ep.mailMu.Unlock()
	unix.Close(ep.tfd)
	ep.fds = nil
}

// enter is io_uring_enter: it performs the submitted SQEs and, with wait,
// blocks until at least one completion is in the CQ.
func (ep *epollRing) enter(wait uint32) error {
	if ep.r.tid != 0 && unix.Gettid() != ep.r.tid {
		return ErrWrongThread
	}
	ep.consume()
	ep.flushOverflow()
	if ep.woken.Load() {
		ep.drainMail()
	}
	ep.fireTimers()
	ep.checkSuspects()
	defer ep.keepOverflowVisible()
	if wait == 0 {
		// Collect readiness when the CQ is empty, and also after
		// pollBudget completions with operations parked: a connection
		// whose every receive finds data at once (a full buffer leaves
		// its direction ready) keeps the CQ from emptying, and a ring
		// that polled only when it emptied left every parked operation
		// waiting behind it. Completions poll itself posts count toward
		// the next budget: at most one extra epoll_pwait per budget.
		if ep.parked > 0 && (ep.cqEmpty() || ep.sincePoll >= pollBudget) {
			return ep.poll(false)
		}
		return nil
	}
	for ep.cqEmpty() {
		if err := ep.poll(true); err != nil {
			return err
		}
		ep.fireTimers()
		ep.checkSuspects()
	}
	return nil
}

func (ep *epollRing) cqEmpty() bool {
	return ep.cqTail == atomic.LoadUint32(&ep.cqHead) && len(ep.overflow) == 0
}

// consume performs every SQE published since the last call, in order.
func (ep *epollRing) consume() {
	r := ep.r
	tail := atomic.LoadUint32(&ep.sqTail)
	for head := ep.sqHead; head != tail; head++ {
		s := &r.sqes[head&r.sqMask]
		ep.dispatch(s)
		atomic.StoreUint32(&ep.sqHead, head+1)
	}
	ep.linkPrev = nil
}

// post places a completion in the CQ, or in the overflow list when the CQ
// is full, as the kernel does.
func (ep *epollRing) post(ud uint64, res int32, flags uint32) {
	r := ep.r
	if ep.sincePoll < pollBudget {
		ep.sincePoll++
	}
	if len(ep.overflow) > 0 || ep.cqTail-atomic.LoadUint32(&ep.cqHead) >= r.cqEntries {
		ep.overflow = append(ep.overflow, cqe{userData: ud, res: res, flags: flags})
		return
	}
	r.cqes[ep.cqTail&r.cqMask] = cqe{userData: ud, res: res, flags: flags}
	atomic.StoreUint32(&ep.cqTail, ep.cqTail+1)
}

func (ep *epollRing) flushOverflow() {
	if len(ep.overflow) == 0 {
		return
	}
	r := ep.r
	n := 0
	for _, c := range ep.overflow {
		if ep.cqTail-atomic.LoadUint32(&ep.cqHead) >= r.cqEntries {
			break
		}
		r.cqes[ep.cqTail&r.cqMask] = c
		atomic.StoreUint32(&ep.cqTail, ep.cqTail+1)
		n++
	}
	rest := copy(ep.overflow, ep.overflow[n:])
	clear(ep.overflow[rest:])
	ep.overflow = ep.overflow[:rest]
}

// finish posts a completion of t. A final one ends the backend's hold on t
// and, as io_uring does, cancels the linked timeout still bounding it.
func (ep *epollRing) finish(t *Task, res int32, flags uint32) {
	ud := t.Handle().userData()
	if flags&cqeFMore == 0 {
		t.ep.where = epDone
		ep.post(ud, res, flags)
		if t.linked && t.link.Live() {
			if lt := t.link.task; lt.ep.where == epTimed {
				ep.timers.remove(lt)
				ep.finish(lt, -int32(unix.ECANCELED), 0)
			}
		}
		return
	}
	ep.post(ud, res, flags)
}

// pollBudget is how many completions a ring posts, with operations
// parked, before it asks epoll for readiness though its CQ is not empty:
// one wait's worth of events (events has pollBudget entries), so that
// readiness is collected as fast as a busy loop can make completions, at
// one system call per budget. Asking at every enter cost an extra epoll_pwait per message at
// one connection, where a multishot accept is always parked.
const pollBudget = 128

// poll waits for readiness (block) or collects what is ready, and performs
// the operations it unblocks. Timers wake it through the timerfd.
func (ep *epollRing) poll(block bool) error {
	ep.sincePoll = 0
	ms := 0
	if block {
		ms = ep.suspectWait()
	}
	var n uintptr
	var errno unix.Errno
	if block {
		n, _, errno = unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep.epfd), uintptr(unsafe.Pointer(&ep.events[0])), uintptr(len(ep.events)), uintptr(ms), 0, 0)
	} else {
		// A call that cannot block needs no hand-off of the P.
		n, _, errno = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep.epfd), uintptr(unsafe.Pointer(&ep.events[0])), uintptr(len(ep.events)), 0, 0, 0)
	}
	switch errno {
	case 0:
	case unix.EINTR:
		return nil
	default:
		return errno
	}
	for i := range int(n) {
		e := &ep.events[i]
		switch int(e.Fd) {
		case ep.evfd:
			ep.drainMail()
			continue
		case ep.tfd:
			ep.timerfdFired()
			continue
		}
		if int(e.Fd) < len(ep.fds) {
			if st := ep.fds[e.Fd]; st != nil {
				ep.ready(st, e.Events)
			}
		}
	}
	return nil
}

// keepOverflowVisible keeps the epoll instance readable while completions
// wait in the overflow list, which only the next enter moves into the CQ:
// as io_uring's fd polls readable while it holds overflowed completions, so
// that a loop driven by PollableFd or Ready comes back for them.
func (ep *epollRing) keepOverflowVisible() {
	if len(ep.overflow) > 0 {
		ep.wake()
	}
}

// pending reports, from any goroutine, whether the epoll instance has
// something for Run: it polls the descriptor without consuming anything.
func (ep *epollRing) pending() bool {
	fds := [1]unix.PollFd{{Fd: int32(ep.epfd), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds[:], 0)
	return n > 0
}

// wake makes the epoll instance readable until the next Run drains it. It
// is called under mailMu, or by the ring's goroutine while the ring is
// open.
func (ep *epollRing) wake() {
	if ep.woken.CompareAndSwap(false, true) {
		unix.Write(ep.evfd, evOne[:])
	}
}

// notify hands a completion to the ring from any goroutine and wakes it.
// It reports false when the ring has closed and the result goes nowhere.
func (ep *epollRing) notify(c cqe) bool {
	ep.mailMu.Lock()
	defer ep.mailMu.Unlock()
	if ep.mailClosed {
		return false // only a result nobody waits for: Close drained the ring
	}
	ep.mail = append(ep.mail, c)
	ep.wake()
	return true
}

// drainMail moves the completions other goroutines posted into the CQ. It
// reads the eventfd before it clears woken: a poster that finds woken set
// after the read has its mail taken below, and one that comes after the
// clear writes the eventfd again. (Clearing first let a poster's write be
// read here with woken left set, and every later notify found woken set
// and wrote nothing: a ring driven by PollableFd slept for good.)
func (ep *epollRing) drainMail() {
	unix.Read(ep.evfd, ep.rbuf[:])
	ep.woken.Store(false)
	ep.mailMu.Lock()
	mail := ep.mail
	ep.mail = ep.spare[:0]
	ep.mailMu.Unlock()
	for _, c := range mail {
		if c.userData&inboxFlag != 0 {
			ep.post(c.userData, c.res, c.flags)
			continue
		}
		// A worker-pool result: the task cannot have been recycled, as
		// nothing completes a pooled task but its worker.
		if t := ep.r.lookup(c.userData); t != nil && t.ep.where == epPooled {
			if t.ep.s.opcode == opOpenat && c.res >= 0 {
				ep.renew(c.res)
			}
			ep.finish(t, c.res, c.flags)
		}
	}
	clear(mail)
	ep.spare = mail[:0]
}
