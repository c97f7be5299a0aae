//go:build linux

package uringnet

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// engine shares one ring among every goroutine that uses it. Goroutines
// queue operations under mu; one waiting goroutine at a time, the poller,
// submits them, waits in Go's netpoller for the ring's fd and runs the
// completions, which wake the goroutines parked on them (wait.go).
type engine struct {
	mu   sync.Mutex
	ring *core.Ring
	// polling: a goroutine is the poller. Written under mu; read under
	// mu, and without it by the direct calls (direct.go), for which a
	// stale value only picks the flavour of a system call.
	polling atomic.Bool
	asleep  bool   // the poller is parked in the netpoller; guarded by mu
	waiters opList // the parked operations; guarded by mu
	readied uint64 // completions run so far; guarded by mu
	// The poller's operation, and whether its wait in the netpoller has
	// been interrupted (kickPoller); guarded by mu.
	pollerOp *op
	kicked   bool
	// The ring's fd in Go's netpoller, through a duplicate that the
	// netpoller owns, so that nothing closes the ring's own descriptor.
	// file is kept so that its finalizer does not close the duplicate.
	file  *os.File
	rc    syscall.RawConn
	ready func(uintptr) bool // rc.Read's test, bound once: waits allocate nothing
	// ep watches a connection engine's sockets and its ring (ready.go),
	// or is -1; the poller waits for it instead of the ring's fd. events
	// holds nev harvested events; socks and gens map an event's slot to
	// its connection, and free lists unused slots (guarded by mu).
	ep     int
	events []unix.EpollEvent
	nev    int
	socks  []*netFD
	gens   []uint32
	free   []int32
	// The epoll fd in the netpoller, as file and rc are the ring's. A
	// parked poller waits for it (onEp) while Reads wait for readiness
	// (rwWaiting of them), and otherwise for the ring's fd, which costs no
	// epoll_wait of ours; guarded by mu.
	epFile    *os.File
	epRc      syscall.RawConn
	epReady   func(uintptr) bool
	onEp      bool
	rwWaiting int
	// The group ids of UDP sockets' buffer rings (udpbatch.go): the last
	// one given out, and those given back; guarded by mu.
	nextGroup  uint16
	freeGroups []uint16
}

// newEngine creates an engine; with a parent, its ring shares the parent's
// kernel worker pool. An engine for connections watches their readiness
// in an epoll instance of its own (ready.go).
func newEngine(parent *core.Ring, forConns bool) (*engine, error) {
	r, err := newEngineRing(parent)
	if err != nil {
		return nil, err
	}
	pfd, err := r.PollableFd()
	if err != nil {
		r.Close()
		return nil, err
	}
	e := &engine{ring: r, ep: -1}
	e.ready = func(uintptr) bool { return r.Ready() }
	file, rc, err := netpollFile(pfd)
	if err != nil {
		r.Close()
		return nil, err
	}
	e.file, e.rc = file, rc
	if forConns {
		// Without an epoll instance (the fd limit, a seccomp profile),
		// the engine's Reads receive on the ring.
		if epfd, err := e.startEpoll(pfd); err == nil {
			if e.epFile, e.epRc, err = netpollFile(epfd); err != nil {
				unix.Close(epfd)
				e.ep = -1
			}
			e.epReady = func(uintptr) bool { return e.harvest() }
		}
	}
	return e, nil
}

// netpollFile puts a duplicate of fd into Go's netpoller.
func netpollFile(fd int) (*os.File, syscall.RawConn, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return nil, nil, err
	}
	// A non-blocking descriptor makes os.NewFile register it with the
	// netpoller; a file the netpoller refused takes no deadline.
	f := os.NewFile(uintptr(dup), "io_uring")
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("uringnet: the ring's fd cannot wait in the netpoller: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

// The process's engines: one ring each, one per usable core by default, so
// one busy ring does not cap the process. New sockets are spread over them
// round robin.
var (
	enginesOnce  sync.Once
	engines      []*engine
	acceptEngine *engine // the listeners' ring
	enginesErr   error
	nextEngine   atomic.Uint32
	ringsMu      sync.Mutex
	ringCount    int // 0 means runtime.GOMAXPROCS(0)
	ringsFixed   bool
)

// SetRings sets how many rings uringnet spreads its sockets over. It must
// be called before the first Listen, Dial or Available; later calls return
// an error. The default is one ring per usable core (GOMAXPROCS).
func SetRings(n int) error {
	ringsMu.Lock()
	defer ringsMu.Unlock()
	if ringsFixed {
		return errors.New("uringnet: SetRings after the rings were created")
	}
	if n < 1 {
		return errors.New("uringnet: SetRings needs at least one ring")
	}
	ringCount = n
	return nil
}

func startEngines() {
	ringsMu.Lock()
	ringsFixed = true
	n := ringCount
	ringsMu.Unlock()
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	engines, acceptEngine, enginesErr = buildEngines(n)
}

// buildEngines creates n connection engines, or as many as the kernel
// allows past the first, and the listeners' engine.
func buildEngines(n int) (conns []*engine, accept *engine, err error) {
	first, err := newEngine(nil, true)
	if err != nil {
		return nil, nil, err
	}
	conns = append(conns, first)
	for len(conns) < n {
		e, err := newEngine(first.ring, true)
		if err != nil {
			break // fewer rings still work
		}
		conns = append(conns, e)
	}
	// Listeners get a ring of their own. An Accept waits as long as no
	// client connects, so on a ring shared with connections its goroutine
	// would be the poller nearly always, and every connection's wait would
	// cost a second wake-up: the poller's, then the connection goroutine's.
	if e, err := newEngine(first.ring, false); err == nil {
		accept = e
	} else {
		accept = first
	}
	return conns, accept, nil
}

// listenEngine returns the engine for a listening socket.
func listenEngine() (*engine, error) {
	enginesOnce.Do(startEngines)
	if enginesErr != nil {
		return nil, enginesErr
	}
	return acceptEngine, nil
}

// defaultEngine returns the engine for a new socket, creating the engines
// on first use.
func defaultEngine() (*engine, error) {
	enginesOnce.Do(startEngines)
	if enginesErr != nil {
		return nil, enginesErr
	}
	return engines[int(nextEngine.Add(1))%len(engines)], nil
}

// Rings returns how many rings uringnet spreads connections over, creating
// them if needed; 0 when io_uring is unavailable. Listeners have one more
// ring of their own.
func Rings() int {
	enginesOnce.Do(startEngines)
	return len(engines)
}

// Available reports whether io_uring can be used in this process, and if not,
// why (the kernel.io_uring_disabled sysctl, a seccomp profile that denies
// io_uring_setup, an old kernel). When it cannot, Listen and Dial fall back
// to package net unless ListenConfig.NoFallback or Dialer.NoFallback is set.
func Available() error {
	_, err := defaultEngine()
	return err
}
