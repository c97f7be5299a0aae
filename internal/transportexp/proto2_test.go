package transportexp

import (
	"io"
	"syscall"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

type chunk struct {
	id  uint16
	buf []byte
}

type mconn struct {
	l       *loop
	br      *core.BufRing
	fd      int
	pending []chunk
	off     int
	armed   bool
	eof     bool
	err     error
	waiting bool
	rd      chan struct{}
	wr      *op
	direct  bool
}

func mrecv(_ core.Runtime, t *core.Task) error {
	c := core.UserdataAs[*mconn](t)
	if buf, id, ok := t.TakeBuffer(); ok && len(buf) > 0 {
		c.pending = append(c.pending, chunk{id, buf})
	} else if ok {
		c.br.Recycle(id)
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
	if c.waiting {
		c.waiting = false
		c.rd <- struct{}{}
	}
	return nil
}

func (c *mconn) Read(b []byte) (int, error) {
	l := c.l
	l.mu.Lock()
	for len(c.pending) == 0 {
		if c.eof {
			l.mu.Unlock()
			return 0, io.EOF
		}
		if c.err != nil {
			l.mu.Unlock()
			return 0, c.err
		}
		if !c.armed {
			if _, err := l.ring.RecvMultishot(c.fd, c.br, core.Ctx{Callback: mrecv, Userdata: c}); err != nil {
				l.mu.Unlock()
				return 0, err
			}
			c.armed = true
			l.ring.Run(core.NoWait)
			if len(c.pending) > 0 {
				break
			}
		}
		c.waiting = true
		l.mu.Unlock()
		<-c.rd
		l.mu.Lock()
	}
	ch := &c.pending[0]
	n := copy(b, ch.buf[c.off:])
	c.off += n
	if c.off == len(ch.buf) {
		c.br.Recycle(ch.id)
		c.off = 0
		c.pending = c.pending[:copy(c.pending, c.pending[1:])]
	}
	l.mu.Unlock()
	return n, nil
}

func (c *mconn) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if c.direct {
			m, err := unix.Write(c.fd, b[n:])
			if err == nil {
				n += m
				continue
			}
			if err != unix.EAGAIN {
				return n, err
			}
		}
		c.l.mu.Lock()
		_, err := c.l.ring.Send(c.fd, b[n:], unix.MSG_NOSIGNAL, core.Ctx{Callback: opDone, Userdata: c.wr})
		if err == nil {
			err = c.l.ring.Run(core.NoWait)
		}
		c.l.mu.Unlock()
		if err != nil {
			return n, err
		}
		<-c.wr.done
		if c.wr.res < 0 {
			return n, syscall.Errno(-c.wr.res)
		}
		n += int(c.wr.res)
	}
	return n, nil
}
