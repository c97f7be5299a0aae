package transportexp

import (
	"os"
	"sync"
	"syscall"

	"github.com/ourio-go/ourio/core"
)

// loop shares one ring between every goroutine using it. Goroutines submit
// under mu and park on their op's channel; completions are reaped by
// whichever goroutine holds mu next, or by the reaper goroutine, which waits
// for the ring's fd in Go's own netpoller rather than in io_uring_enter, so
// no thread is blocked outside the Go scheduler.
type loop struct {
	mu     sync.Mutex
	ring   *core.Ring
	file   *os.File
	rc     syscall.RawConn
	closed bool
}

func newLoop() (*loop, error) {
	r, err := core.New(core.Options{Entries: 1024, CQEntries: 8192})
	if err != nil {
		return nil, err
	}
	pfd, err := r.PollableFd()
	if err != nil {
		r.Close()
		return nil, err
	}
	dup, err := syscall.Dup(pfd)
	if err != nil {
		r.Close()
		return nil, err
	}
	syscall.SetNonblock(dup, true)
	f := os.NewFile(uintptr(dup), "io_uring")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		r.Close()
		return nil, err
	}
	l := &loop{ring: r, file: f, rc: rc}
	go l.reap()
	return l, nil
}

func (l *loop) reap() {
	l.rc.Read(func(uintptr) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed {
			return true
		}
		l.ring.Run(core.NoWait)
		return false
	})
}

// op is a parked goroutine's completion slot; one per conn direction, reused.
type op struct {
	done  chan struct{}
	res   int32
	flags uint32
}

func newOp() *op { return &op{done: make(chan struct{}, 1)} }

func opDone(_ core.Runtime, t *core.Task) error {
	o := core.UserdataAs[*op](t)
	o.res = t.Result.Res
	o.flags = t.Result.Flags
	o.done <- struct{}{}
	return nil
}
