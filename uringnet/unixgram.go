//go:build linux

package uringnet

import (
	"context"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/netaddr"
	"golang.org/x/sys/unix"
)

// UnixgramConn is a unixgram socket whose reads and writes are io_uring
// operations, as UDPConn's are. It has the datagram methods of
// *net.UnixConn (ReadFrom and WriteTo, ReadFromUnix and WriteToUnix,
// ReadMsgUnix and WriteMsgUnix, with descriptors and credentials in the
// control data) and package net's semantics: one datagram per read, a
// short buffer truncates it, a zero-length datagram reads as 0 bytes, no
// error.
type UnixgramConn struct {
	fd *netFD
	// connected is set by Dial before the UnixgramConn is published.
	connected bool
}

var (
	_ net.Conn       = (*UnixgramConn)(nil)
	_ net.PacketConn = (*UnixgramConn)(nil)
)

func newUnixgramConn(f *netFD, connected bool) *UnixgramConn {
	f.rd.op.sa = new(unix.RawSockaddrAny)
	f.wr.op.sa = new(unix.RawSockaddrAny)
	return &UnixgramConn{fd: f, connected: connected}
}

func (c *UnixgramConn) opErr(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: c.fd.net, Source: c.fd.laddr, Addr: addr, Err: err}
}

// readMsg receives one datagram into b and oob.
func (c *UnixgramConn) readMsg(b, oob []byte, call string) (n, oobn, flags int, from *net.UnixAddr, err error) {
	if len(b) > maxRW {
		b = b[:maxRW]
	}
	c.fd.raceOrder()
	s := &c.fd.rd
	s.mu.Lock()
	// Received descriptors are close-on-exec, as package net makes them
	// (whose flags then say MSG_CMSG_CLOEXEC too).
	res, err := c.fd.do(s, kindRecvmsg, args{buf: b, oob: oob, flags: unix.MSG_CMSG_CLOEXEC})
	if err == nil && res >= 0 {
		if a, ok := rawToAddr(c.fd.net, s.op.sa).(*net.UnixAddr); ok && a.Name != "@" {
			from = a // an unnamed sender has none, as in package net
		}
		oobn, flags = int(s.op.oobn), int(s.op.mflags)
	}
	s.mu.Unlock()
	c.fd.raceOrder()
	switch {
	case err != nil:
		return 0, 0, 0, nil, c.opErr("read", c.fd.raddr, c.fd.closedWait(s, err))
	case res < 0:
		return 0, 0, 0, nil, c.opErr("read", c.fd.raddr, os.NewSyscallError(call, syscall.Errno(-res)))
	}
	return int(res), oobn, flags, from, nil
}

// writeMsg sends b and oob to to (the peer when to is nil).
func (c *UnixgramConn) writeMsg(b, oob []byte, to *net.UnixAddr, call string) (int, error) {
	var na net.Addr
	if to != nil {
		na = to
	}
	c.fd.raceOrder()
	defer c.fd.raceOrder()
	s := &c.fd.wr
	s.mu.Lock()
	a := args{buf: b, oob: oob}
	if to != nil {
		n, err := core.RawSockaddr(&unix.SockaddrUnix{Name: to.Name}, s.op.sa)
		if err != nil {
			s.mu.Unlock()
			return 0, c.opErr("write", na, os.NewSyscallError(call, err))
		}
		a.to, a.toLen = s.op.sa, n
	}
	res, err := c.fd.do(s, kindSendmsg, a)
	s.mu.Unlock()
	switch {
	case err != nil:
		return 0, c.opErr("write", na, c.fd.closedWait(s, err))
	case res < 0:
		return 0, c.opErr("write", na, os.NewSyscallError(call, syscall.Errno(-res)))
	}
	return int(res), nil
}

// Read reads one datagram into b, on a connected socket.
func (c *UnixgramConn) Read(b []byte) (int, error) {
	n, _, _, _, err := c.readMsg(b, nil, "read")
	return n, err
}

// ReadFrom reads one datagram into b and returns its sender, a
// *net.UnixAddr, or nil for an unnamed one.
func (c *UnixgramConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromUnix(b)
	if addr == nil {
		return n, nil, err
	}
	return n, addr, err
}

// ReadFromUnix reads one datagram into b and returns its sender, or nil
// for an unnamed one.
func (c *UnixgramConn) ReadFromUnix(b []byte) (int, *net.UnixAddr, error) {
	n, _, _, from, err := c.readMsg(b, nil, "recvfrom")
	return n, from, err
}

// ReadMsgUnix reads one datagram into b and its control data (descriptors,
// credentials) into oob, as (*net.UnixConn).ReadMsgUnix does; received
// descriptors are close-on-exec.
func (c *UnixgramConn) ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	return c.readMsg(b, oob, "recvmsg")
}

