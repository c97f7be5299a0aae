//go:build linux

package core

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance and the tasks it owns.
//
// A Ring is not safe for concurrent use: one goroutine at a time submits work
// and runs it, and callbacks run on the goroutine that calls Run. With
// Options.SingleIssuer that goroutine must also stay on one OS thread. To
// hand work to a ring owned by another goroutine, use MsgRing, or Post from
// any goroutine.
//
// Always Close a Ring: one that is merely dropped keeps its kernel resources,
// and operations still in flight would write into memory the garbage
// collector has freed.
type Ring struct {
	fd         int
	setupFlags uint32
	features   uint32
	closed     bool
	running    atomic.Bool

	sqHead    *uint32 // advanced by the kernel
	sqTail    *uint32
	sqFlags   *uint32
	sqMask    uint32
	sqEntries uint32
	sqes      []sqe
	sqeTail   uint32 // next SQE to prepare
	sqeHead   uint32 // SQEs before this are published to the kernel

	cqHead    *uint32
	cqTail    *uint32
	cqMask    uint32
	cqEntries uint32
	cqes      []cqe

	mmaps [][]byte

	// The task pool. Tasks live in fixed chunks so their addresses never
	// change while the kernel or another ring refers to them.
	chunks     []*[chunkSize]Task
	free       *Task
	remoteFree atomic.Pointer[Task] // tasks returned by other rings
	active     int                  // tasks submitted whose final completion is pending
	// notifs counts the kernel's zero-copy sends whose result has come
	// (with IORING_CQE_F_MORE) and whose notification has not; they are
	// part of active. Owned, as active is, by the ring's goroutine.
	notifs int

	// The inbox holds tasks other rings sent with MsgRing until their
	// message is reaped here.
	inboxMu     sync.Mutex
	inbox       slots[*Task]
	inboxClosed bool
	posted      slots[Ctx] // messages Post sent

	bufRings []*BufRing
	evfd     int // eventfd behind PollableFd for single-issuer rings, or 0
	stale    uint64
	tid      int // the thread that created a single-issuer ring, or 0

	backend  Backend    // BackendIOURing or BackendEpoll
	ep       *epollRing // the epoll backend, or nil on io_uring
	uringErr error      // why io_uring_setup was refused, for IOURingError
	reaped   int        // completions the last submitAndReap ran
	// allowed is the set of operations of a restricted ring
	// (Options.Restrict), nil when every operation may run.
	allowed restrictionSet
}

const chunkSize = 128

// newIOURing creates a ring on io_uring.
func newIOURing(opts Options) (*Ring, error) {
	entries := opts.Entries
	if entries == 0 {
		entries = 256
	}
	cqEntries := opts.CQEntries
	if cqEntries == 0 {
		cqEntries = 4 * entries
	}
	var p params
	p.cqEntries = cqEntries
	// Oldest first, so the fallback drops the newest feature first:
	// SUBMIT_ALL 5.18, SINGLE_ISSUER 6.0, DEFER_TASKRUN 6.1, NO_SQARRAY 6.6.
	wanted := []uint32{setupCQSize | setupClamp, setupSubmitAll}
	if opts.SingleIssuer {
		wanted = append(wanted, setupSingleIssuer|setupCoopTaskrun|setupTaskrunFlag, setupDeferTaskrun)
	} else {
		// Completion work runs on the thread that submitted the operation.
		// Without COOP_TASKRUN the kernel interrupts that thread with an
		// IPI when it is running; with it, the work waits for the thread's
		// next kernel entry (a sleeping thread is still woken). Go threads
		// enter the kernel constantly, and the IPIs cost a shared ring
		// almost half its throughput (measured on uringnet's echo and on the
		// transport experiments git keeps as internal/transportexp).
		wanted = append(wanted, setupCoopTaskrun)
	}
	wanted = append(wanted, setupNoSQArray)
	if opts.attachWQ > 0 {
		p.wqFd = uint32(opts.attachWQ)
	}
	var base uint32
	if opts.attachWQ > 0 {
		base |= setupAttachWQ
	}
	var allowed restrictionSet
	if len(opts.Restrict) > 0 {
		var err error
		if allowed, err = newRestrictionSet(opts.Restrict); err != nil {
			return nil, err
		}
		base |= setupRDisabled
	}
	fd, err := setupWithFallback(entries, &p, wanted, base)
	if err != nil {
		return nil, err
	}
	r := &Ring{fd: fd, setupFlags: p.flags, features: p.features, backend: BackendIOURing}
	if r.SingleIssuer() {
		r.tid = unix.Gettid()
	}
	if err := r.mapRings(&p); err != nil {
		r.unmap()
		unix.Close(fd)
		return nil, err
	}
	if err := loadProbe(r.fd); err != nil {
		r.unmap()
		unix.Close(fd)
		return nil, err
	}
	if allowed != nil {
		// The probe above ran before the restrictions, which bind the
		// register calls too once the ring is enabled.
		if err := r.restrict(allowed); err != nil {
			r.unmap()
			unix.Close(fd)
			return nil, err
		}
	}
	return r, nil
}

