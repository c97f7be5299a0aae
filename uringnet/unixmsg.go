//go:build linux

package uringnet

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/neterr"
	"golang.org/x/sys/unix"
)

// A unix connection's messages with ancillary data (descriptors passed
// with unix.UnixRights, credentials) are sent and received by sendmsg and
// recvmsg system calls made directly, between waits for readiness on the
// ring: the same machinery as SyscallConn's Read and Write, so deadlines
// and Close stop them as they stop any Read or Write. The buffers are only
// ever handed to those synchronous calls, never to the ring.

// ReadMsgUnix reads a message into b and its ancillary data into oob, as
// (*net.UnixConn).ReadMsgUnix does: it returns the bytes copied into each,
// the message's flags (unix.MSG_CTRUNC if oob was too small) and the
// sender's address if it has a name. Descriptors received are close-on-exec.
// At end of stream it returns a *net.OpError around io.EOF, as package net
// does here. It is for unix and unixpacket connections only.
func (c *Conn) ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	return c.readMsg(b, oob, "recvmsg")
}

// ReadFromUnix reads into b as (*net.UnixConn).ReadFromUnix does: Read
// that also returns the sender's address if it has a name, and a
// *net.OpError around io.EOF at end of stream.
func (c *Conn) ReadFromUnix(b []byte) (int, *net.UnixAddr, error) {
	n, _, _, addr, err := c.readMsg(b, nil, "recvfrom")
	return n, addr, err
}

// WriteToUnix is (*net.UnixConn).WriteToUnix. As in package net, a dialed
// connection refuses it with net.ErrWriteToConnected; an accepted or
// adopted one needs an address, which goes to the kernel with the bytes
// (refused on a unix connection with EISCONN, ignored on a unixpacket one).
func (c *Conn) WriteToUnix(b []byte, addr *net.UnixAddr) (int, error) {
	var a net.Addr
	if addr != nil {
		a = addr
	}
	switch {
	case c.fd.dialed:
		return 0, &net.OpError{Op: "write", Net: c.fd.net, Source: c.fd.laddr, Addr: a, Err: net.ErrWriteToConnected}
	case addr == nil:
		return 0, &net.OpError{Op: "write", Net: c.fd.net, Source: c.fd.laddr, Err: neterr.ErrMissingAddress}
	}
	n, _, err := c.writeMsg(b, nil, addr, "sendto")
	return n, err
}

// readMsg is ReadMsgUnix and ReadFromUnix, whose errors name call, the
// system call package net makes for each.
func (c *Conn) readMsg(b, oob []byte, call string) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	if !isUnix(c.fd.net) {
		return 0, 0, 0, nil, c.opErr("read", syscall.EINVAL)
	}
	// The recvmsg below never clears the read side's readiness word
	// (readstate.go), so an event it did not consume still sends the next
	// Read to the socket, and a unix socket's reads leave the word set
	// until an attempt finds the socket empty.
	var sa unix.Sockaddr
	var rerr error
	werr := rawConn{c.fd}.wait(&c.fd.rd, kindPollIn, func(fd uintptr) bool {
		for {
			n, oobn, flags, sa, rerr = unix.Recvmsg(int(fd), b, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN
			}
		}
	})
	switch {
	case werr != nil:
		return 0, 0, 0, nil, c.opErr("read", c.fd.closedWait(&c.fd.rd, werr))
	case rerr != nil:
		return 0, 0, 0, nil, c.opErr("read", os.NewSyscallError(call, rerr))
	}
	if ua, ok := sa.(*unix.SockaddrUnix); ok && ua.Name != "" {
		addr = &net.UnixAddr{Name: ua.Name, Net: c.fd.net}
	}
	if n == 0 {
		// Both unix networks here are streams of bytes or of messages,
		// where nothing read is the end, as package net reports it.
		err = c.opErr("read", io.EOF)
	}
	return n, oobn, flags, addr, err
}

// WriteMsgUnix writes b and the ancillary data oob in one sendmsg, as
// (*net.UnixConn).WriteMsgUnix does: it may write only part of b on a
// stream without an error, and with oob but no b it sends one zero byte,
// reporting n == 0. A non-nil addr goes to the kernel as package net
// passes it, which refuses it on a unix connection (EISCONN) and ignores
// it on a unixpacket one. It is for unix and unixpacket connections only.
func (c *Conn) WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error) {
	return c.writeMsg(b, oob, addr, "sendmsg")
}

// writeMsg is WriteMsgUnix and WriteToUnix, whose errors name call, the
// system call package net makes for each.
func (c *Conn) writeMsg(b, oob []byte, addr *net.UnixAddr, call string) (n, oobn int, err error) {
	opErr := func(err error) error {
		var a net.Addr // package net names the addr argument, if any
		if addr != nil {
			a = addr
		}
		return &net.OpError{Op: "write", Net: c.fd.net, Source: c.fd.laddr, Addr: a, Err: err}
	}
	if !isUnix(c.fd.net) {
		return 0, 0, opErr(syscall.EINVAL)
	}
	var name *unix.RawSockaddrAny
	var namelen uint32
	if addr != nil {
		if addr.Net != c.fd.net {
			return 0, 0, opErr(syscall.EAFNOSUPPORT)
		}
		name = new(unix.RawSockaddrAny)
		if namelen, err = core.RawSockaddr(&unix.SockaddrUnix{Name: addr.Name}, name); err != nil {
			return 0, 0, opErr(os.NewSyscallError(call, err))
		}
	}
	var serr error
	werr := rawConn{c.fd}.wait(&c.fd.wr, kindPollOut, func(fd uintptr) bool {
		for {
			n, serr = sendmsg(int(fd), b, oob, name, namelen)
			if serr != unix.EINTR {
				return serr != unix.EAGAIN
			}
		}
	})
	switch {
	case werr != nil:
		return 0, 0, opErr(c.fd.closedWait(&c.fd.wr, werr))
	case serr != nil:
		return 0, 0, opErr(os.NewSyscallError(call, serr))
	}
	return n, len(oob), nil
}

// sendmsg sends b and oob to name (namelen bytes, or none) without waiting.
// Ancillary data needs a byte to travel with on these sockets, none of
// them datagrams: without b it sends one zero byte and reports 0, as
// package syscall's SendmsgN does. The call is synchronous, so the
// buffers, name and header need live only until it returns.
func sendmsg(fd int, b, oob []byte, name *unix.RawSockaddrAny, namelen uint32) (int, error) {
	var msg unix.Msghdr
	if name != nil {
		msg.Name = (*byte)(unsafe.Pointer(name))
		msg.Namelen = namelen
	}
	var dummy [1]byte
	data := b
	if len(oob) > 0 {
		if len(b) == 0 {
			data = dummy[:]
		}
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	var iov unix.Iovec
	if len(data) > 0 {
		iov.Base = &data[0]
		iov.SetLen(len(data))
		msg.Iov = &iov
		msg.SetIovlen(1)
	}
	n, _, errno := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	if errno != 0 {
		return 0, errno
	}
	if len(b) == 0 {
		return 0, nil
	}
	return int(n), nil
}
