//go:build linux

package uringnet_test

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/sys/unix"
)

// The descriptor API, File, FileConn and FileListener, side by side with
// package net's on real sockets.

// fileAPI is one implementation's FileConn and FileListener.
type fileAPI struct {
	conn     func(*os.File) (net.Conn, error)
	listener func(*os.File) (net.Listener, error)
}

func fileFuncs(im impl) fileAPI {
	if im.name == stdImpl.name {
		return fileAPI{net.FileConn, net.FileListener}
	}
	return fileAPI{uringnet.FileConn, uringnet.FileListener}
}

// filer is what *net.TCPConn, *net.TCPListener and uringnet's types share.
type filer interface{ File() (*os.File, error) }

// fileOf returns x's File, closed when the test ends.
func fileOf(t *testing.T, x any) *os.File {
	t.Helper()
	fr, ok := x.(filer)
	if !ok {
		t.Fatalf("%T has no File method", x)
	}
	f, err := fr.File()
	if err != nil {
		t.Fatalf("%T.File: %v", x, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sockFd returns the descriptor x reads and writes, without changing its
// mode.
func sockFd(t *testing.T, x any) int {
	t.Helper()
	sc, ok := x.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no SyscallConn", x)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// fdModes reports whether fd is close-on-exec and non-blocking.
func fdModes(t *testing.T, fd int) (cloexec, nonblock bool) {
	t.Helper()
	fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fdfl&unix.FD_CLOEXEC != 0, fl&unix.O_NONBLOCK != 0
}

// fileModes is fdModes for an *os.File, read through SyscallConn so that
// Fd does not change them.
func fileModes(t *testing.T, f *os.File) (cloexec, nonblock bool) {
	t.Helper()
	return fdModes(t, sockFd(t, f))
}

// exchange sends msg from a to b and checks that it arrives.
func exchange(t *testing.T, what string, a io.Writer, b io.Reader, msg string) {
	t.Helper()
	if d, ok := b.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Now().Add(5 * time.Second))
	}
	if _, err := a.Write([]byte(msg)); err != nil {
		t.Fatalf("%s: write: %v", what, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(b, got); err != nil || string(got) != msg {
		t.Fatalf("%s: read %q, %v; want %q", what, got, err, msg)
	}
}

// wantEOF checks that r reads end of stream within five seconds.
func wantEOF(t *testing.T, what string, r net.Conn) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := r.Read(make([]byte, 8))
	if n != 0 || err != io.EOF {
		t.Fatalf("%s: Read = %d, %v; want end of stream", what, n, err)
	}
}

func TestConnFileIsIndependentDuplicate(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				client, server := pair(t, im, network)
				f := fileOf(t, client)
				if fd := sockFd(t, f); fd == sockFd(t, client) {
					t.Fatalf("File's descriptor %d is the conn's own", fd)
				}
				if cloexec, nonblock := fileModes(t, f); !cloexec || !nonblock {
					t.Errorf("File: close-on-exec %v, non-blocking %v; want both, as package net", cloexec, nonblock)
				}
				// Closing the file leaves the conn working.
				f.Close()
				exchange(t, "conn after closing its File", client, server, "one")
				exchange(t, "conn after closing its File", server, client, "two")
				// Closing the conn leaves the file working: the socket
				// stays open, so the peer sees no end of stream until the
				// file is closed too.
				f2 := fileOf(t, client)
				if err := client.Close(); err != nil {
					t.Fatal(err)
				}
				exchange(t, "File after closing the conn", f2, server, "three")
				exchange(t, "File after closing the conn", server, f2, "four")
				f2.Close()
				wantEOF(t, "peer after closing conn and File", server)
			})
		})
	}
}

func TestFileAfterClose(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			compare(t, "conn File after Close", func(t *testing.T, im impl) errShape {
				client, _ := pair(t, im, network)
				client.Close()
				f, err := client.(filer).File()
				if err == nil {
					f.Close()
					t.Fatal("File after Close succeeded")
				}
				checkFileClosed(t, err, network)
				return shapeOf(err, connRoles(client))
			})
			compare(t, "listener File after Close", func(t *testing.T, im impl) errShape {
				ln := listen(t, im, network, loopback(t, network))
				ln.Close()
				f, err := ln.(filer).File()
				if err == nil {
					f.Close()
					t.Fatal("File after Close succeeded")
				}
				checkFileClosed(t, err, network)
				return shapeOf(err, roles{ln.Addr().String(): "listener"})
			})
		})
	}
	var c *uringnet.Conn
	if _, err := c.File(); err == nil {
		t.Error("File of a nil *Conn succeeded")
	}
	var l *uringnet.Listener
	if _, err := l.File(); err == nil {
		t.Error("File of a nil *Listener succeeded")
	}
}