// setupWithFallback calls io_uring_setup with every flag group in wanted,
// dropping the newest group each time the kernel rejects the set, so a ring
// comes up on older kernels with the features they have. The flags of base
// are never dropped.
func setupWithFallback(entries uint32, p *params, wanted []uint32, base uint32) (int, error) {
	// A refusal is explained from the credentials and filters of the
	// thread that was refused.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for n := len(wanted); ; n-- {
		flags := base
		for _, f := range wanted[:n] {
			flags |= f
		}
		q := *p
		q.flags = flags
		fd, errno := setupSyscall(entries, &q)
		if errno == 0 {
			*p = q
			return fd, nil
		}
		if errno != unix.EINVAL || n == 0 {
			if errno == unix.EINVAL && base&setupRDisabled != 0 {
				// Either the kernel lacks R_DISABLED, or something else
				// is wrong: a ring without the flag tells them apart.
				fd, err := setupWithFallback(entries, p, wanted, base&^setupRDisabled)
				if err != nil {
					return -1, err
				}
				unix.Close(fd)
				return -1, &UnsupportedError{What: "restricted rings (IORING_SETUP_R_DISABLED, Linux 5.10)", Errno: errno}
			}
			return -1, setupRefused(errno)
		}
	}
}

// setupRefused explains io_uring_setup's errno: a refusal by the system
// (EPERM, ENOSYS, or ENOMEM under the memlock limit of an old kernel) is an
// UnsupportedError naming its cause, anything else the errno itself. It
// runs on the thread that made the call, which setupWithFallback locks.
func setupRefused(errno unix.Errno) error {
	cause := readSetupEnv().cause(errno)
	if errno == unix.ENOSYS || errno == unix.EPERM || cause != "" {
		return &UnsupportedError{What: "io_uring", Errno: errno, Cause: cause}
	}
	return errno
}

// setupSyscall is a variable so tests can play an older kernel.
var setupSyscall = func(entries uint32, p *params) (int, unix.Errno) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	return int(fd), errno
}

