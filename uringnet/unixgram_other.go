//go:build !linux

package uringnet

import (
	"net"
	"os"
	"syscall"
	"time"
)

// UnixgramConn is a unixgram socket on the ring on Linux. Off Linux none
// is made (ListenPacket and Dial return package net's *net.UnixConn); its
// methods exist so that code written for Linux compiles, and fail.
type UnixgramConn struct {
	_ [0]func()
}

func unixgramErr(op string) error { return &net.OpError{Op: op, Net: "unixgram", Err: errUnavailable} }

// Read reads a datagram; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) Read(b []byte) (int, error) { return 0, unixgramErr("read") }

// ReadFrom reads a datagram; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) ReadFrom(b []byte) (int, net.Addr, error) { return 0, nil, unixgramErr("read") }

// ReadFromUnix reads a datagram; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) ReadFromUnix(b []byte) (int, *net.UnixAddr, error) {
	return 0, nil, unixgramErr("read")
}

// ReadMsgUnix reads a datagram and its control data; off Linux it fails as
// UnixgramConn says.
func (c *UnixgramConn) ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	return 0, 0, 0, nil, unixgramErr("read")
}

// Write sends a datagram; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) Write(b []byte) (int, error) { return 0, unixgramErr("write") }

// WriteTo sends a datagram; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) WriteTo(b []byte, addr net.Addr) (int, error) { return 0, unixgramErr("write") }

// WriteToUnix sends a datagram; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) WriteToUnix(b []byte, addr *net.UnixAddr) (int, error) {
	return 0, unixgramErr("write")
}

// WriteMsgUnix sends a datagram with control data; off Linux it fails as
// UnixgramConn says.
func (c *UnixgramConn) WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error) {
	return 0, 0, unixgramErr("write")
}

// Close closes the socket; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) Close() error { return unixgramErr("close") }

// LocalAddr returns the local address: nil off Linux.
func (c *UnixgramConn) LocalAddr() net.Addr { return nil }

// RemoteAddr returns the peer's address: nil off Linux.
func (c *UnixgramConn) RemoteAddr() net.Addr { return nil }

// SetDeadline sets both deadlines; off Linux it fails as UnixgramConn says.
func (c *UnixgramConn) SetDeadline(t time.Time) error { return unixgramErr("set") }

// SetReadDeadline sets the read deadline; off Linux it fails as
// UnixgramConn says.
func (c *UnixgramConn) SetReadDeadline(t time.Time) error { return unixgramErr("set") }

// SetWriteDeadline sets the write deadline; off Linux it fails as
// UnixgramConn says.
func (c *UnixgramConn) SetWriteDeadline(t time.Time) error { return unixgramErr("set") }

// SetReadBuffer sets the receive buffer size; off Linux it fails as
// UnixgramConn says.
func (c *UnixgramConn) SetReadBuffer(bytes int) error { return unixgramErr("set") }

// SetWriteBuffer sets the send buffer size; off Linux it fails as
// UnixgramConn says.
func (c *UnixgramConn) SetWriteBuffer(bytes int) error { return unixgramErr("set") }

// SyscallConn returns a raw connection; off Linux it fails as UnixgramConn
// says.
func (c *UnixgramConn) SyscallConn() (syscall.RawConn, error) {
	return nil, unixgramErr("raw-control")
}

// File returns a duplicate of the socket; off Linux it fails as
// UnixgramConn says.
func (c *UnixgramConn) File() (*os.File, error) { return nil, unixgramErr("file") }

// Fd returns the socket's descriptor: -1 off Linux.
func (c *UnixgramConn) Fd() int { return -1 }