// Write sends b as one datagram to the connected peer.
func (c *UnixgramConn) Write(b []byte) (int, error) {
	return c.writeMsg(b, nil, nil, "write")
}

// WriteTo sends b as one datagram to addr, a *net.UnixAddr.
func (c *UnixgramConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UnixAddr)
	if !ok {
		return 0, c.opErr("write", addr, syscall.EINVAL)
	}
	return c.WriteToUnix(b, a)
}

// WriteToUnix sends b as one datagram to addr. On a connected socket it
// fails with net.ErrWriteToConnected.
func (c *UnixgramConn) WriteToUnix(b []byte, addr *net.UnixAddr) (int, error) {
	var na net.Addr
	if addr != nil {
		na = addr
	}
	switch {
	case c.connected:
		return 0, c.opErr("write", na, net.ErrWriteToConnected)
	case addr == nil:
		return 0, c.opErr("write", na, errMissingAddress)
	case addr.Net != c.fd.net:
		return 0, c.opErr("write", na, syscall.EAFNOSUPPORT)
	}
	return c.writeMsg(b, nil, addr, "sendto")
}

// WriteMsgUnix sends b and the control data oob in one datagram to addr,
// as (*net.UnixConn).WriteMsgUnix does on a unixgram socket: a connected
// one refuses it with net.ErrWriteToConnected.
func (c *UnixgramConn) WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error) {
	var na net.Addr
	if addr != nil {
		na = addr
	}
	switch {
	case c.connected:
		return 0, 0, c.opErr("write", na, net.ErrWriteToConnected)
	case addr != nil && addr.Net != c.fd.net:
		return 0, 0, c.opErr("write", na, syscall.EAFNOSUPPORT)
	}
	n, err = c.writeMsg(b, oob, addr, "sendmsg")
	if err != nil {
		return n, 0, err
	}
	return n, len(oob), nil
}

// Close closes the socket, unblocking any read or write with an error that
// matches net.ErrClosed.
func (c *UnixgramConn) Close() error {
	c.fd.raceOrder()
	if err := c.fd.Close(); err != nil {
		return c.opErr("close", c.fd.raddr, err)
	}
	return nil
}

// LocalAddr returns the local address, or nil for an unnamed socket.
func (c *UnixgramConn) LocalAddr() net.Addr { return c.fd.laddr }

// RemoteAddr returns the connected peer's address, or nil.
func (c *UnixgramConn) RemoteAddr() net.Addr { return c.fd.raddr }

// SetDeadline sets both the read and the write deadline.
func (c *UnixgramConn) SetDeadline(t time.Time) error { return c.fd.setDeadlines(t, true, true) }

// SetReadDeadline sets the deadline for reads.
func (c *UnixgramConn) SetReadDeadline(t time.Time) error { return c.fd.setDeadlines(t, true, false) }

// SetWriteDeadline sets the deadline for writes.
func (c *UnixgramConn) SetWriteDeadline(t time.Time) error { return c.fd.setDeadlines(t, false, true) }

// SetReadBuffer sets the socket's receive buffer size.
func (c *UnixgramConn) SetReadBuffer(bytes int) error { return c.fd.setBuffer(unix.SO_RCVBUF, bytes) }

// SetWriteBuffer sets the socket's send buffer size.
func (c *UnixgramConn) SetWriteBuffer(bytes int) error { return c.fd.setBuffer(unix.SO_SNDBUF, bytes) }

// SyscallConn returns a raw connection, as Conn's.
func (c *UnixgramConn) SyscallConn() (syscall.RawConn, error) { return rawConn{c.fd}, nil }

// File returns a duplicate of the socket, as (*net.UnixConn).File does.
func (c *UnixgramConn) File() (*os.File, error) {
	f, err := c.fd.dup()
	if err != nil {
		return nil, c.opErr("file", c.fd.raddr, err)
	}
	return f, nil
}

// Fd returns the socket's descriptor, for core's callback API. The
// UnixgramConn still owns it.
func (c *UnixgramConn) Fd() int { return c.fd.fd }

// listenUnixgram binds a unixgram socket to address.
func (lc *ListenConfig) listenUnixgram(ctx context.Context, e *engine, network, address string) (net.PacketConn, error) {
	addr, err := net.ResolveUnixAddr(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	la := netaddr.FromSockaddr(network, &unix.SockaddrUnix{Name: addr.Name})
	fail := func(err error) (net.PacketConn, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: la, Err: err}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	nfd := newFD(e, fd, network)
	if lc.Control != nil {
		if err := lc.Control(network, addr.Name, rawConn{nfd}); err != nil {
			unix.Close(fd)
			return fail(err)
		}
	}
	if err := bindUnix(fd, addr.Name); err != nil {
		unix.Close(fd)
		return fail(os.NewSyscallError("bind", err))
	}
	nfd.laddr = localAddr(network, fd)
	return newUnixgramConn(nfd, false), nil
}
