//go:build linux

package uringnet

import (
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/netaddr"
	"github.com/ourio-go/ourio/internal/neterr"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// UDPConn is a UDP socket whose reads and writes are io_uring operations:
// each tries the socket at once and, when it would wait, runs on the ring
// (recvmsg and sendmsg into the caller's buffers). It implements net.Conn
// and net.PacketConn and has the methods of *net.UDPConn, with package
// net's semantics: one datagram per read, a short buffer truncates it
// (ReadMsgUDP's flags say MSG_TRUNC), a zero-length datagram reads as 0
// bytes and no error, ECONNREFUSED surfaces on a connected socket, and
// deadlines, Close and errors are as for Conn.
type UDPConn struct {
	fd *netFD
	// family is the socket's address family, AF_INET or AF_INET6, which
	// decides how a destination is laid out; connected is set by Dial.
	// Both are fixed before the UDPConn is published.
	family    int
	connected bool
	// batch is the socket's multishot receive, made by its first
	// ReadBatch; guarded by the engine's mu. taken is the datagrams a
	// ReadBatch is copying out; guarded by the read side's lock.
	batch *batchReader
	taken []batchMsg
	one   [1]ipv4.Message // the other reads' message once ReadBatch is in use; guarded by the read side's lock
	// batchOn is set, once, when batch is made: the other reads check it
	// without the engine's lock. One atomic word.
	batchOn atomic.Bool
}

var (
	_ net.Conn       = (*UDPConn)(nil)
	_ net.PacketConn = (*UDPConn)(nil)
)

func isUDP(network string) bool {
	return network == "udp" || network == "udp4" || network == "udp6"
}

// newUDPConn wraps a UDP socket of family. Its sides get the sockaddrs
// that receives write the sender into and sends take the destination
// from (op.sa). The socket is not watched for readiness: its reads run
// on the ring when they wait.
func newUDPConn(f *netFD, family int, connected bool) *UDPConn {
	f.rd.op.sa = new(unix.RawSockaddrAny)
	f.wr.op.sa = new(unix.RawSockaddrAny)
	c := &UDPConn{fd: f, family: family, connected: connected}
	f.beforeClose = c.stopBatch
	return c
}

func (c *UDPConn) readErr(err error) error {
	return &net.OpError{Op: "read", Net: c.fd.net, Source: c.fd.laddr, Addr: c.fd.raddr, Err: err}
}

func (c *UDPConn) writeErr(addr net.Addr, err error) error {
	return &net.OpError{Op: "write", Net: c.fd.net, Source: c.fd.laddr, Addr: addr, Err: err}
}

// writeErrTo is writeErr for a datagram to to, whose address is made only
// for the error; addr, when not nil, is the caller's own.
func (c *UDPConn) writeErrTo(addr net.Addr, to netip.AddrPort, err error) error {
	if addr == nil && to.IsValid() {
		addr = udpAddr(to)
	}
	return c.writeErr(addr, err)
}

// readMsg receives one datagram into b and oob. The sender stays in the
// read side's sockaddr, which the caller converts before the next read.
func (c *UDPConn) readMsg(b, oob []byte, call string) (n, oobn, flags int, from netip.AddrPort, err error) {
	if len(b) > maxRW {
		b = b[:maxRW]
	}
	c.fd.raceOrder()
	s := &c.fd.rd
	s.mu.Lock()
	if c.batched() {
		// ReadBatch's receive takes the socket's datagrams: read from
		// its queue, in order, not past it.
		c.one[0] = ipv4.Message{Buffers: [][]byte{b}, OOB: oob}
		_, err := c.readBatch(s, c.one[:])
		m := c.one[0]
		c.one[0] = ipv4.Message{}
		s.mu.Unlock()
		c.fd.raceOrder()
		if err != nil {
			return 0, 0, 0, from, c.readErr(c.fd.closedWait(s, err))
		}
		if ua, ok := m.Addr.(*net.UDPAddr); ok {
			from = ua.AddrPort()
			if ua.Zone != "" {
				from = netip.AddrPortFrom(from.Addr().WithZone(ua.Zone), from.Port())
			}
		}
		return m.N, m.NN, m.Flags, from, nil
	}
	res, err := c.fd.do(s, kindRecvmsg, args{buf: b, oob: oob})
	if err == nil && res >= 0 {
		from = senderAddrPort(s.op.sa)
		oobn, flags = int(s.op.oobn), int(s.op.mflags)
	}
	s.mu.Unlock()
	c.fd.raceOrder()
	switch {
	case err != nil:
		return 0, 0, 0, from, c.readErr(c.fd.closedWait(s, err))
	case res < 0:
		return 0, 0, 0, from, c.readErr(os.NewSyscallError(call, syscall.Errno(-res)))
	}
	return int(res), oobn, flags, from, nil
}

// senderAddrPort converts a datagram's sender, with its zone's name, as
// package net does: an IPv4 sender of an IPv6 socket stays IPv4-mapped.
func senderAddrPort(raw *unix.RawSockaddrAny) netip.AddrPort {
	ap, ok := core.SockaddrToAddrPort(raw)
	if !ok {
		return netip.AddrPort{}
	}
	if raw.Addr.Family == unix.AF_INET6 {
		if zone := netaddr.Zone((*unix.RawSockaddrInet6)(unsafe.Pointer(raw)).Scope_id); zone != "" {
			ap = netip.AddrPortFrom(ap.Addr().WithZone(zone), ap.Port())
		}
	}
	return ap
}

// udpAddr is the *net.UDPAddr package net gives for ap: an IPv4 sender of
// an IPv6 socket keeps its 16-byte form.
func udpAddr(ap netip.AddrPort) *net.UDPAddr { return net.UDPAddrFromAddrPort(ap) }

// Read reads one datagram into b, on a connected socket. A datagram longer
// than b is truncated.
func (c *UDPConn) Read(b []byte) (int, error) {
	n, _, _, _, err := c.readMsg(b, nil, "read")
	return n, err
}

// ReadFrom reads one datagram into b and returns its sender, a
// *net.UDPAddr.
func (c *UDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromUDP(b)
	if addr == nil {
		return n, nil, err
	}
	return n, addr, err
}

// ReadFromUDP reads one datagram into b and returns its sender.
func (c *UDPConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	n, _, _, from, err := c.readMsg(b, nil, "recvfrom")
	if err != nil {
		return n, nil, err
	}
	return n, udpAddr(from), nil
}

// ReadFromUDPAddrPort reads one datagram into b and returns its sender. On
// a socket bound to an unspecified IPv6 address an IPv4 sender is
// IPv4-mapped (netip.Addr.Unmap removes the prefix), as in package net.
func (c *UDPConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, _, _, from, err := c.readMsg(b, nil, "recvfrom")
	return n, from, err
}

// ReadMsgUDP reads one datagram into b and its control data into oob, and
// returns the bytes of each, the message's flags (MSG_TRUNC, MSG_CTRUNC)
// and the sender.
func (c *UDPConn) ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	var from netip.AddrPort
	n, oobn, flags, from, err = c.ReadMsgUDPAddrPort(b, oob)
	if from.IsValid() {
		addr = udpAddr(from)
	}
	return
}