func (r *Ring) mapRings(p *params) error {
	sqSize := uintptr(p.sqOff.array) + uintptr(p.sqEntries)*4
	cqSize := uintptr(p.cqOff.cqes) + uintptr(p.cqEntries)*unsafe.Sizeof(cqe{})
	if p.features&featSingleMmap != 0 && cqSize > sqSize {
		sqSize = cqSize
	}
	sqMem, err := unix.Mmap(r.fd, offSQRing, int(sqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return err
	}
	r.mmaps = append(r.mmaps, sqMem)
	cqMem := sqMem
	if p.features&featSingleMmap == 0 {
		if cqMem, err = unix.Mmap(r.fd, offCQRing, int(cqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
			return err
		}
		r.mmaps = append(r.mmaps, cqMem)
	}
	sqeMem, err := unix.Mmap(r.fd, offSQEs, int(uintptr(p.sqEntries)*unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return err
	}
	r.mmaps = append(r.mmaps, sqeMem)

	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead = u32(sqMem, p.sqOff.head)
	r.sqTail = u32(sqMem, p.sqOff.tail)
	r.sqFlags = u32(sqMem, p.sqOff.flags)
	r.sqMask = *u32(sqMem, p.sqOff.ringMask)
	r.sqEntries = *u32(sqMem, p.sqOff.ringEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sqeMem[0])), p.sqEntries)
	if p.flags&setupNoSQArray == 0 {
		array := unsafe.Slice(u32(sqMem, p.sqOff.array), p.sqEntries)
		for i := range array {
			array[i] = uint32(i)
		}
	}
	r.cqHead = u32(cqMem, p.cqOff.head)
	r.cqTail = u32(cqMem, p.cqOff.tail)
	r.cqMask = *u32(cqMem, p.cqOff.ringMask)
	r.cqEntries = *u32(cqMem, p.cqOff.ringEntries)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&cqMem[p.cqOff.cqes])), p.cqEntries)
	r.sqeTail = atomic.LoadUint32(r.sqTail)
	r.sqeHead = r.sqeTail
	return nil
}

func (r *Ring) unmap() {
	for _, m := range r.mmaps {
		unix.Munmap(m)
	}
	r.mmaps = nil
	r.sqes, r.cqes = nil, nil
}

// InitChild creates a ring that shares this ring's kernel worker pool
// (IORING_SETUP_ATTACH_WQ), typically for another thread. The child is an
// independent Ring: close it on its own.
func (r *Ring) InitChild(opts Options) (*Ring, error) {
	if r.closed {
		return nil, ErrClosed
	}
	r.childOptions(&opts)
	return New(opts)
}

// childOptions makes opts create a ring like r: on r's backend and, on
// io_uring, sharing r's worker pool.
func (r *Ring) childOptions(opts *Options) {
	if opts.Backend == BackendAuto {
		opts.Backend = r.backend
	}
	if r.ep == nil {
		opts.attachWQ = r.fd
	}
}

// Fd returns the ring's file descriptor. It polls readable when completions
// are waiting, which lets another event loop drive the ring; see PollableFd.
// On the epoll backend it is the ring's epoll instance.
func (r *Ring) Fd() int { return r.fd }

// Active returns how many submitted tasks still await their final completion.
func (r *Ring) Active() int { return r.active }

// SingleIssuer reports whether the kernel accepted the single-issuer flags.
func (r *Ring) SingleIssuer() bool { return r.setupFlags&setupSingleIssuer != 0 }

// Close cancels every operation in flight, waits until the kernel has
// finished with all memory those operations refer to, and releases the ring.
// Callbacks of cancelled operations do not run, and operations prepared but
// not yet submitted are dropped. Close must be called by the goroutine that
// owns the ring, and not from inside a callback. If the cancellation fails
// (ErrWrongThread on a SingleIssuer ring closed from another thread), Close
// returns the error and leaves the ring open.
//
// The notification of a zero-copy send (SendZC, SendmsgZC) cannot be
// cancelled: it comes when the network stack lets go of the data. Close
// waits up to a second for those still due once everything else has
// ended. If some do not come, as when a peer leaves the data in its
// socket, Close closes the ring without them: their handles are dead,
// none of their callbacks runs, and their buffers (if on the Go heap)
// stay referenced for the rest of the process, since the kernel may still
// send from them and must never send memory the program has reused. The
// kernel keeps the ring's context until the network stack lets the data
// go, and warns in its log after five minutes if it still has not.
func (r *Ring) Close() error {
	if r.closed {
		return ErrClosed
	}
	if !r.running.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer r.running.Store(false)
	if r.active > 0 {
		if err := r.drainForClose(); err != nil {
			// The kernel may still use what the tasks hold: release nothing.
			return err
		}
		if r.notifs > 0 {
			r.abandonZC()
		}
	}
	var err error
	for _, br := range r.bufRings {
		br.release()
	}
	r.bufRings = nil
	r.closed = true
	r.dropInbox() // before the fd closes: Post sends to it under the inbox lock
	r.unmap()
	if r.ep != nil {
		r.ep.close()
	}
	if cerr := unix.Close(r.fd); err == nil {
		err = cerr
	}
	if r.evfd > 0 {
		unix.Close(r.evfd)
		r.evfd = 0
	}
	return err
}

