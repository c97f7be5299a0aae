//go:build linux

package uringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// WriteTo implements io.WriterTo, as *net.TCPConn does: it reads the
// connection until EOF and writes what it reads to w, returning how many
// bytes w received and nil at EOF.
//
// When w is a uringnet Conn, a *net.TCPConn, a stream *net.UnixConn or an
// *os.File that is a pipe or a regular file, the bytes go socket → pipe → w
// as io_uring splice operations and never enter user memory. Any other
// writer is copied through a buffer. Either way the connection's read
// deadline and Close stop the reading, w's own deadline and Close stop the
// writing, and the errors are those package net's WriteTo reports: the
// socket's read error or w's write error, inside a "writeto" *net.OpError.
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	c.fd.raceOrder()
	defer c.fd.raceOrder()
	n, handled, err := c.spliceTo(w)
	if !handled {
		n, err = c.copyTo(w)
	}
	if err != nil {
		return n, c.opErr("writeto", c.fd.closedWait(&c.fd.rd, err))
	}
	return n, nil
}

// pipeSink is a destination that takes bytes straight from a pipe.
type pipeSink interface {
	// fill moves n bytes from the pipe's read end to the destination, or
	// fewer with the error that stopped it, shaped as the destination's
	// Write would report it.
	fill(pipe, n int) (int, error)
}

// spliceTo copies the socket to w through a pipe when w takes splices. It
// reports handled false when it moved nothing and the caller should copy
// through a buffer instead.
func (c *Conn) spliceTo(w io.Writer) (written int64, handled bool, err error) {
	if c.fd.net == "unixpacket" {
		// A splice would run messages together: each goes through a
		// buffer, one Read and one Write, as with *net.UnixConn.
		return 0, false, nil
	}
	sink := c.sinkFor(w)
	if sink == nil {
		return 0, false, nil
	}
	return c.spliceVia(sink, w)
}

// spliceVia runs spliceTo's copy into sink, which splices into w.
func (c *Conn) spliceVia(sink pipeSink, w io.Writer) (written int64, handled bool, err error) {
	p, chunk, err := newSplicePipe()
	if err != nil {
		return 0, false, nil
	}
	defer p.close()
	for {
		// The pipe is empty here: a chunk that entered it has been
		// handed on whole, so the read deadline or Close striking now
		// strands nothing.
		n, err := c.drain(p.w, chunk)
		if err != nil {
			if !handled && errors.Is(err, unix.EINVAL) {
				return 0, false, nil // the socket cannot be spliced from; nothing moved
			}
			return written, true, err
		}
		handled = true
		if n == 0 {
			return written, true, nil
		}
		m, err := sink.fill(p.r, n)
		written += int64(m)
		if err == nil {
			continue
		}
		if errors.Is(err, unix.EINVAL) {
			// w does not take splices after all: hand it what is in the
			// pipe by Write and copy the rest through a buffer.
			m, err := rescuePipe(p.r, n-m, w)
			written += m
			if err != nil {
				return written, true, err
			}
			m, err = c.copyTo(w)
			return written + m, true, err
		}
		return written, true, err
	}
}

// drain splices up to limit bytes from the socket into the pipe's write end,
// waiting on the ring for them to arrive; 0 means EOF. Its errors are
// shaped as Read's. The read side is held only for this, so Close and other
// readers are never held up by a slow destination.
func (c *Conn) drain(pipe, limit int) (int, error) {
	s := &c.fd.rd
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		res, err := c.fd.do(s, kindSplice, args{in: c.fd.fd, off: -1, out: pipe, n: limit})
		if err != nil {
			return 0, c.opErr("read", err)
		}
		if res == -int32(unix.EAGAIN) {
			// The socket is non-blocking and has nothing yet.
			if res, err = c.fd.do(s, kindPollIn, args{}); err != nil {
				return 0, c.opErr("read", err)
			}
			if res < 0 {
				return 0, c.opErr("read", os.NewSyscallError("poll", unix.Errno(-res)))
			}
			continue
		}
		if res < 0 {
			return 0, c.opErr("read", os.NewSyscallError("splice", unix.Errno(-res)))
		}
		return int(res), nil
	}
}

// connSink splices into another uringnet Conn on its own write side, so its
// write deadline and Close apply as they do to its Write.
type connSink struct{ c *Conn }

