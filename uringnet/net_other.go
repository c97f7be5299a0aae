//go:build !linux

package uringnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
)

// This file is uringnet off Linux, where io_uring does not exist: Listen,
// Dial, FileConn and FileListener are package net's, Available says why,
// and Conn and Listener keep every method, so that a program written for
// Linux compiles unchanged. No Conn or Listener is ever made here (what
// Listen and Dial return is package net's own), so their methods only
// report errUnavailable, or nothing, on a zero value.

// errUnavailable is what Available returns off Linux.
var errUnavailable = fmt.Errorf("uringnet: io_uring needs Linux, and this is %s/%s; Listen and Dial are package net's here: %w",
	runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)

// Available reports whether io_uring can be used in this process, and if
// not, why. Off Linux it never can: it returns an error matching
// errors.ErrUnsupported, and Listen and Dial are package net's unless
// ListenConfig.NoFallback or Dialer.NoFallback is set.
func Available() error { return errUnavailable }

// SetRings sets how many rings uringnet spreads its sockets over, on Linux.
// Off Linux there are none; it checks n as on Linux and has no effect.
func SetRings(n int) error {
	if n < 1 {
		return errors.New("uringnet: SetRings needs at least one ring")
	}
	return nil
}

// Rings returns how many rings uringnet spreads connections over: 0 off
// Linux, as wherever io_uring is unavailable.
func Rings() int { return 0 }

// Listen announces on the local address, like net.Listen; off Linux it is
// net.Listen.
func Listen(network, address string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(context.Background(), network, address)
}

// Listen announces on the local address, like net.ListenConfig.Listen; off
// Linux it is net.ListenConfig's, unless NoFallback makes it fail with
// Available's error.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if lc.NoFallback {
		return nil, &net.OpError{Op: "listen", Net: network, Err: errUnavailable}
	}
	std := lc.netListenConfig()
	return std.Listen(ctx, network, address)
}

// Dial connects to address on network, like net.Dial; off Linux it is
// net.Dial.
func Dial(network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(context.Background(), network, address)
}

// Dial connects to address on network; off Linux it is net.Dialer's.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on network; off Linux it is
// net.Dialer's, unless NoFallback makes it fail with Available's error.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d.NoFallback {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errUnavailable}
	}
	std := d.netDialer()
	return std.DialContext(ctx, network, address)
}

// FileConn returns a connection on a duplicate of the socket f holds; off
// Linux it is net.FileConn, except that a nil f gets a *net.OpError (Op
// "file", Net "file+net") where net.FileConn panics, as on Linux.
func FileConn(f *os.File) (net.Conn, error) {
	if f == nil {
		return nil, &net.OpError{Op: "file", Net: "file+net", Err: os.ErrInvalid}
	}
	return net.FileConn(f)
}

// FileListener returns a listener on a duplicate of the socket f holds; off
// Linux it is net.FileListener, except that a nil f gets an error as in
// FileConn.
func FileListener(f *os.File) (net.Listener, error) {
	if f == nil {
		return nil, &net.OpError{Op: "file", Net: "file+net", Err: os.ErrInvalid}
	}
	return net.FileListener(f)
}

// Conn is a stream connection on io_uring, on Linux. Off Linux none is
// made: Dial, Accept and FileConn return package net's connections. The
// methods exist so that code written for Linux compiles; on a zero Conn
// they return an error matching errors.ErrUnsupported.
type Conn struct {
	_ [0]func()
}

// connErr is the error a Conn's method returns off Linux.
func connErr(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Err: errUnavailable}
}

// Read reads into b; off Linux it fails as Conn says.
func (c *Conn) Read(b []byte) (int, error) { return 0, connErr("read") }

// Write writes b; off Linux it fails as Conn says.
func (c *Conn) Write(b []byte) (int, error) { return 0, connErr("write") }

// Close closes the connection; off Linux it fails as Conn says.
func (c *Conn) Close() error { return connErr("close") }

// LocalAddr returns the local address: nil off Linux.
func (c *Conn) LocalAddr() net.Addr { return nil }

// RemoteAddr returns the peer's address: nil off Linux.
func (c *Conn) RemoteAddr() net.Addr { return nil }

// SetDeadline sets both deadlines; off Linux it fails as Conn says.
func (c *Conn) SetDeadline(t time.Time) error { return connErr("set") }

// SetReadDeadline sets the read deadline; off Linux it fails as Conn says.
func (c *Conn) SetReadDeadline(t time.Time) error { return connErr("set") }

// SetWriteDeadline sets the write deadline; off Linux it fails as Conn says.
func (c *Conn) SetWriteDeadline(t time.Time) error { return connErr("set") }