// drainForClose cancels everything and reaps until the kernel holds no
// request of ours, so no buffer it refers to is freed early.
func (r *Ring) drainForClose() error {
	if r.tid != 0 && unix.Gettid() != r.tid {
		return ErrWrongThread // before anything is queued that the owner would submit
	}
	r.dropQueued()
	if r.ep != nil {
		r.ep.abandonPooled()
	}
	for round := 0; r.active > r.notifs; round++ {
		s, err := r.getSQE()
		if err != nil {
			return err
		}
		t := r.alloc()
		r.launch(t, s, OpCancel, Ctx{})
		t.kind = kindQuiet
		s.opcode = opAsyncCancel
		s.opFlags = cancelAny | cancelAll
		// Something ignored the last cancel (an operation already running
		// in a kernel worker finishes on its own): from the second round
		// on, wait a millisecond before cancelling again rather than spin
		// on the cancel's own completion. The tick is queued after the
		// cancel, so the cancel does not hit it.
		var tick Handle
		if round > 0 {
			if s, err = r.getSQE(); err != nil {
				return err
			}
			tt := r.alloc()
			r.launch(tt, s, OpTimer, Ctx{})
			tt.kind = kindQuiet
			tt.ts.set(time.Millisecond)
			s.opcode = opTimeout
			s.addr = tt.ts.ptr()
			s.len = 1
			tick = tt.Handle()
		}
		for {
			if err := r.submitAndWait(1, false); err != nil && err != errReapFirst {
				return err
			}
			for r.reapSilently() > 0 && r.active > 0 {
			}
			if r.active == r.notifs || !tick.Live() {
				break
			}
		}
	}
	return r.awaitNotifs()
}

// reapOne waits for a completion and consumes what is ready without
// running callbacks, for Close.
func (r *Ring) reapOne() error {
	if err := r.submitAndWait(1, false); err != nil && err != errReapFirst {
		return err
	}
	r.reapSilently()
	return nil
}

// notifWait bounds how long Close waits for the notifications of zero-copy
// sends once nothing else is in flight. They come when the network stack
// frees the data, on loopback at once, elsewhere once the peer has
// acknowledged it; data a peer leaves in its socket keeps them away
// indefinitely. A variable so that tests can shorten it.
var notifWait = time.Second

// awaitNotifs waits, up to notifWait, for the notifications of the
// zero-copy sends still in flight, which no cancel can hasten; r.notifs
// says how many did not come.
func (r *Ring) awaitNotifs() error {
	if r.notifs == 0 {
		return nil
	}
	s, err := r.getSQE()
	if err != nil {
		return err
	}
	t := r.alloc()
	r.launch(t, s, OpTimer, Ctx{})
	t.kind = kindQuiet
	t.ts.set(notifWait)
	s.opcode = opTimeout
	s.addr = t.ts.ptr()
	s.len = 1
	timer := t.Handle()
	for r.notifs > 0 && timer.Live() {
		if err := r.reapOne(); err != nil {
			return err
		}
	}
	if timer.Live() {
		r.removeTimer(timer) // every notification came
	}
	for r.active > r.notifs { // the timer, and its removal
		if err := r.reapOne(); err != nil {
			return err
		}
	}
	return nil
}

// abandonedZC keeps the tasks, and so the buffers, of zero-copy sends whose
// notification had not come when their ring closed, for the rest of the
// process: the kernel may still send from those buffers. Guarded by its mu.
var abandonedZC struct {
	mu     sync.Mutex
	chunks []*[chunkSize]Task
}

