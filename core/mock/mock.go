// Package mock provides Ring, a core.Runtime that completes operations with
// results the test scripts instead of a kernel, so application code written
// against the callback API is unit-tested without io_uring.
//
// # Scripting
//
// An operation completes only when its result is known. Results are queued
// per descriptor and operation with Script, and Run hands them out in order
// to the operations waiting for them, earliest submitted first:
//
//	m := mock.New(t)
//	m.Script(conn, core.OpRecv, mock.Data([]byte("hello\n")), mock.EOF())
//	m.Script(sock, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
//	m.Script(lfd, core.OpAccept, mock.Res(7)) // accept returns fd 7
//
// The replies are Data (bytes a recv, read or readv delivers), EOF, Errno,
// Res (a count, descriptor or poll mask), OK (Res(0)), Accepted (a
// descriptor and peer address) and Stat (a statx result).
//
// Operations that wait on the outside world, Accept, Connect, Recv, Read,
// Readv, Splice, Poll, Socket, Openat and Statx, stay pending until a reply
// is scripted for them. Send, Write, Writev, Shutdown and CloseFd succeed in
// full unless a reply is scripted (Res(n) makes a send short, Errno fails
// it); the bytes the application sends or writes are recorded and returned
// by Sent. Socket has no descriptor: script it on NoFd. Openat and Statx are
// scripted on their dirfd (usually unix.AT_FDCWD), Splice on its input
// descriptor.
//
// Multishot operations take every reply scripted for them, one completion
// each with More set, until a reply ends them: EOF or an error for
// RecvMultishot (which takes a buffer from its BufRing for each receive and
// fails with ENOBUFS when the ring is empty), an error for AcceptMultishot
// and PollMultishot. Data longer than the receiving buffer is delivered over
// several receives, as a stream socket would.
//
// Timers fire only when the test says so: FireTimers fires every pending
// timer, and Advance moves the fake clock (Now) and fires the timers and
// deadlines it reaches. A Timer of zero or less fires at once.
// ExpireDeadlines cancels every operation given a deadline with SetDeadline;
// they complete with ECANCELED.
//
// # Faults
//
// Callback code must survive what a kernel does on a bad day, and the mock
// does it on demand:
//
//   - short receives: Data(b).Chunk(n) delivers b at most n bytes per
//     completion; short sends: Res(n) on a send.
//   - a connection reset mid-stream: ConnReset, after the Data the peer
//     sent first. The operation that takes it fails with ECONNRESET; later
//     receives see end of stream and sends fail with EPIPE, as on Linux.
//   - ENOBUFS on a multishot receive: Errno(syscall.ENOBUFS) (it also comes
//     by itself when the buffer ring runs dry).
//   - a multishot operation ending without core.CQEFlagMore on a success:
//     Final.
//   - completions out of order: Reverse.
//   - a cancel racing the completion it cancels: ScriptCancel with
//     CancelWins, CancelTooLate or CancelRunning, each completing as the
//     kernel's cancel does in that case.
//
// For property tests, SetFaults turns on a random-fault mode that injects
// the same faults with the probabilities of a Faults, drawn from a seeded
// generator: the same seed gives the same run, and Injected tells what was
// injected. Run a test over many seeds, one subtest per seed, so that a
// failure names the seed that replays it; the package's echo server
// example does so.
//
// # Semantics
//
// Completions behave as on a core.Ring: callbacks run only inside Run, in
// submission order (unless Reverse or the random-fault mode reorders them),
// with the task's Userdata and Msg; a multishot operation
// keeps its task until its final completion, and a zero-copy send until its
// notification, which follows its result; Handle.Cancel completes the
// target with ECANCELED and the cancel with nil, or ENOENT when the target
// had already completed (as from the kernel, the cancel's callback runs
// first), unless ScriptCancel or the random-fault mode makes it lose the
// race; errors are syscall.Errno values; a callback error
// stops Run and is returned, and completions not yet run wait for the next
// Run. Run(UntilDone) returns once nothing pending can complete (Active
// reports what still waits for a reply); Run(Once) returns ErrWouldBlock
// instead of blocking when nothing can complete. MsgRing delivers a task to
// another mock.Ring, whose Run runs it with Result.Op core.OpMessage; the
// rings may run on different goroutines.
//
// # Platforms
//
// The mock needs no kernel and works on every platform Go builds for, so
// callback code is unit-tested on macOS or Windows as on Linux, although a
// core.Ring exists only on Linux. Errors are the platform's syscall.Errno
// values (x/sys/unix's on Unix systems, package syscall's on Windows), and
// the flags, events and modes the operations take are passed through
// without being interpreted, so any platform's constants, or plain numbers,
// serve. Stat takes a core.Statx, which is x/sys/unix's Statx_t on Linux.
//
// # Descriptors
//
// The Ring tracks descriptors: those Accept, Socket and Openat return, and
// those the test hands the application with RegisterFd, must be closed
// through CloseFd exactly once. A descriptor still open when the test ends
// fails the test, and so does closing one twice or closing one the Ring
// never saw opened (the close then fails with EBADF, as the kernel's would).
package mock

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
)

