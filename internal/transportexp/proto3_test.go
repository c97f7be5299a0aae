package transportexp

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// rthread: one locked OS thread owns a SINGLE_ISSUER|DEFER_TASKRUN ring; all
// completion work runs there. Goroutines never enter the ring: reads come
// from multishot receives, writes go straight to write(2).
type rthread struct {
	ring     *core.Ring
	br       *core.BufRing
	bufMu    sync.Mutex
	mu       sync.Mutex
	queue    []*tconn
	sleeping atomic.Bool
	efd      int
	ebuf     [8]byte
}

type tconn struct {
	t       *rthread
	fd      int
	mu      sync.Mutex
	pending []chunk
	off     int
	armed   bool
	eof     bool
	err     error
	waiting bool
	rd      chan struct{}
}

func newRThread() *rthread {
	rt := &rthread{}
	ready := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		r, err := core.New(core.Options{Entries: 1024, CQEntries: 8192, SingleIssuer: true})
		if err != nil {
			panic(err)
		}
		rt.ring = r
		rt.br, err = r.NewBufRing(1, 4096, 4096)
		if err != nil {
			panic(err)
		}
		rt.efd, _ = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		r.PollMultishot(rt.efd, unix.POLLIN, core.Ctx{Callback: func(core.Runtime, *core.Task) error {
			unix.Read(rt.efd, rt.ebuf[:])
			return nil
		}})
		close(ready)
		for {
			rt.mu.Lock()
			q := rt.queue
			rt.queue = nil
			rt.mu.Unlock()
			for _, c := range q {
				r.RecvMultishot(c.fd, rt.br, core.Ctx{Callback: trecv, Userdata: c})
			}
			rt.sleeping.Store(true)
			rt.mu.Lock()
			n := len(rt.queue)
			rt.mu.Unlock()
			if n > 0 {
				rt.sleeping.Store(false)
				continue
			}
			r.Run(core.Once)
			rt.sleeping.Store(false)
		}
	}()
	<-ready
	return rt
}

func (rt *rthread) arm(c *tconn) {
	rt.mu.Lock()
	rt.queue = append(rt.queue, c)
	rt.mu.Unlock()
	if rt.sleeping.Load() {
		unix.Write(rt.efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

func trecv(_ core.Runtime, t *core.Task) error {
	c := core.UserdataAs[*tconn](t)
	c.mu.Lock()
	if buf, id, ok := t.TakeBuffer(); ok && len(buf) > 0 {
		c.pending = append(c.pending, chunk{id, buf})
	} else if ok {
		c.t.recycle(id)
	}
	if !t.More() {
		c.armed = false
		switch {
		case t.Result.Res == 0:
			c.eof = true
		case t.Result.Res < 0 && t.Result.Res != -int32(unix.ENOBUFS):
			c.err = syscall.Errno(-t.Result.Res)
		}
	}
	wake := c.waiting
	c.waiting = false
	c.mu.Unlock()
	if wake {
		c.rd <- struct{}{}
	}
	return nil
}

func (rt *rthread) recycle(id uint16) {
	rt.bufMu.Lock()
	rt.br.Recycle(id)
	rt.bufMu.Unlock()
}

func (c *tconn) Read(b []byte) (int, error) {
	c.mu.Lock()
	for len(c.pending) == 0 {
		if c.eof {
			c.mu.Unlock()
			return 0, io.EOF
		}
		if c.err != nil {
			c.mu.Unlock()
			return 0, c.err
		}
		if !c.armed {
			c.armed = true
			c.t.arm(c)
		}
		c.waiting = true
		c.mu.Unlock()
		<-c.rd
		c.mu.Lock()
	}
	ch := &c.pending[0]
	n := copy(b, ch.buf[c.off:])
	c.off += n
	done := c.off == len(ch.buf)
	id := ch.id
	if done {
		c.off = 0
		c.pending = c.pending[:copy(c.pending, c.pending[1:])]
	}
	c.mu.Unlock()
	if done {
		c.t.recycle(id)
	}
	return n, nil
}

func (c *tconn) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Write(c.fd, b[n:])
		if err != nil {
			return n, err // prototype: no EAGAIN path
		}
		n += m
	}
	return n, nil
}