// abandonZC gives the zero-copy sends a closing ring still owes
// notifications up: their tasks leave flight (taskAbandoned, so their
// handles are dead and Active counts them no more) and the ring's task
// chunks join abandonedZC, which keeps every buffer they hold.
func (r *Ring) abandonZC() {
	for _, c := range r.chunks {
		for i := range c {
			if t := &c[i]; t.state == taskInFlight && t.zc == zcKernel {
				t.state = taskAbandoned
				r.active--
				r.notifs--
			}
		}
	}
	abandonedZC.mu.Lock()
	abandonedZC.chunks = append(abandonedZC.chunks, r.chunks...)
	abandonedZC.mu.Unlock()
}

// dropQueued turns every SQE the kernel has not consumed into a NOP that
// keeps its user_data, so Close does not perform operations it is meant to
// cancel. A message such an SQE carried goes back to its pool.
func (r *Ring) dropQueued() {
	for pos := atomic.LoadUint32(r.sqHead); pos != r.sqeTail; pos++ {
		s := &r.sqes[pos&r.sqMask]
		if t := r.lookup(s.userData); t != nil && t.Result.Op == OpMsgRing {
			r.msgFailed(t)
		}
		*s = sqe{opcode: opNop, userData: s.userData}
	}
}

// reapSilently consumes completions without running user callbacks.
func (r *Ring) reapSilently() int {
	n := 0
	for head := *r.cqHead; head != atomic.LoadUint32(r.cqTail); head++ {
		c := r.cqes[head&r.cqMask]
		atomic.StoreUint32(r.cqHead, head+1)
		n++
		if c.userData&inboxFlag != 0 {
			continue // dropInbox returns these tasks
		}
		t := r.lookup(c.userData)
		if t != nil && t.zc != zcNone {
			r.countNotif(c.flags)
		}
		if t != nil && c.flags&cqeFMore == 0 {
			r.active--
			t.state = taskReserved
			if t.bufID >= 0 {
				t.bufID = -1
			}
			r.release(t)
		}
	}
	return n
}

// Run submits pending work and runs completions according to mode. If a
// callback returns an error, Run stops at once and returns it; completions not
// yet run stay queued for the next Run.
func (r *Ring) Run(mode RunMode) error {
	if r.closed {
		return ErrClosed
	}
	if !r.running.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer r.running.Store(false)
	if r.evfd > 0 {
		defer r.drainEventfd()
	}
	switch mode {
	case NoWait, NoWaitRaw:
		return r.submitAndReap(mode == NoWaitRaw)
	case Once:
		if err := r.submitAndReap(false); err != nil {
			return err
		}
		if r.reaped > 0 {
			return nil
		}
		switch err := r.submitAndWait(1, false); err {
		case nil:
			_, err = r.reap()
			return err
		case errReapFirst:
			return r.submitAndReap(false)
		default:
			return err
		}
	default:
		for {
			if err := r.submitAndReap(false); err != nil {
				return err
			}
			if r.active == 0 && r.sqeTail == r.sqeHead {
				return nil
			}
			if r.reaped == 0 {
				if err := r.submitAndWait(1, false); err != nil && err != errReapFirst {
					return err
				}
			}
		}
	}
}

// submitAndReap submits what is queued and runs the completions that are
// ready, setting r.reaped to how many ran. When the kernel takes nothing
// until the completion queue has room, it reaps and submits again, so no
// entry is left behind for a caller that then waits for its completion;
// after enterRetries rounds it gives up with EBUSY, the entries still
// queued.
func (r *Ring) submitAndReap(raw bool) error {
	r.reaped = 0
	for round := 0; ; round++ {
		err := r.submitAndWait(0, raw)
		n, rerr := r.reap()
		r.reaped += n
		if rerr != nil {
			return rerr
		}
		if err != errReapFirst {
			return err
		}
		if round == enterRetries {
			return unix.EBUSY
		}
	}
}

