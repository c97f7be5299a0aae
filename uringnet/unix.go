//go:build linux

package uringnet

import (
	"context"
	"net"
	"syscall"
	"unsafe"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/neterr"
	"golang.org/x/sys/unix"
)

// Unix-domain sockets: "unix" (SOCK_STREAM) and "unixpacket"
// (SOCK_SEQPACKET) run on the ring; "unixgram" is package net's (see
// dialUnixgram).

// isUnix reports whether network is a unix-domain network uringnet runs.
func isUnix(network string) bool { return network == "unix" || network == "unixpacket" }

// sockType is the socket type of network, as package net chooses it.
func sockType(network string) int {
	if network == "unixpacket" {
		return unix.SOCK_SEQPACKET
	}
	if isUDP(network) {
		return unix.SOCK_DGRAM
	}
	return unix.SOCK_STREAM
}

// bindUnix binds fd to name with the address laid out as package syscall
// lays it out (core.RawSockaddr), so an abstract name may fill all 108
// bytes of sun_path as it may in package net. bind is a plain system call,
// done before it returns, so raw need not outlive it.
func bindUnix(fd int, name string) error {
	raw := new(unix.RawSockaddrAny)
	n, err := core.RawSockaddr(&unix.SockaddrUnix{Name: name}, raw)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(raw)), uintptr(n))
	if errno != 0 {
		return errno
	}
	return nil
}

// bindUnixLocal binds a dialing socket to a Dialer's LocalAddr. As in
// package net, an empty name is no address at all: the socket stays
// unnamed rather than being autobound to an abstract name.
func bindUnixLocal(fd int, la *net.UnixAddr) error {
	if la == nil || la.Name == "" {
		return nil
	}
	return bindUnix(fd, la.Name)
}

// dialUnix connects to a unix or unixpacket address. Its errors carry the
// Dialer's LocalAddr as Source, as package net's do.
func (d *Dialer) dialUnix(ctx context.Context, e *engine, network, address string) (net.Conn, error) {
	if address == "" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: neterr.ErrMissingAddress}
	}
	addr, err := net.ResolveUnixAddr(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	laddr := d.LocalAddr
	if la, ok := laddr.(*net.UnixAddr); ok && la == nil {
		// Package net panics on a nil *net.UnixAddr here; it names no
		// address, as a nil *net.TCPAddr does for TCP.
		laddr = nil
	}
	if laddr != nil && laddr.Network() != addr.Network() {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "mismatched local address type", Addr: laddr.String()}}
	}
	c, err := d.dialOne(ctx, e, network, unix.AF_UNIX, -1, &unix.SockaddrUnix{Name: addr.Name}, addr)
	if oe, ok := err.(*net.OpError); ok {
		oe.Source = laddr
	}
	return c, err
}

// dialUnixgram dials a unixgram address with package net, as the package
// documentation says: a datagram socket's ReadFrom and WriteTo with
// addresses, and its zero-length datagrams that are not EOF, are
// *net.UnixConn's, which uringnet's Conn does not model.
func (d *Dialer) dialUnixgram(ctx context.Context, network, address string) (net.Conn, error) {
	std := net.Dialer{LocalAddr: d.LocalAddr, Control: d.Control}
	return std.DialContext(ctx, network, address)
}

// unixListenerPath is the file a unix listener's Close removes, or "" for
// an abstract or autobound name, which has none.
func unixListenerPath(laddr net.Addr) string {
	ua, ok := laddr.(*net.UnixAddr)
	if !ok || ua == nil || ua.Name == "" || ua.Name[0] == '@' {
		return ""
	}
	return ua.Name
}

// SetUnlinkOnClose sets whether Close removes a unix listener's socket
// file, as (*net.UnixListener).SetUnlinkOnClose does. By default it does
// when Listen created the file, and not for a listener made from an
// existing socket. It has no effect on TCP listeners or abstract names.
func (l *Listener) SetUnlinkOnClose(unlink bool) {
	l.unlink.Store(unlink)
}

// unlinkOnce removes the listener's socket file, before the socket is
// closed as package net does, and at most once, so a second Close cannot
// remove a file another listener has since bound at the same path.
func (l *Listener) unlinkOnce() {
	if !l.unlink.Load() || !l.unlinked.CompareAndSwap(false, true) {
		return
	}
	if path := unixListenerPath(l.fd.laddr); path != "" {
		syscall.Unlink(path)
	}
}