var _ core.Runtime = (*Ring)(nil)

// NoFd is the descriptor Socket results are scripted on, since a socket
// operation names no descriptor of its own.
const NoFd = -1

// ErrWouldBlock is returned by Run(Once) when no operation can complete: a
// core.Ring would block there, waiting for results the test has not
// scripted.
var ErrWouldBlock = errors.New("mock: Run(Once) would block: no operation can complete")

// errNotMock is returned when MsgRing's target is not a *mock.Ring.
var errNotMock = errors.New("mock: MsgRing target is not a *mock.Ring")

// Ring is a core.Runtime whose operations complete with scripted results;
// see the package documentation. Create it with New. A Ring is used by one
// goroutine at a time, like a core.Ring; only MsgRing reaches across.
type Ring struct {
	tb      testing.TB
	running atomic.Bool

	seq     uint64
	sq      []*op // submitted, not yet seen by the emulated kernel
	pending []*op // in flight, in submission order
	cq      []cqe // completions whose callbacks have not run
	byTask  map[*core.Task]*op

	reserved map[*core.Task]bool // tasks from GetTask not yet sent

	scripts map[scriptKey][]Reply
	sent    map[int][]byte
	now     time.Time

	resetFds map[int]bool    // descriptors whose peer reset the connection
	races    []CancelOutcome // outcomes ScriptCancel queued for the next cancels
	faults   *faultState     // the random-fault mode, nil when off
	reverse  bool            // Reverse: deliver the next batch in reverse

	fds      map[int]string // open descriptors and what opened them
	closed   map[int]bool   // descriptors closed at least once
	problems []error

	bufRings []*core.BufRing

	inboxMu sync.Mutex
	inbox   []*core.Task // tasks other rings sent with MsgRing
}

type scriptKey struct {
	fd int
	op core.Op
}

// New returns a mock Ring for the test tb. When the test ends, any
// descriptor still open fails it, and the Ring's buffer rings are released.
// tb may be nil outside tests; then call Verify to check descriptors.
func New(tb testing.TB) *Ring {
	m := &Ring{
		tb:       tb,
		byTask:   make(map[*core.Task]*op),
		reserved: make(map[*core.Task]bool),
		scripts:  make(map[scriptKey][]Reply),
		sent:     make(map[int][]byte),
		now:      time.Now(),
		fds:      make(map[int]string),
		closed:   make(map[int]bool),
		resetFds: make(map[int]bool),
	}
	if tb != nil {
		tb.Helper()
		tb.Cleanup(m.cleanup)
	}
	return m
}

func (m *Ring) cleanup() {
	for _, err := range m.leaks() {
		m.tb.Errorf("%v", err)
	}
	for _, br := range m.bufRings {
		br.Close()
	}
	m.bufRings = nil
}

// Reply is one scripted result. Make it with Data, EOF, Errno, Res, OK,
// Accepted, Stat or ConnReset, and shape it with Chunk or Final.
type Reply struct {
	data    []byte
	isData  bool
	res     int32
	err     syscall.Errno
	peer    netip.AddrPort
	oob     []byte
	isMsg   bool
	statx   *core.Statx
	isStatx bool
	chunk   int  // most bytes one completion takes from data; 0 for no bound
	final   bool // the multishot completion that takes this reply ends the operation
	reset   bool // the peer resets the connection
}

// Data is a reply for Recv, RecvMultishot, Read and Readv that delivers b.
// What does not fit the receiving buffer is delivered by the next receives,
// as from a stream socket. b is copied.
func Data(b []byte) Reply {
	return Reply{data: slices.Clone(b), isData: true}
}

// EOF is a reply that completes a receive or read with 0 bytes: end of
// stream. It ends a RecvMultishot.
func EOF() Reply { return Reply{isData: true} }

// Errno is a reply that fails the operation with errno, e.g.
// syscall.ECONNREFUSED for Connect or syscall.ECONNRESET for Recv.
func Errno(errno syscall.Errno) Reply { return Reply{err: errno} }

// Res is a reply with the plain result n: the descriptor Accept, Socket or
// Openat returns (the Ring then tracks it as open), the count Send, Write,
// Writev or Splice reports (a short count makes a short write; only that
// many bytes are recorded), or the ready mask a Poll reports.
func Res(n int) Reply { return Reply{res: int32(n)} }

// OK is Res(0): success for Connect, Shutdown or CloseFd.
func OK() Reply { return Res(0) }

// Accepted is a reply for Accept and AcceptMultishot that returns the new
// descriptor fd with peer as the task's RemoteSockaddr.
func Accepted(fd int, peer netip.AddrPort) Reply {
	return Reply{res: int32(fd), peer: peer}
}

// Stat is a reply for Statx that reports st.
func Stat(st core.Statx) Reply { return Reply{statx: &st, isStatx: true} }

