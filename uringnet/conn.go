//go:build linux

package uringnet

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is a stream connection (TCP or unix) whose reads and writes are
// io_uring operations. It implements net.Conn and the methods of
// *net.TCPConn and *net.UnixConn that servers use.
type Conn struct {
	fd *netFD
}

var _ net.Conn = (*Conn)(nil)

func newConn(fd *netFD) *Conn {
	fd.e.watch(fd)
	return &Conn{fd: fd}
}

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: c.fd.net, Source: c.fd.laddr, Addr: c.fd.raddr, Err: err}
}

// setErr wraps an error of SetDeadline, SetReadBuffer and the like the way
// package net's conn does: no source, the local address as Addr.
func (c *Conn) setErr(err error) error {
	return &net.OpError{Op: "set", Net: c.fd.net, Addr: c.fd.laddr, Err: err}
}

// Read reads into b. It returns io.EOF when the peer has closed its side.
// When Read returns, the kernel no longer touches b.
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		if c.fd.closed.Load() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		return 0, nil
	}
	if len(b) > maxRW {
		b = b[:maxRW]
	}
	c.fd.raceOrder()
	s := &c.fd.rd
	s.mu.Lock()
	res, err := c.fd.do(s, kindRecv, args{buf: b})
	s.mu.Unlock()
	c.fd.raceOrder()
	switch {
	case err != nil:
		return 0, c.opErr("read", c.fd.closedWait(s, err))
	case res < 0:
		return 0, c.opErr("read", os.NewSyscallError("read", syscall.Errno(-res)))
	case res == 0:
		return 0, io.EOF
	}
	return int(res), nil
}

// maxRW bounds one operation's length, as package net does.
const maxRW = 1 << 30

// Write writes all of b, or returns how much was written with the error
// that stopped it. When Write returns, the kernel no longer touches b.
func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.write(b)
	return n, c.fd.closedWait(&c.fd.wr, err)
}

func (c *Conn) write(b []byte) (int, error) {
	c.fd.raceOrder()
	defer c.fd.raceOrder()
	s := &c.fd.wr
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) == 0 && isUnix(c.fd.net) {
		// As in package net, a unix socket's empty Write is a send: on
		// a unixpacket socket a zero-length message, which the peer
		// reads as io.EOF, and on either a broken pipe once the socket
		// can no longer send.
		res, err := c.fd.do(s, kindSend, args{})
		if err != nil {
			return 0, c.opErr("write", err)
		}
		if res < 0 {
			return 0, c.opErr("write", os.NewSyscallError("write", syscall.Errno(-res)))
		}
		return 0, nil
	}
	n := 0
	for n < len(b) {
		chunk := b[n:]
		if len(chunk) > maxRW {
			chunk = chunk[:maxRW]
		}
		res, err := c.fd.do(s, kindSend, args{buf: chunk})
		if err != nil {
			return n, c.opErr("write", err)
		}
		if res < 0 {
			return n, c.opErr("write", os.NewSyscallError("write", syscall.Errno(-res)))
		}
		n += int(res)
	}
	if len(b) == 0 && c.fd.closed.Load() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	return n, nil
}

// Close closes the connection, unblocking any Read or Write with an error
// that matches net.ErrClosed.
func (c *Conn) Close() error {
	c.fd.raceOrder()
	if err := c.fd.Close(); err != nil {
		return c.opErr("close", err)
	}
	return nil
}

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.fd.laddr }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.fd.raddr }

// SetDeadline sets both the read and the write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	if c.fd.closed.Load() {
		return c.setErr(net.ErrClosed)
	}
	c.fd.rd.setDeadline(t)
	c.fd.wr.setDeadline(t)
	return nil
}

// SetReadDeadline sets the deadline for Read, including one already
// blocked; past it Read fails with an error matching os.ErrDeadlineExceeded.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.fd.closed.Load() {
		return c.setErr(net.ErrClosed)
	}
	c.fd.rd.setDeadline(t)
	return nil
}

// SetWriteDeadline sets the deadline for Write, including one already
// blocked.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.fd.closed.Load() {
		return c.setErr(net.ErrClosed)
	}
	c.fd.wr.setDeadline(t)
	return nil
}

// CloseRead shuts down the reading side of the connection.
func (c *Conn) CloseRead() error { return c.shutdown(unix.SHUT_RD) }

// CloseWrite shuts down the writing side of the connection; the peer reads
// io.EOF.
func (c *Conn) CloseWrite() error { return c.shutdown(unix.SHUT_WR) }