func (r *Ring) submitAndWait(wait uint32, raw bool) error {
	if r.sqeTail != r.sqeHead {
		atomic.StoreUint32(r.sqTail, r.sqeTail)
		r.sqeHead = r.sqeTail
	}
	if r.ep != nil {
		return r.ep.enter(wait)
	}
	busy := 0
	for {
		pending := r.sqeHead - atomic.LoadUint32(r.sqHead)
		var flags uintptr
		if wait > 0 || r.setupFlags&setupDeferTaskrun != 0 || atomic.LoadUint32(r.sqFlags)&(sqTaskrun|sqCQOverflow) != 0 {
			flags = enterGetEvents
		}
		if pending == 0 && flags == 0 {
			return nil
		}
		if wait > 0 && r.cqReady() {
			wait = 0
		}
		// Syscall unless the caller asked for a raw call (NoWaitRaw):
		// submitting can wake other threads, and a thread preempted on
		// its way out of a raw call keeps its P, stalling every
		// goroutine queued on it for the kernel's time slice.
		errno := enterSyscall(r.fd, pending, wait, flags, raw && wait == 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.EBUSY, unix.EAGAIN:
			// The completion queue is full and the kernel holds
			// overflowed completions it cannot flush (EBUSY), or it is
			// short of resources for the requests (EAGAIN). Completions
			// waiting to be reaped make room: the caller reaps them and
			// calls again. With none, wait a little and retry; the
			// entries stay queued, so nothing is lost if it still fails.
			if r.cqReady() {
				return errReapFirst
			}
			if busy < enterRetries {
				busy++
				time.Sleep(time.Duration(busy) * 100 * time.Microsecond)
				continue
			}
			return errno
		case unix.EEXIST:
			return ErrWrongThread
		default:
			return errno
		}
	}
}

// errReapFirst is submitAndWait's answer when the kernel took nothing for
// want of room in the completion queue while completions wait there: the
// caller reaps them and submits again. It never leaves the package.
var errReapFirst = errors.New("ourio: reap completions before submitting")

// enterRetries bounds submitAndWait's retries of EBUSY and EAGAIN with
// nothing to reap: about 5 ms in all before the error is returned.
const enterRetries = 10

// enterSyscall is io_uring_enter: a raw system call when raw is set. It is
// a variable so that tests can make it fail as the kernel may.
var enterSyscall = func(fd int, toSubmit, minComplete uint32, flags uintptr, raw bool) unix.Errno {
	var errno unix.Errno
	if raw {
		_, _, errno = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), 0, flags, 0, 0)
	} else {
		_, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete), flags, 0, 0)
	}
	return errno
}

func (r *Ring) cqReady() bool { return *r.cqHead != atomic.LoadUint32(r.cqTail) }

// Ready reports whether completions are waiting for Run. It only reads the
// completion queue's indices, so a goroutine may call it while another owns
// the ring, as the test another event loop runs when PollableFd polls
// readable; it must not be called after Close.
//
// On the epoll backend completions are made by the ring's goroutine, so
// Ready also reports work waiting for Run to make them: a descriptor the
// ring waits on is ready, a timer expired or a message arrived.
func (r *Ring) Ready() bool { return r.cqReady() || (r.ep != nil && r.ep.pending()) }

// reap runs the callbacks of every completion that is ready.
func (r *Ring) reap() (int, error) {
	n := 0
	for {
		head := *r.cqHead
		tail := atomic.LoadUint32(r.cqTail)
		if head == tail {
			return n, nil
		}
		for ; head != tail; head++ {
			c := r.cqes[head&r.cqMask]
			atomic.StoreUint32(r.cqHead, head+1)
			n++
			if err := r.complete(c.userData, c.res, c.flags); err != nil {
				return n, err
			}
		}
	}
}

func (r *Ring) lookup(ud uint64) *Task {
	idx := uint32(ud)
	if int(idx) >= len(r.chunks)*chunkSize {
		return nil
	}
	t := &r.chunks[idx/chunkSize][idx%chunkSize]
	if t.gen != uint32(ud>>32) || t.state != taskInFlight {
		return nil
	}
	return t
}