// value is the result the reply gives an operation that moves no data.
func (r *Reply) value() int32 {
	switch {
	case r.reset:
		return -int32(syscall.ECONNRESET)
	case r.err != 0:
		return -int32(r.err)
	case r.isData:
		return int32(len(r.data))
	}
	return r.res
}

// scriptable lists the operations that take scripted replies.
var scriptable = map[core.Op]bool{
	core.OpAccept: true, core.OpConnect: true, core.OpRecv: true,
	core.OpSend: true, core.OpRead: true, core.OpWrite: true,
	core.OpReadv: true, core.OpWritev: true, core.OpSplice: true,
	core.OpClose: true, core.OpPoll: true, core.OpSocket: true,
	core.OpShutdown: true, core.OpOpenat: true, core.OpStatx: true,
	core.OpSendmsg: true, core.OpRecvmsg: true,
	core.OpSendZC: true, core.OpSendmsgZC: true,
}

// Script queues replies for the next operations op on fd, in order; one
// operation takes one reply (a multishot operation one per completion).
// Scripts may be added at any time, also from callbacks; operations
// waiting for them complete on the next Run. op must be an operation with
// results to script: not Nop, Timer, Cancel or MsgRing, which complete on
// their own.
func (m *Ring) Script(fd int, op core.Op, replies ...Reply) {
	if !scriptable[op] {
		panic(fmt.Sprintf("mock: %s results cannot be scripted", op))
	}
	k := scriptKey{fd, op}
	m.scripts[k] = append(m.scripts[k], replies...)
}

// RegisterFd records fd as open, as if the application had obtained it
// outside the runtime; it must then be closed through CloseFd.
func (m *Ring) RegisterFd(fd int) { m.opened(fd, "RegisterFd") }

// Sent returns the bytes the application sent or wrote on fd with Send,
// SendZC, Sendmsg, SendmsgZC, Write and Writev, in completion order
// (offsets are ignored).
func (m *Ring) Sent(fd int) []byte { return slices.Clone(m.sent[fd]) }

// Now returns the fake clock, which starts at the time New was called and
// moves only with Advance.
func (m *Ring) Now() time.Time { return m.now }

// Advance moves the fake clock by d. Timers and deadlines it reaches fire on
// the next Run. Times the application computes from time.Now() lie a little
// after Now()+d, since the real clock has moved on since New: advance a
// little further, or use FireTimers and ExpireDeadlines.
func (m *Ring) Advance(d time.Duration) { m.now = m.now.Add(d) }

// FireTimers makes every timer submitted and not yet completed fire on the
// next Run, whatever its due time, and returns how many there are.
func (m *Ring) FireTimers() int {
	n := 0
	for _, o := range m.inFlight() {
		if o.kind == core.OpTimer && !o.fired {
			o.fired = true
			n++
		}
	}
	return n
}

// ExpireDeadlines makes every operation that has a deadline (SetDeadline)
// and has not completed time out: on the next Run it completes with
// ECANCELED. It returns how many there are.
func (m *Ring) ExpireDeadlines() int {
	n := 0
	for _, o := range m.inFlight() {
		if o.hasDeadline && !o.expired {
			o.expired = true
			n++
		}
	}
	return n
}

// Active returns how many submitted tasks still await their final
// completion, like core.Ring.Active.
func (m *Ring) Active() int { return len(m.byTask) }

// Verify returns the descriptor problems found so far: descriptors still
// open, closed twice, or closed without being opened. With a testing.TB,
// the Ring reports these itself; Verify is for use without one.
func (m *Ring) Verify() error {
	return errors.Join(append(slices.Clone(m.problems), m.leaks()...)...)
}

func (m *Ring) leaks() []error {
	fds := make([]int, 0, len(m.fds))
	for fd := range m.fds {
		fds = append(fds, fd)
	}
	slices.Sort(fds)
	var errs []error
	for _, fd := range fds {
		errs = append(errs, fmt.Errorf("mock: fd %d (from %s) was never closed", fd, m.fds[fd]))
	}
	return errs
}

func (m *Ring) problem(format string, args ...any) {
	err := fmt.Errorf("mock: "+format, args...)
	m.problems = append(m.problems, err)
	if m.tb != nil {
		m.tb.Errorf("%v", err)
	}
}

// opened records fd as open, returned by what.
func (m *Ring) opened(fd int, what string) {
	if by, ok := m.fds[fd]; ok {
		m.problem("fd %d from %s is already open (from %s)", fd, what, by)
		return
	}
	m.fds[fd] = what
	delete(m.resetFds, fd)
}

// closeFd records fd as closed, reporting whether it was open.
func (m *Ring) closeFd(fd int) bool {
	delete(m.resetFds, fd)
	if _, ok := m.fds[fd]; ok {
		delete(m.fds, fd)
		m.closed[fd] = true
		return true
	}
	if m.closed[fd] {
		m.problem("fd %d closed twice", fd)
	} else {
		m.problem("close of fd %d, which was never opened", fd)
	}
	return false
}