// ReadMsgUDPAddrPort is ReadMsgUDP with the sender as a netip.AddrPort.
func (c *UDPConn) ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error) {
	return c.readMsg(b, oob, "recvmsg")
}

// writeMsg sends b and oob to to (the peer when to is invalid), all of b
// in one datagram.
func (c *UDPConn) writeMsg(b, oob []byte, to netip.AddrPort, addr net.Addr, call string) (int, error) {
	c.fd.raceOrder()
	defer c.fd.raceOrder()
	s := &c.fd.wr
	s.mu.Lock()
	a := args{buf: b, oob: oob}
	if to.IsValid() {
		n, ok := putUDPSockaddr(c.family, to, s.op.sa)
		if !ok {
			s.mu.Unlock()
			return 0, c.writeErrTo(addr, to, &net.AddrError{Err: "non-IPv4 address", Addr: to.Addr().String()})
		}
		a.to, a.toLen = s.op.sa, n
	}
	res, err := c.fd.do(s, kindSendmsg, a)
	s.mu.Unlock()
	switch {
	case err != nil:
		return 0, c.writeErrTo(addr, to, c.fd.closedWait(s, err))
	case res < 0:
		return 0, c.writeErrTo(addr, to, os.NewSyscallError(call, syscall.Errno(-res)))
	}
	return int(res), nil
}

// Write sends b as one datagram to the connected peer.
func (c *UDPConn) Write(b []byte) (int, error) {
	return c.writeMsg(b, nil, netip.AddrPort{}, c.fd.raddr, "write")
}

// WriteTo sends b as one datagram to addr, a *net.UDPAddr. On a connected
// socket it fails with net.ErrWriteToConnected.
func (c *UDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, c.writeErr(addr, syscall.EINVAL)
	}
	return c.WriteToUDP(b, a)
}

// WriteToUDP sends b as one datagram to addr.
func (c *UDPConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	var na net.Addr
	if addr != nil {
		na = addr
	}
	switch {
	case c.connected:
		return 0, c.writeErr(na, net.ErrWriteToConnected)
	case addr == nil:
		return 0, c.writeErr(na, errMissingAddress)
	}
	return c.writeMsg(b, nil, udpAddrPort(addr), na, "sendto")
}

// udpAddrPort converts a as package net lays out a destination: no IP is
// the unspecified address of either family.
func udpAddrPort(a *net.UDPAddr) netip.AddrPort {
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		ip = netip.IPv6Unspecified()
	}
	return netip.AddrPortFrom(ip.WithZone(a.Zone), uint16(a.Port))
}

// WriteToUDPAddrPort sends b as one datagram to addr.
func (c *UDPConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	switch {
	case c.connected:
		return 0, c.writeErr(udpAddr(addr), net.ErrWriteToConnected)
	case !addr.IsValid():
		return 0, c.writeErr(udpAddr(addr), errMissingAddress)
	}
	return c.writeMsg(b, nil, addr, nil, "sendto")
}

