//go:build linux

package uringnet

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The descriptor API of package net: File hands a duplicate of a socket out,
// FileConn and FileListener adopt one onto a ring.
//
// A duplicate shares the socket's open file description, and with it the
// O_NONBLOCK flag, with its original. Package net's File returns an
// *os.File whose Fd method switches that shared flag to blocking mode
// (os/exec calls Fd for every file in ExtraFiles); the original connection
// then blocks a thread in its system calls and its deadlines stop working.
// Here File's *os.File stays non-blocking through Fd, as one made by
// os.NewFile from a non-blocking descriptor does. A socket whose
// description is shared (one File was called on, or one adopted) is marked
// so: a listener's Accepts then wait as accept.go describes, so that
// closing it loses no connection to another listener on the socket, and a
// conn's Close takes it out of the epoll instance itself.

// File returns a duplicate of the connection's socket, as
// (*net.TCPConn).File does: close-on-exec, in non-blocking mode, and
// independent of c (closing either leaves the other open). Unlike package
// net's, its Fd method leaves the socket in non-blocking mode, since c
// shares that mode with it. Reading the socket through the file as well as
// through c is allowed: c's Reads then always try the socket before they
// wait. After Close it returns a *net.OpError with Op "file" matching
// net.ErrClosed.
func (c *Conn) File() (*os.File, error) {
	if c == nil || c.fd == nil {
		return nil, syscall.EINVAL
	}
	f, err := c.fd.dup()
	if err != nil {
		return nil, c.opErr("file", err)
	}
	return f, nil
}

// File returns a duplicate of the listening socket, as
// (*net.TCPListener).File does, for handing to another process (os/exec's
// ExtraFiles) that adopts it with FileListener or net.FileListener. The
// file is close-on-exec and non-blocking, stays so through Fd, and is
// independent of l. From then on l's Accepts wait in a way that lets l be
// closed, or time out, without delaying a connection another listener on
// the socket would accept. After Close it returns a *net.OpError with Op
// "file" matching net.ErrClosed.
func (l *Listener) File() (*os.File, error) {
	if l == nil || l.fd == nil {
		return nil, syscall.EINVAL
	}
	f, err := l.fd.dup()
	if err != nil {
		return nil, &net.OpError{Op: "file", Net: l.fd.net, Addr: l.fd.laddr, Err: err}
	}
	return f, nil
}

// dup duplicates the socket, close-on-exec, into an *os.File named as
// package net names its own.
func (f *netFD) dup() (*os.File, error) {
	// Shared before the check against Close: a Close that passes its
	// check first then sees the flag when it unwatches, so the duplicate
	// never outlives the connection with the epoll registration in place.
	// (A dup that fails leaves the flag set, which costs a Close one
	// needless EPOLL_CTL_DEL.)
	f.shared.Store(true)
	if !f.incref() {
		return nil, net.ErrClosed
	}
	defer f.decref()
	ns, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	f.raw.Store(true)
	return os.NewFile(uintptr(ns), f.name()), nil
}

// name is package net's name for a socket's file: network:local->remote.
func (f *netFD) name() string {
	var ls, rs string
	if f.laddr != nil {
		ls = f.laddr.String()
	}
	if f.raddr != nil {
		rs = f.raddr.String()
	}
	return f.net + ":" + ls + "->" + rs
}