func (r *Ring) complete(ud uint64, res int32, flags uint32) error {
	if ud&inboxFlag != 0 {
		if ud&postFlag != 0 {
			return r.deliverPost(int32(ud&^(inboxFlag|postFlag)), res)
		}
		return r.deliver(int32(ud&^inboxFlag), res)
	}
	t := r.lookup(ud)
	if t == nil {
		r.stale++
		return nil
	}
	if t.zc != zcNone {
		if flags&(cqeFMore|cqeFNotif) == 0 {
			return r.completeWithNotif(t, res, flags)
		}
		r.countNotif(flags)
	}
	more := flags&cqeFMore != 0
	if !more {
		r.active--
		t.state = taskReserved
	}
	t.Result.Res = res
	t.Result.Flags = flags
	if t.kind != kindUser {
		r.completeInternal(t, res)
		r.release(t)
		return nil
	}
	if flags&cqeFBuffer != 0 && t.group != nil {
		id := uint16(flags >> cqeBufferShift)
		t.bufID = int32(id)
		t.Result.Buf = t.group.buffer(id, res)
	} else {
		t.Result.Buf = nil
	}
	if t.msg != nil && t.Result.Op == OpRecvmsg {
		t.recvmsgDone()
	}
	if t.Result.Op == OpMsgRing && res < 0 {
		r.msgFailed(t)
	}
	if t.Result.Op == OpTimer && res == -int32(unix.ETIME) {
		t.Result.Res = 0
	}
	if flags&cqeFNotif != 0 {
		t.Result.Res = 0 // IORING_NOTIF_USAGE_ZC_COPIED, were it asked for, is no errno
	}
	var err error
	if t.Callback != nil {
		err = t.Callback(r, t)
	}
	if t.bufID >= 0 {
		t.group.Recycle(uint16(t.bufID))
		t.bufID = -1
	}
	if !more {
		r.finish(t)
	}
	return err
}

// countNotif keeps notifs as a completion of a kernel zero-copy send with
// flags arrives: its result, which a notification will follow, or that
// notification.
func (r *Ring) countNotif(flags uint32) {
	if flags&cqeFNotif != 0 {
		r.notifs--
	} else if flags&cqeFMore != 0 {
		r.notifs++
	}
}

// completeWithNotif completes a zero-copy send whose result is final: a
// plain send stood in for it, or the kernel failed it before it took the
// buffer. Its callback runs as the kernel's zero-copy send would have it,
// once with the result and More, and once more with the notification;
// the task stays in flight until then, as it does until a kernel
// notification. The notification runs even when the result's callback
// returns an error, which Run returns after both.
func (r *Ring) completeWithNotif(t *Task, res int32, flags uint32) error {
	t.Result.Res = res
	t.Result.Flags = flags | cqeFMore
	t.Result.Buf = nil
	var err error
	if t.Callback != nil {
		err = t.Callback(r, t)
	}
	r.active--
	t.state = taskReserved
	t.Result.Res = 0
	t.Result.Flags = cqeFNotif
	if t.Callback != nil {
		if nerr := t.Callback(r, t); err == nil {
			err = nerr
		}
	}
	r.finish(t)
	return err
}

// finish retires a task after its final completion.
func (r *Ring) finish(t *Task) {
	if t.timer.Live() {
		r.removeTimer(t.timer)
	}
	r.release(t)
}

// alloc takes a task from the pool.
func (r *Ring) alloc() *Task {
	t := r.free
	if t == nil {
		t = r.reclaimRemote()
		if t == nil {
			r.grow()
			t = r.free
		}
	}
	r.free = t.next
	t.next = nil
	t.state = taskReserved
	return t
}