func (c *Conn) shutdown(how int) error {
	if !c.fd.incref() {
		return c.opErr("close", net.ErrClosed)
	}
	defer c.fd.decref()
	if err := unix.Shutdown(c.fd.fd, how); err != nil {
		return c.opErr("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}

func (c *Conn) setsockopt(level, opt, v int) error {
	if !c.fd.incref() {
		return c.opErr("set", net.ErrClosed)
	}
	defer c.fd.decref()
	if err := unix.SetsockoptInt(c.fd.fd, level, opt, v); err != nil {
		return c.opErr("set", os.NewSyscallError("setsockopt", err))
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SetNoDelay controls Nagle's algorithm; it is off (no delay) by default,
// as in package net.
func (c *Conn) SetNoDelay(noDelay bool) error {
	return c.setsockopt(unix.IPPROTO_TCP, unix.TCP_NODELAY, boolInt(noDelay))
}

// SetKeepAlive turns TCP keep-alive probes on or off.
func (c *Conn) SetKeepAlive(keepalive bool) error {
	return c.setsockopt(unix.SOL_SOCKET, unix.SO_KEEPALIVE, boolInt(keepalive))
}

// SetKeepAlivePeriod sets the idle time before keep-alive probes start, as
// (*net.TCPConn).SetKeepAlivePeriod does: rounded up to whole seconds, zero
// meaning 15 seconds, negative leaving it unchanged. The probe interval is
// not changed.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	if d < 0 { // net checks nothing, not even Close, in this case
		return nil
	}
	if d == 0 {
		d = 15 * time.Second
	}
	secs := int((d + time.Second - 1) / time.Second)
	return c.setsockopt(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs)
}

// SetKeepAliveConfig configures keep-alive probes as
// (*net.TCPConn).SetKeepAliveConfig does: zero fields take net's defaults
// (15s idle, 15s interval, 9 probes), negative ones stay unchanged.
func (c *Conn) SetKeepAliveConfig(cfg net.KeepAliveConfig) error {
	if !c.fd.incref() {
		return c.setErr(net.ErrClosed)
	}
	defer c.fd.decref()
	if err := setKeepAliveConfig(c.fd.fd, cfg); err != nil {
		return c.setErr(err)
	}
	return nil
}

// SetLinger sets SO_LINGER as (*net.TCPConn).SetLinger does.
func (c *Conn) SetLinger(sec int) error {
	if !c.fd.incref() {
		return c.opErr("set", net.ErrClosed)
	}
	defer c.fd.decref()
	l := unix.Linger{}
	if sec >= 0 {
		l.Onoff, l.Linger = 1, int32(sec)
	}
	if err := unix.SetsockoptLinger(c.fd.fd, unix.SOL_SOCKET, unix.SO_LINGER, &l); err != nil {
		return c.opErr("set", os.NewSyscallError("setsockopt", err))
	}
	return nil
}

// SetReadBuffer sets the socket's receive buffer size.
func (c *Conn) SetReadBuffer(bytes int) error {
	return c.setBuffer(unix.SO_RCVBUF, bytes)
}

// SetWriteBuffer sets the socket's send buffer size.
func (c *Conn) SetWriteBuffer(bytes int) error {
	return c.setBuffer(unix.SO_SNDBUF, bytes)
}

// setBuffer reports errors as package net's conn does, unlike the TCP
// options above.
func (c *Conn) setBuffer(opt, bytes int) error {
	if err := c.setsockopt(unix.SOL_SOCKET, opt, bytes); err != nil {
		return c.setErr(err.(*net.OpError).Err)
	}
	return nil
}

// Fd returns the socket's descriptor, for handing to core's callback API on
// a hot path. The Conn still owns it: do not close it, and do not use it
// after Close.
func (c *Conn) Fd() int { return c.fd.fd }

// SyscallConn returns a raw connection: Control for socket options, and
// Read and Write that wait for readiness on the ring between calls of f.
// Once it is called, every Read tries the socket before it waits, since a
// raw read may have left bytes that no event will announce again. As in
// package net, a closed Conn still returns one, whose calls fail.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	c.fd.raw.Store(true)
	return rawConn{c.fd}, nil
}

// rawConn's errors are wrapped as package net wraps them.
type rawConn struct{ fd *netFD }

func (r rawConn) Control(f func(fd uintptr)) error {
	if !r.fd.incref() {
		return &net.OpError{Op: "raw-control", Net: r.fd.net, Addr: r.fd.laddr, Err: net.ErrClosed}
	}
	defer r.fd.decref()
	f(uintptr(r.fd.fd))
	return nil
}

func (r rawConn) Read(f func(fd uintptr) bool) error {
	return r.opErr("raw-read", r.fd.closedWait(&r.fd.rd, r.wait(&r.fd.rd, kindPollIn, f)))
}

func (r rawConn) Write(f func(fd uintptr) bool) error {
	return r.opErr("raw-write", r.fd.closedWait(&r.fd.wr, r.wait(&r.fd.wr, kindPollOut, f)))
}

func (r rawConn) opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &net.OpError{Op: op, Net: r.fd.net, Source: r.fd.laddr, Addr: r.fd.raddr, Err: err}
}

// wait calls f until it reports done, polling the socket on the ring for
// readiness in between. As in package net, f is not called once the
// socket is closed or the side's deadline has passed.
func (r rawConn) wait(s *side, kind int, f func(fd uintptr) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if !r.fd.incref() {
			return net.ErrClosed
		}
		if s.expired() {
			r.fd.decref()
			return os.ErrDeadlineExceeded
		}
		done := f(uintptr(r.fd.fd))
		r.fd.decref()
		if done {
			return nil
		}
		res, err := r.fd.do(s, kind, args{})
		if err != nil {
			return err
		}
		if res < 0 {
			return os.NewSyscallError("poll", syscall.Errno(-res))
		}
	}
}