func checkFileClosed(t *testing.T, err error, network string) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "file" || oe.Net != network || !errors.Is(err, net.ErrClosed) {
		t.Errorf("File after Close: %v (%T), want a *net.OpError, Op file, Net %s, matching net.ErrClosed", err, err, network)
	}
}

// TestFileConnAdopts moves a connection's socket into a new conn through
// its File, with the original conn and the file closed.
func TestFileConnAdopts(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				client, server := pair(t, im, network)
				if network == "tcp" {
					// Adoption applies package net's TCP defaults again.
					server.(interface{ SetNoDelay(bool) error }).SetNoDelay(false)
					server.(interface{ SetKeepAlive(bool) error }).SetKeepAlive(false)
				}
				f := fileOf(t, server)
				server.Close()
				c, err := fileFuncs(im).conn(f)
				if err != nil {
					t.Fatalf("FileConn: %v", err)
				}
				defer c.Close()
				f.Close()
				wantConnType(t, im, network, c)
				if c.LocalAddr().String() != client.RemoteAddr().String() {
					t.Errorf("LocalAddr %v, want the peer's RemoteAddr %v", c.LocalAddr(), client.RemoteAddr())
				}
				if network == "tcp" && c.RemoteAddr().String() != client.LocalAddr().String() {
					t.Errorf("RemoteAddr %v, want the peer's LocalAddr %v", c.RemoteAddr(), client.LocalAddr())
				}
				if network == "tcp" {
					fd := sockFd(t, c)
					for _, o := range []struct {
						name       string
						level, opt int
						want       int
					}{
						{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
						{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
						{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
					} {
						if v, err := unix.GetsockoptInt(fd, o.level, o.opt); err != nil || v != o.want {
							t.Errorf("%s on the adopted conn = %d, %v; want %d", o.name, v, err, o.want)
						}
					}
				}
				exchange(t, "to the adopted conn", client, c, "hello")
				exchange(t, "from the adopted conn", c, client, "world")

				// Deadlines and Close work on it.
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				_, err = c.Read(make([]byte, 8))
				checkTimeout(t, "adopted Read past its deadline", err)
				var oe *net.OpError
				if !errors.As(err, &oe) || oe.Op != "read" {
					t.Errorf("adopted Read past its deadline: %v, want Op read", err)
				}
				c.SetReadDeadline(time.Time{})
				ch, _ := blocked(t, func() error { _, err := c.Read(make([]byte, 8)); return err })
				c.Close()
				if err := wait(t, ch, 5*time.Second, "adopted Read after Close"); !errors.Is(err, net.ErrClosed) {
					t.Errorf("adopted Read after Close: %v, want net.ErrClosed", err)
				}
				// That was the socket's last descriptor.
				wantEOF(t, "peer of the closed adopted conn", client)
			})
		})
	}
}

func wantConnType(t *testing.T, im impl, network string, c net.Conn) {
	t.Helper()
	var ok bool
	switch {
	case im.name == uringImpl.name:
		_, ok = c.(*uringnet.Conn)
	case network == "tcp":
		_, ok = c.(*net.TCPConn)
	default:
		_, ok = c.(*net.UnixConn)
	}
	if !ok {
		t.Errorf("%s FileConn on %s returned %T", im.name, network, c)
	}
}

// TestFileConnAddrsMatchNet adopts the same sockets with both and compares
// the addresses.
func TestFileConnAddrsMatchNet(t *testing.T) {
	for _, network := range []string{"tcp", "tcp6", "unix"} {
		t.Run(network, func(t *testing.T) {
			ln := listen(t, stdImpl, network, loopback(t, network))
			client, server := acceptDial(t, stdImpl, ln, network, ln.Addr().String())
			for what, x := range map[string]any{"client": client, "server": server, "listener": ln} {
				f := fileOf(t, x)
				std, err := net.FileConn(f)
				if err != nil {
					t.Fatalf("%s: net.FileConn: %v", what, err)
				}
				std.Close()
				ur, err := uringnet.FileConn(f)
				if err != nil {
					t.Fatalf("%s: uringnet.FileConn: %v", what, err)
				}
				ur.Close()
				for _, a := range [][2]net.Addr{{std.LocalAddr(), ur.LocalAddr()}, {std.RemoteAddr(), ur.RemoteAddr()}} {
					if describe(a[0]) != describe(a[1]) {
						t.Errorf("%s: net says %s, uringnet %s", what, describe(a[0]), describe(a[1]))
					}
				}
			}
			lf := fileOf(t, ln)
			std, err := net.FileListener(lf)
			if err != nil {
				t.Fatal(err)
			}
			std.Close()
			ur, err := uringnet.FileListener(lf)
			if err != nil {
				t.Fatal(err)
			}
			ur.Close()
			if describe(std.Addr()) != describe(ur.Addr()) {
				t.Errorf("listener: net says %s, uringnet %s", describe(std.Addr()), describe(ur.Addr()))
			}
		})
	}
}