// WriteMsgUDP sends b and the control data oob in one datagram: to addr on
// an unconnected socket, to the peer (addr nil) on a connected one. It
// returns the bytes of each sent.
func (c *UDPConn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	var ap netip.AddrPort
	var na net.Addr
	if addr != nil {
		ap, na = udpAddrPort(addr), addr
	}
	return c.writeMsgUDP(b, oob, ap, na, addr != nil)
}

// WriteMsgUDPAddrPort is WriteMsgUDP with the destination as a
// netip.AddrPort, invalid for the connected peer.
func (c *UDPConn) WriteMsgUDPAddrPort(b, oob []byte, addr netip.AddrPort) (n, oobn int, err error) {
	return c.writeMsgUDP(b, oob, addr, nil, addr.IsValid())
}

func (c *UDPConn) writeMsgUDP(b, oob []byte, ap netip.AddrPort, na net.Addr, hasAddr bool) (n, oobn int, err error) {
	switch {
	case c.connected && hasAddr:
		return 0, 0, c.writeErrTo(na, ap, net.ErrWriteToConnected)
	case !c.connected && !hasAddr:
		return 0, 0, c.writeErrTo(na, ap, errMissingAddress)
	}
	n, err = c.writeMsg(b, oob, ap, na, "sendmsg")
	if err != nil {
		return n, 0, err
	}
	return n, len(oob), nil
}

// Close closes the socket, unblocking any read or write with an error that
// matches net.ErrClosed.
func (c *UDPConn) Close() error {
	c.fd.raceOrder()
	if err := c.fd.Close(); err != nil {
		return &net.OpError{Op: "close", Net: c.fd.net, Source: c.fd.laddr, Addr: c.fd.raddr, Err: err}
	}
	return nil
}

// LocalAddr returns the local address, a *net.UDPAddr.
func (c *UDPConn) LocalAddr() net.Addr { return c.fd.laddr }

// RemoteAddr returns the connected peer's address, or nil.
func (c *UDPConn) RemoteAddr() net.Addr { return c.fd.raddr }

// SetDeadline sets both the read and the write deadline.
func (c *UDPConn) SetDeadline(t time.Time) error { return c.fd.setDeadlines(t, true, true) }

// SetReadDeadline sets the deadline for reads, including one already
// blocked; past it they fail with an error matching os.ErrDeadlineExceeded.
func (c *UDPConn) SetReadDeadline(t time.Time) error { return c.fd.setDeadlines(t, true, false) }

// SetWriteDeadline sets the deadline for writes.
func (c *UDPConn) SetWriteDeadline(t time.Time) error { return c.fd.setDeadlines(t, false, true) }

// setDeadlines sets a datagram socket's read deadline, write deadline or
// both, with package net's error once it is closed.
func (f *netFD) setDeadlines(t time.Time, read, write bool) error {
	if f.closed.Load() {
		return &net.OpError{Op: "set", Net: f.net, Addr: f.laddr, Err: net.ErrClosed}
	}
	if read {
		f.rd.setDeadline(t)
	}
	if write {
		f.wr.setDeadline(t)
	}
	return nil
}

// SetReadBuffer sets the socket's receive buffer size.
func (c *UDPConn) SetReadBuffer(bytes int) error { return c.fd.setBuffer(unix.SO_RCVBUF, bytes) }

// SetWriteBuffer sets the socket's send buffer size.
func (c *UDPConn) SetWriteBuffer(bytes int) error { return c.fd.setBuffer(unix.SO_SNDBUF, bytes) }

// setBuffer sets a datagram socket's SO_RCVBUF or SO_SNDBUF, with package
// net's errors.
func (f *netFD) setBuffer(opt, bytes int) error {
	if !f.incref() {
		return &net.OpError{Op: "set", Net: f.net, Addr: f.laddr, Err: net.ErrClosed}
	}
	defer f.decref()
	if err := unix.SetsockoptInt(f.fd, unix.SOL_SOCKET, opt, bytes); err != nil {
		return &net.OpError{Op: "set", Net: f.net, Addr: f.laddr, Err: os.NewSyscallError("setsockopt", err)}
	}
	return nil
}

// SyscallConn returns a raw connection: Control for socket options, and
// Read and Write that wait for readiness on the ring between calls of f.
func (c *UDPConn) SyscallConn() (syscall.RawConn, error) {
	return rawConn{c.fd}, nil
}

// File returns a duplicate of the socket, as (*net.UDPConn).File does.
func (c *UDPConn) File() (*os.File, error) {
	f, err := c.fd.dup()
	if err != nil {
		return nil, &net.OpError{Op: "file", Net: c.fd.net, Source: c.fd.laddr, Addr: c.fd.raddr, Err: err}
	}
	return f, nil
}

// Fd returns the socket's descriptor, for core's callback API. The UDPConn
// still owns it: do not close it, and do not use it after Close.
func (c *UDPConn) Fd() int { return c.fd.fd }

// errMissingAddress is package net's error for a datagram with no
// destination on an unconnected socket.
var errMissingAddress = neterr.ErrMissingAddress
