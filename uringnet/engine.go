package uringnet

import (
	"os"
	"sync"
	"syscall"

	"github.com/ourio-go/ourio/core"
)

// engine shares one ring among every goroutine that uses it. Goroutines
// submit under mu and park on their operation's channel. Completions are run
// by whoever holds mu next, or by the reaper goroutine, which waits for the
// ring's fd in Go's own netpoller rather than in io_uring_enter, so no OS
// thread is blocked outside the Go scheduler.
type engine struct {
	mu   sync.Mutex
	ring *core.Ring
	file *os.File
	rc   syscall.RawConn
}

func newEngine() (*engine, error) {
	r, err := core.New(core.Options{Entries: 1024, CQEntries: 8192})
	if err != nil {
		return nil, err
	}
	pfd, err := r.PollableFd()
	if err != nil {
		r.Close()
		return nil, err
	}
	// The netpoller owns a duplicate so closing the file never closes the
	// ring's own descriptor.
	dup, err := syscall.Dup(pfd)
	if err != nil {
		r.Close()
		return nil, err
	}
	syscall.CloseOnExec(dup)
	if err := syscall.SetNonblock(dup, true); err != nil {
		syscall.Close(dup)
		r.Close()
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "io_uring")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		r.Close()
		return nil, err
	}
	e := &engine{ring: r, file: f, rc: rc}
	go e.reap()
	return e, nil
}

// reap runs completions whenever the ring's fd polls readable. The engine
// lives as long as the process.
func (e *engine) reap() {
	e.rc.Read(func(uintptr) bool {
		e.mu.Lock()
		e.ring.Run(core.NoWait)
		e.mu.Unlock()
		return false
	})
}

var (
	engineOnce sync.Once
	theEngine  *engine
	engineErr  error
)

// defaultEngine returns the process's engine, creating it on first use.
func defaultEngine() (*engine, error) {
	engineOnce.Do(func() { theEngine, engineErr = newEngine() })
	return theEngine, engineErr
}

// Available reports whether io_uring can be used in this process, and if not,
// why (the kernel.io_uring_disabled sysctl, a seccomp profile that denies
// io_uring_setup, an old kernel). When it cannot, Listen and Dial fall back
// to package net unless Config.NoFallback is set.
func Available() error {
	_, err := defaultEngine()
	return err
}