// describe shows an address with its type and network; a nil interface
// and a typed nil differ.
func describe(a net.Addr) string {
	if a == nil {
		return "nil"
	}
	if u, ok := a.(*net.UnixAddr); ok && u == nil {
		return "(*net.UnixAddr)(nil)"
	}
	if u, ok := a.(*net.TCPAddr); ok && u == nil {
		return "(*net.TCPAddr)(nil)"
	}
	return a.Network() + " " + a.String() + " " + typeName(a)
}

func typeName(a any) string {
	switch a.(type) {
	case *net.TCPAddr:
		return "*net.TCPAddr"
	case *net.UnixAddr:
		return "*net.UnixAddr"
	}
	return "other"
}

func TestFileListenerAdopts(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				ln := listen(t, im, network, loopback(t, network))
				f := fileOf(t, ln)
				if cloexec, nonblock := fileModes(t, f); !cloexec || !nonblock {
					t.Errorf("File: close-on-exec %v, non-blocking %v; want both, as package net", cloexec, nonblock)
				}
				ln2, err := fileFuncs(im).listener(f)
				if err != nil {
					t.Fatalf("FileListener: %v", err)
				}
				defer ln2.Close()
				f.Close()
				wantListenerType(t, im, network, ln2)
				if ln2.Addr().String() != ln.Addr().String() || ln2.Addr().Network() != network {
					t.Errorf("adopted Addr %v on %s, want %v on %s", ln2.Addr(), ln2.Addr().Network(), ln.Addr(), network)
				}
				client, server := acceptDial(t, im, ln2, network, ln.Addr().String())
				exchange(t, "through the adopted listener", client, server, "ping")
				exchange(t, "through the adopted listener", server, client, "pong")

				if network == "unix" {
					// The adopted listener leaves the socket file alone;
					// the one that made it removes it, as in package net.
					ln2.Close()
					if _, err := os.Stat(ln.Addr().String()); err != nil {
						t.Errorf("closing the adopted unix listener removed its file: %v", err)
					}
					ln.Close()
					if _, err := os.Stat(ln.Addr().String()); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("closing the original unix listener left its file: %v", err)
					}
					return
				}
				// The socket outlives the listener it was made by.
				ln.Close()
				client, server = acceptDial(t, im, ln2, network, ln.Addr().String())
				exchange(t, "after closing the original listener", client, server, "again")

				ln2.(deadliner).SetDeadline(time.Now().Add(50 * time.Millisecond))
				_, err = ln2.Accept()
				checkTimeout(t, "adopted Accept past its deadline", err)
				ln2.(deadliner).SetDeadline(time.Time{})
				ch, _ := blocked(t, func() error { _, err := ln2.Accept(); return err })
				ln2.Close()
				if err := wait(t, ch, 5*time.Second, "adopted Accept after Close"); !errors.Is(err, net.ErrClosed) {
					t.Errorf("adopted Accept after Close: %v, want net.ErrClosed", err)
				}
				// The socket is gone with its last descriptor.
				if c, err := net.DialTimeout(network, ln.Addr().String(), 5*time.Second); err == nil {
					c.Close()
					t.Error("dial succeeded after every listener was closed")
				}
			})
		})
	}
}

func wantListenerType(t *testing.T, im impl, network string, ln net.Listener) {
	t.Helper()
	var ok bool
	switch {
	case im.name == uringImpl.name:
		_, ok = ln.(*uringnet.Listener)
	case network == "tcp":
		_, ok = ln.(*net.TCPListener)
	default:
		_, ok = ln.(*net.UnixListener)
	}
	if !ok {
		t.Errorf("%s FileListener on %s returned %T", im.name, network, ln)
	}
}