// CloseRead shuts down the reading side; off Linux it fails as Conn says.
func (c *Conn) CloseRead() error { return connErr("close") }

// CloseWrite shuts down the writing side; off Linux it fails as Conn says.
func (c *Conn) CloseWrite() error { return connErr("close") }

// SetNoDelay controls Nagle's algorithm; off Linux it fails as Conn says.
func (c *Conn) SetNoDelay(noDelay bool) error { return connErr("set") }

// SetKeepAlive turns keep-alive probes on or off; off Linux it fails as
// Conn says.
func (c *Conn) SetKeepAlive(keepalive bool) error { return connErr("set") }

// SetKeepAlivePeriod sets the keep-alive idle time; off Linux it fails as
// Conn says.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error { return connErr("set") }

// SetKeepAliveConfig configures keep-alive probes; off Linux it fails as
// Conn says.
func (c *Conn) SetKeepAliveConfig(cfg net.KeepAliveConfig) error { return connErr("set") }

// SetLinger sets SO_LINGER; off Linux it fails as Conn says.
func (c *Conn) SetLinger(sec int) error { return connErr("set") }

// SetReadBuffer sets the receive buffer size; off Linux it fails as Conn
// says.
func (c *Conn) SetReadBuffer(bytes int) error { return connErr("set") }

// SetWriteBuffer sets the send buffer size; off Linux it fails as Conn
// says.
func (c *Conn) SetWriteBuffer(bytes int) error { return connErr("set") }

// Fd returns the socket's descriptor: -1 off Linux.
func (c *Conn) Fd() int { return -1 }

// SyscallConn returns a raw connection; off Linux it fails as Conn says.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return nil, connErr("raw-control") }

// File returns a duplicate of the socket; off Linux it fails as Conn says.
func (c *Conn) File() (*os.File, error) { return nil, connErr("file") }

// ReadFrom implements io.ReaderFrom; off Linux it fails as Conn says.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) { return 0, connErr("readfrom") }

// WriteTo implements io.WriterTo; off Linux it fails as Conn says.
func (c *Conn) WriteTo(w io.Writer) (int64, error) { return 0, connErr("writeto") }

// ReadMsgUnix reads a message and its ancillary data; off Linux it fails
// as Conn says.
func (c *Conn) ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	return 0, 0, 0, nil, connErr("read")
}

// ReadFromUnix reads into b and returns the sender's address; off Linux it
// fails as Conn says.
func (c *Conn) ReadFromUnix(b []byte) (int, *net.UnixAddr, error) {
	return 0, nil, connErr("read")
}

// WriteToUnix writes b to addr; off Linux it fails as Conn says.
func (c *Conn) WriteToUnix(b []byte, addr *net.UnixAddr) (int, error) {
	return 0, connErr("write")
}

// WriteMsgUnix writes b and the ancillary data oob; off Linux it fails as
// Conn says.
func (c *Conn) WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error) {
	return 0, 0, connErr("write")
}

// Listener accepts connections with io_uring, on Linux. Off Linux none is
// made: Listen and FileListener return package net's listeners. The
// methods exist so that code written for Linux compiles; on a zero
// Listener they return an error matching errors.ErrUnsupported.
type Listener struct {
	_ [0]func()
}

// listenerErr is the error a Listener's method returns off Linux.
func listenerErr(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Err: errUnavailable}
}

// Accept waits for the next connection; off Linux it fails as Listener
// says.
func (l *Listener) Accept() (net.Conn, error) { return nil, listenerErr("accept") }

// Close stops listening; off Linux it fails as Listener says.
func (l *Listener) Close() error { return listenerErr("close") }

// Addr returns the listener's address: nil off Linux.
func (l *Listener) Addr() net.Addr { return nil }

// SetDeadline sets the deadline for Accept; off Linux it fails as Listener
// says.
func (l *Listener) SetDeadline(t time.Time) error { return listenerErr("set") }

// SyscallConn returns a raw listener; off Linux it fails as Listener says.
func (l *Listener) SyscallConn() (syscall.RawConn, error) { return nil, listenerErr("raw-control") }

// Fd returns the listening socket: -1 off Linux.
func (l *Listener) Fd() int { return -1 }

// File returns a duplicate of the listening socket; off Linux it fails as
// Listener says.
func (l *Listener) File() (*os.File, error) { return nil, listenerErr("file") }

// SetUnlinkOnClose sets whether Close removes a unix socket's file; off
// Linux it has no effect.
func (l *Listener) SetUnlinkOnClose(unlink bool) {}