func (r *Ring) grow() {
	c := new([chunkSize]Task)
	base := uint32(len(r.chunks) * chunkSize)
	r.chunks = append(r.chunks, c)
	for i := chunkSize - 1; i >= 0; i-- {
		t := &c[i]
		t.idx = base + uint32(i)
		t.owner = r
		t.rt = r
		t.bufID = -1
		t.slot = -1
		t.next = r.free
		r.free = t
	}
}

// reclaimRemote takes back the tasks other rings finished with.
func (r *Ring) reclaimRemote() *Task {
	list := r.remoteFree.Swap(nil)
	for list != nil {
		t := list
		list = t.remoteNext
		t.remoteNext = nil
		t.gen = (t.gen + 1) & genMask
		t.state = taskFree
		t.next = r.free
		r.free = t
	}
	return r.free
}

// release returns a task to its owner's pool, dropping every reference it
// held so the pool keeps no caller memory alive.
func (r *Ring) release(t *Task) {
	if t.state == taskFree {
		panic("ourio: task released twice")
	}
	t.Userdata = nil
	t.Callback = nil
	t.Msg = 0
	t.Result = Result{}
	t.kind = kindUser
	t.buf = nil
	clear(t.bufs)
	t.bufs = t.bufs[:0]
	clear(t.iovs)
	t.iovs = t.iovs[:0]
	t.peer = nil
	t.path = t.path[:0]
	t.group = nil
	t.oob = nil
	t.mflags = 0
	if t.msg != nil {
		t.msg.reset()
	}
	t.target = Handle{}
	t.timer = Handle{}
	t.link = Handle{}
	t.bufID = -1
	t.slot = -1
	t.linked = false
	t.zc = zcNone
	if t.owner != r {
		for {
			head := t.owner.remoteFree.Load()
			t.remoteNext = head
			if t.owner.remoteFree.CompareAndSwap(head, t) {
				return
			}
		}
	}
	t.gen = (t.gen + 1) & genMask
	t.state = taskFree
	t.next = r.free
	r.free = t
}

// getSQE returns the next free submission entry, zeroed, submitting what is
// queued when the queue is full.
func (r *Ring) getSQE() (*sqe, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if r.sqeTail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		// With errReapFirst the queue stays full: EBUSY below, and the
		// caller runs the ring.
		if err := r.submitAndWait(0, false); err != nil && err != errReapFirst {
			return nil, err
		}
		if r.sqeTail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
			return nil, unix.EBUSY
		}
	}
	s := &r.sqes[r.sqeTail&r.sqMask]
	*s = sqe{}
	r.sqeTail++
	return s, nil
}

// launch binds a reserved task to a prepared SQE.
func (r *Ring) launch(t *Task, s *sqe, op Op, ctx Ctx) {
	t.Callback = ctx.Callback
	t.Userdata = ctx.Userdata
	t.Msg = ctx.Msg
	t.Result.Op = op
	t.state = taskInFlight
	t.sqePos = r.sqeTail - 1
	r.active++
	s.userData = t.Handle().userData()
}

// start prepares a user operation: it checks kernel support, takes an SQE
// and a task, and links them.
func (r *Ring) start(op Op, ctx Ctx) (*Task, *sqe, error) {
	if !r.supports(op) {
		return nil, nil, &UnsupportedError{What: op.String()}
	}
	if r.allowed != nil && !r.allowed[op] {
		return nil, nil, &UnsupportedError{What: op.String(), Errno: unix.EACCES}
	}
	s, err := r.getSQE()
	if err != nil {
		return nil, nil, err
	}
	t := r.alloc()
	r.launch(t, s, op, ctx)
	return t, s, nil
}

// Submit publishes every prepared operation to the kernel without waiting.
func (r *Ring) Submit() error {
	if r.closed {
		return ErrClosed
	}
	err := r.submitAndWait(0, false)
	if err == nil && r.ep != nil && r.cqReady() {
		// Completions made during Submit: make PollableFd readable, as
		// io_uring's descriptor is, for the poller that calls Run next.
		r.ep.wake()
	}
	if err != errReapFirst {
		return err
	}
	return unix.EBUSY // completions must be run first
}
