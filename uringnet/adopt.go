//go:build linux

package uringnet

import (
	"net"
	"os"
	"syscall"

	"github.com/ourio-go/ourio/internal/netaddr"
	"golang.org/x/sys/unix"
)

// Adopting a socket made elsewhere, as package net's FileConn and
// FileListener do; see file.go for what sharing the socket means.

// FileConn returns a connection on a duplicate of the socket f holds, as
// net.FileConn does; f may be closed afterwards and the connection stays
// open. A TCP or unix stream socket becomes a *Conn on a ring, with its
// addresses read from the socket and, for TCP, package net's defaults
// applied to it (no Nagle delay, keep-alive every 15s). Other sockets
// (UDP, unixgram, unixpacket, raw IP) are handed to net.FileConn, and so
// is f when io_uring is unavailable. What is not a socket, or is a socket
// of another family, gets net.FileConn's error: a *net.OpError with Op
// "file" and Net "file+net" whose Addr is f's name; a nil f gets one too,
// where net.FileConn panics. As net.FileConn does, it puts the socket,
// which the connection shares with f, in non-blocking mode; unlike it, it
// does not call f's Fd, which first switches a file from package net's
// File to blocking mode.
func FileConn(f *os.File) (net.Conn, error) {
	if f == nil {
		return nil, fileErr(nil, os.ErrInvalid)
	}
	e, err := defaultEngine()
	if err != nil {
		return net.FileConn(f)
	}
	s, err := adoptFile(f)
	if err != nil {
		return nil, fileErr(f, err)
	}
	if s.fd < 0 {
		return net.FileConn(f)
	}
	nfd := newFD(e, s.fd, s.network)
	nfd.laddr, nfd.raddr = s.laddr, s.raddr
	nfd.shared.Store(true)
	if s.network == "tcp" {
		setDefaultTCPOptions(nfd.fd, 0, net.KeepAliveConfig{})
	}
	return newConn(nfd), nil
}

// FileListener returns a listener on a duplicate of the socket f holds, as
// net.FileListener does: f may be closed afterwards, and a unix socket's
// file is not removed when the listener is closed, since the socket was
// made elsewhere. A TCP or unix stream socket becomes a *Listener on a
// ring, whose Accepts wait as those of a Listener whose File was taken;
// other sockets are handed to net.FileListener, and so is f when io_uring
// is unavailable. Errors, and the use of f, are as in FileConn. As in
// package net the socket is not checked to be listening: Accept on one
// that is not fails with EINVAL.
func FileListener(f *os.File) (net.Listener, error) {
	if f == nil {
		return nil, fileErr(nil, os.ErrInvalid)
	}
	e, err := listenEngine()
	if err != nil {
		return net.FileListener(f)
	}
	s, err := adoptFile(f)
	if err != nil {
		return nil, fileErr(f, err)
	}
	if s.fd < 0 {
		return net.FileListener(f)
	}
	nfd := newFD(e, s.fd, s.network)
	nfd.laddr, nfd.raddr = s.laddr, s.raddr
	nfd.shared.Store(true)
	return &Listener{fd: nfd}, nil
}

// fileAddr is the address package net's file errors carry: the file's name
// on network "file+net".
type fileAddr string

func (fileAddr) Network() string  { return "file+net" }
func (a fileAddr) String() string { return string(a) }

// fileErr wraps an error of FileConn or FileListener as package net does.
func fileErr(f *os.File, err error) error {
	var addr net.Addr
	if f != nil {
		addr = fileAddr(f.Name())
	}
	return &net.OpError{Op: "file", Net: "file+net", Addr: addr, Err: err}
}

// adopted is a socket FileConn or FileListener took over.
type adopted struct {
	fd           int // -1: a socket for package net
	network      string
	laddr, raddr net.Addr
}

// adoptFile duplicates f's descriptor, close-on-exec and non-blocking, and
// reads what it is in the order package net does, so that the first call
// to fail is the one net's error names. A socket that is not a TCP or unix
// stream comes back with fd -1, its duplicate closed.
func adoptFile(f *os.File) (adopted, error) {
	ns, err := dupFile(f)
	if err != nil {
		return adopted{fd: -1}, err
	}
	fail := func(err error) (adopted, error) {
		unix.Close(ns)
		return adopted{fd: -1}, err
	}
	if err := unix.SetNonblock(ns, true); err != nil {
		return fail(os.NewSyscallError("setnonblock", err))
	}
	sotype, err := unix.GetsockoptInt(ns, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fail(os.NewSyscallError("getsockopt", err))
	}
	lsa, err := unix.Getsockname(ns)
	if err != nil {
		return fail(os.NewSyscallError("getsockname", err))
	}
	var network string
	switch lsa.(type) {
	case *unix.SockaddrInet4, *unix.SockaddrInet6:
		network = "tcp"
	case *unix.SockaddrUnix:
		network = "unix"
	default:
		return fail(syscall.EPROTONOSUPPORT)
	}
	if sotype != unix.SOCK_STREAM {
		return fail(nil)
	}
	s := adopted{fd: ns, network: network, laddr: netaddr.FromSockaddr(network, lsa)}
	if rsa, err := unix.Getpeername(ns); err == nil {
		s.raddr = netaddr.FromSockaddr(network, rsa)
	}
	return s, nil
}

// dupFile duplicates f's descriptor, close-on-exec. It reaches the
// descriptor through SyscallConn, not Fd, which would switch a file from
// package net's File to blocking mode, and which lets f be closed during
// the call; a closed f fails as a dup of its stale descriptor does in
// package net, with EBADF.
func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	ns, derr := -1, error(unix.EBADF)
	if err := rc.Control(func(fd uintptr) {
		ns, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		ns, derr = -1, unix.EBADF
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	return ns, nil
}