func (d connSink) fill(pipe, n int) (int, error) {
	s := &d.c.fd.wr
	s.mu.Lock()
	defer s.mu.Unlock()
	done, _, err := d.c.fd.spliceOut(s, pipe, d.c.fd.fd, n, true)
	if err != nil {
		return done, d.c.opErr("write", err)
	}
	return done, nil
}

// rawSink splices into a descriptor that Go's runtime owns (a net conn or
// an os.File) from inside its RawConn's Write callback, which keeps the
// descriptor open, and lets the runtime wait for room on EAGAIN under w's
// own write deadline. The splices run on the source's ring through carrier,
// a netFD of its own that nothing closes.
type rawSink struct {
	rc      syscall.RawConn
	carrier *netFD
	wrap    func(error) error // shapes an error as w's Write would
	step    func(fd uintptr) bool
	// One fill's state, shared with step.
	pipe, n, done int
	err           error
}

func newRawSink(c *Conn, rc syscall.RawConn, wrap func(error) error) *rawSink {
	d := &rawSink{rc: rc, carrier: newFD(c.fd.e, -1, c.fd.net), wrap: wrap}
	d.step = d.splice // bound once, so fill allocates nothing
	return d
}

func (d *rawSink) splice(fd uintptr) bool {
	m, eagain, err := d.carrier.spliceOut(&d.carrier.wr, d.pipe, int(fd), d.n-d.done, false)
	d.done += m
	d.err = err
	return !eagain
}

func (d *rawSink) fill(pipe, n int) (int, error) {
	s := &d.carrier.wr
	s.mu.Lock()
	defer s.mu.Unlock()
	d.pipe, d.n, d.done, d.err = pipe, n, 0, nil
	err := d.rc.Write(d.step)
	if err == nil {
		err = d.err
	}
	if err != nil {
		return d.done, d.wrap(err)
	}
	return d.done, nil
}

// sinkFor returns how to splice into w, or nil when w is copied through a
// buffer.
func (c *Conn) sinkFor(w io.Writer) pipeSink {
	switch w := w.(type) {
	case *Conn:
		if w.fd.net == "unixpacket" { // a splice would not keep messages
			return nil
		}
		return connSink{w}
	case *net.TCPConn:
		return c.netSink(w)
	case *net.UnixConn:
		return c.netSink(w)
	case *os.File:
		rc, err := w.SyscallConn()
		if err != nil || !spliceable(rc, true) {
			return nil
		}
		return newRawSink(c, rc, func(err error) error {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return err
			}
			return &os.PathError{Op: "write", Path: w.Name(), Err: err}
		})
	}
	return nil
}

// netSink splices into a package net stream connection; its errors read as
// its Write's.
func (c *Conn) netSink(w interface {
	net.Conn
	SyscallConn() (syscall.RawConn, error)
}) pipeSink {
	rc, err := w.SyscallConn()
	if err != nil || !spliceable(rc, false) {
		return nil
	}
	laddr, raddr := w.LocalAddr(), w.RemoteAddr()
	return newRawSink(c, rc, func(err error) error {
		if oe, ok := err.(*net.OpError); ok { // raw-write's wrapping
			err = oe.Err
		}
		return &net.OpError{Op: "write", Net: laddr.Network(), Source: laddr, Addr: raddr, Err: err}
	})
}

// spliceable reports whether the descriptor behind rc takes splices whole:
// a stream socket, a pipe, or (for files) a regular file opened for writing
// without O_APPEND, which splice refuses.
func spliceable(rc syscall.RawConn, file bool) bool {
	ok := false
	err := rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil || fl&unix.O_ACCMODE == unix.O_RDONLY {
			return
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFSOCK:
			typ, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
			ok = err == nil && typ == unix.SOCK_STREAM
		case unix.S_IFIFO:
			ok = file
		case unix.S_IFREG:
			ok = file && fl&unix.O_APPEND == 0
		}
	})
	return err == nil && ok
}

// rescuePipe reads the n bytes left in the pipe and writes them to w, so
// nothing read from the socket is dropped when w turns out not to take
// splices.
func rescuePipe(pipe, n int, w io.Writer) (int64, error) {
	buf := make([]byte, n)
	for got := 0; got < n; {
		m, err := unix.Read(pipe, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("read", err)
		}
		got += m
	}
	m, err := w.Write(buf)
	return int64(m), err
}
