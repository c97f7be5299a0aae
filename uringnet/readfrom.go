//go:build linux

package uringnet

import (
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// ReadFrom implements io.ReaderFrom, which io.Copy and net/http's file
// serving use. From a regular *os.File, or an io.LimitedReader around one,
// the bytes go file → pipe → socket as io_uring splice operations and never
// enter user memory, as package net does with sendfile; the file's offset
// ends just past the bytes sent. Any other reader is copied through a
// buffer.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	n, err := c.readFrom(r)
	return n, c.fd.closedWait(&c.fd.wr, err)
}

func (c *Conn) readFrom(r io.Reader) (int64, error) {
	c.fd.raceOrder()
	defer c.fd.raceOrder()
	lr, _ := r.(*io.LimitedReader)
	src, limit := r, int64(-1)
	if lr != nil {
		src, limit = lr.R, lr.N
		if limit <= 0 {
			return 0, nil
		}
	}
	f, ok := src.(*os.File)
	if !ok || c.fd.net == "unixpacket" { // messages of a buffer each, as in package net
		return c.copyFromReader(r)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return c.copyFromReader(r)
	}
	if c.fd.closed.Load() {
		// As package net, whose copy finds the socket closed when it
		// writes: the write's error inside the readfrom's (but the
		// file's offset stays where it was).
		return 0, c.opErr("readfrom", c.opErr("write", net.ErrClosed))
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return c.copyFromReader(r)
	}
	remain := fi.Size() - off
	if limit >= 0 && limit < remain {
		remain = limit
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return c.copyFromReader(r)
	}
	var n int64
	var serr error
	cerr := rc.Control(func(fd uintptr) { n, serr = c.spliceFrom(int(fd), off, remain) })
	if _, err := f.Seek(off+n, io.SeekStart); err != nil && serr == nil {
		serr = err
	}
	if lr != nil {
		lr.N -= n
	}
	if serr == nil {
		serr = cerr
	}
	if serr != nil {
		return n, c.opErr("readfrom", serr)
	}
	return n, nil
}

// copyFromReader is ReadFrom's copy through a buffer, its errors wrapped as
// package net wraps them.
func (c *Conn) copyFromReader(r io.Reader) (int64, error) {
	n, err := c.copyFrom(r)
	if err != nil {
		err = c.opErr("readfrom", err)
	}
	return n, err
}

// spliceFrom moves up to remain bytes from fd at off to the socket through a
// pipe, and returns how many reached the socket.
func (c *Conn) spliceFrom(fd int, off, remain int64) (int64, error) {
	p, chunk, err := newSplicePipe()
	if err != nil {
		return 0, err
	}
	defer p.close()
	s := &c.fd.wr
	s.mu.Lock()
	defer s.mu.Unlock()
	var sent int64
	for remain > 0 {
		want := int(min(remain, int64(chunk)))
		res, err := c.fd.do(s, kindSplice, args{in: fd, off: off + sent, out: p.w, n: want})
		if err != nil {
			return sent, err
		}
		if res < 0 {
			return sent, os.NewSyscallError("splice", unix.Errno(-res))
		}
		if res == 0 {
			break // the file ended early
		}
		m, _, err := c.fd.spliceOut(s, p.r, c.fd.fd, int(res), true)
		sent += int64(m)
		remain -= int64(m)
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}
