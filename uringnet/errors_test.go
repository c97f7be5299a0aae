//go:build linux

package uringnet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// closedPort returns a loopback address on network where nothing listens.
func closedPort(t *testing.T, network string) string {
	t.Helper()
	ln, err := net.Listen(network, loopback(t, network))
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func dialShape(t *testing.T, im impl, o dialOpts, network, address string) errShape {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c net.Conn
	var err error
	within(t, 10*time.Second, "dial", func() { c, err = im.dial(ctx, o, network, address) })
	if c != nil {
		c.Close()
	}
	return shapeOf(err, nil)
}

func TestErrorConnectionRefused(t *testing.T) {
	for _, network := range []string{"tcp", "tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			addr := closedPort(t, network)
			var shapes [2]errShape
			for i, im := range impls {
				shapes[i] = dialShape(t, im, dialOpts{}, network, addr)
			}
			sameShape(t, "dial "+addr, shapes[0], shapes[1])
			s := shapes[1]
			if s.Op != "dial" || s.Syscall != "connect" || s.Errno != syscall.ECONNREFUSED || s.Net != network {
				t.Errorf("uringnet: got %+v, want dial/connect/ECONNREFUSED", s)
			}
		})
	}
}

func TestErrorUnixPathMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "sock")
	var shapes [2]errShape
	for i, im := range impls {
		shapes[i] = dialShape(t, im, dialOpts{}, "unix", path)
	}
	sameShape(t, "dial unix "+path, shapes[0], shapes[1])
	if shapes[1].Errno != syscall.ENOENT || shapes[1].Syscall != "connect" {
		t.Errorf("uringnet: got %+v, want connect ENOENT", shapes[1])
	}
	// A socket file with no listener behind it: ECONNREFUSED.
	stale := filepath.Join(t.TempDir(), "stale")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: stale}); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	for i, im := range impls {
		shapes[i] = dialShape(t, im, dialOpts{}, "unix", stale)
	}
	sameShape(t, "dial unix stale "+stale, shapes[0], shapes[1])
}

// TestErrorBadDialAddress dials addresses that are wrong in every way and
// requires the same error as package net, without panics or hangs.
func TestErrorBadDialAddress(t *testing.T) {
	dir := t.TempDir()
	unixPath := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", unixPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	refused := closedPort(t, "tcp")
	cases := []struct{ network, address string }{
		{"tcp", ""},
		{"tcp", ":"},
		{"tcp", "127.0.0.1"},
		{"tcp", "127.0.0.1:"},
		{"tcp", "127.0.0.1:99999"},
		{"tcp", "127.0.0.1:65536"},
		{"tcp", "127.0.0.1:-1"},
		{"tcp", "127.0.0.1:0"},
		{"tcp", "[::1"},
		{"tcp", "::1:80"},
		{"tcp", "1.2.3:80"},
		{"tcp", "127.0.0.1:http-nope-not-a-service"},
		{"tcp", unixPath},
		{"tcp", "\x00:1"},
		{"tcp4", "[::1]:80"},
		{"tcp6", refused},
		{"unix", ""},
		{"unix", "\x00"},
		{"unix", dir},
		{"unix", filepath.Join(dir, string(make([]byte, 200)))},
		{"unix", "127.0.0.1:80"},
		{"", "127.0.0.1:80"},
		{"foo", "127.0.0.1:80"},
		{"tcp7", "127.0.0.1:80"},
	}
	for _, c := range cases {
		var shapes [2]errShape
		for i, im := range impls {
			shapes[i] = dialShape(t, im, dialOpts{}, c.network, c.address)
		}
		sameShape(t, "dial "+c.network+" "+c.address, shapes[0], shapes[1])
	}
}

func TestErrorUnknownNetwork(t *testing.T) {
	for _, im := range impls {
		_, err := im.Dial("foo", "127.0.0.1:80")
		var une net.UnknownNetworkError
		if !errors.As(err, &une) || string(une) != "foo" {
			t.Errorf("%s: Dial foo: %v, want UnknownNetworkError", im.name, err)
		}
		_, err = im.listen("foo", "127.0.0.1:0")
		if !errors.As(err, &une) || string(une) != "foo" {
			t.Errorf("%s: Listen foo: %v, want UnknownNetworkError", im.name, err)
		}
	}
}

func TestErrorBadListenAddress(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ network, address string }{
		{"tcp", "127.0.0.1:99999"},
		{"tcp", "127.0.0.1:-1"},
		{"tcp", "1.2.3:0"},
		{"tcp", "[::1"},
		{"tcp", "127.0.0.1"},
		{"tcp4", "[::1]:0"},
		{"tcp6", "127.0.0.1:0"},
		{"tcp", "192.0.2.1:0"}, // not a local address: EADDRNOTAVAIL
		{"unix", filepath.Join(dir, "missing", "s")},
		{"unix", dir},
		{"unix", filepath.Join(dir, string(make([]byte, 200)))},
		{"foo", "127.0.0.1:0"},
		{"", ":0"},
	}
	for _, c := range cases {
		var shapes [2]errShape
		for i, im := range impls {
			var ln net.Listener
			var err error
			within(t, 10*time.Second, "listen", func() { ln, err = im.listen(c.network, c.address) })
			if ln != nil {
				ln.Close()
			}
			shapes[i] = shapeOf(err, nil)
		}
		sameShape(t, "listen "+c.network+" "+c.address, shapes[0], shapes[1])
	}
}

func TestErrorAddrInUse(t *testing.T) {
	for _, network := range []string{"tcp", "tcp4", "tcp6", "unix"} {
		t.Run(network, func(t *testing.T) {
			compare(t, "second listen", func(t *testing.T, im impl) errShape {
				ln := listen(t, im, network, loopback(t, network))
				ln2, err := im.listen(network, ln.Addr().String())
				if ln2 != nil {
					ln2.Close()
				}
				if !errors.Is(err, syscall.EADDRINUSE) {
					t.Errorf("second Listen: %v, want EADDRINUSE", err)
				}
				return shapeOf(err, roles{ln.Addr().String(): "first"})
			})
		})
	}
}

type linger interface{ SetLinger(int) error }

// TestErrorReset reads from and writes to a connection whose peer closed
// with SO_LINGER 0: ECONNRESET on read, then EPIPE on write.
func TestErrorReset(t *testing.T) {
	var reads, writes [2]errShape
	for i, im := range impls {
		client, server := pair(t, im, "tcp")
		if err := server.(linger).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		server.Close()
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := client.Read(make([]byte, 10))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: Read after reset: %v, want ECONNRESET", im.name, err)
		}
		reads[i] = shapeOf(err, connRoles(client))
		_, err = client.Write([]byte("hello"))
		if !errors.Is(err, syscall.EPIPE) {
			t.Errorf("%s: Write after reset: %v, want EPIPE", im.name, err)
		}
		writes[i] = shapeOf(err, connRoles(client))
	}
	sameShape(t, "read after reset", reads[0], reads[1])
	sameShape(t, "write after reset", writes[0], writes[1])
}

// TestErrorResetWhileBlocked has the peer reset while Read is blocked.
func TestErrorResetWhileBlocked(t *testing.T) {
	compare(t, "blocked read reset", func(t *testing.T, im impl) errShape {
		client, server := pair(t, im, "tcp")
		errc := make(chan error, 1)
		go func() {
			_, err := client.Read(make([]byte, 10))
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		server.(linger).SetLinger(0)
		server.Close()
		select {
		case err := <-errc:
			return shapeOf(err, connRoles(client))
		case <-time.After(5 * time.Second):
			t.Fatal("Read not unblocked by reset")
		}
		return errShape{}
	})
}

func TestErrorEOF(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			compare(t, "read after orderly close", func(t *testing.T, im impl) errShape {
				client, server := pair(t, im, network)
				if _, err := server.Write([]byte("bye")); err != nil {
					t.Fatal(err)
				}
				server.Close()
				b, err := io.ReadAll(client)
				if err != nil || string(b) != "bye" {
					t.Errorf("ReadAll = %q, %v", b, err)
				}
				n, err := client.Read(make([]byte, 10))
				if n != 0 || err != io.EOF {
					t.Errorf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
				}
				return shapeOf(err, connRoles(client))
			})
		})
	}
}

// TestErrorClosedConn calls every method on a closed conn and compares.
func TestErrorClosedConn(t *testing.T) {
	type method struct {
		name string
		call func(c net.Conn, rc syscall.RawConn) error
	}
	methods := []method{
		{"Read", func(c net.Conn, _ syscall.RawConn) error { _, err := c.Read(make([]byte, 1)); return err }},
		{"ReadEmpty", func(c net.Conn, _ syscall.RawConn) error { _, err := c.Read(nil); return err }},
		{"Write", func(c net.Conn, _ syscall.RawConn) error { _, err := c.Write([]byte("x")); return err }},
		{"Close", func(c net.Conn, _ syscall.RawConn) error { return c.Close() }},
		{"SetDeadline", func(c net.Conn, _ syscall.RawConn) error { return c.SetDeadline(time.Now()) }},
		{"SetReadDeadline", func(c net.Conn, _ syscall.RawConn) error { return c.SetReadDeadline(time.Now()) }},
		{"SetWriteDeadline", func(c net.Conn, _ syscall.RawConn) error { return c.SetWriteDeadline(time.Now()) }},
		{"CloseRead", func(c net.Conn, _ syscall.RawConn) error { return c.(interface{ CloseRead() error }).CloseRead() }},
		{"CloseWrite", func(c net.Conn, _ syscall.RawConn) error { return c.(interface{ CloseWrite() error }).CloseWrite() }},
		{"SetReadBuffer", func(c net.Conn, _ syscall.RawConn) error {
			return c.(interface{ SetReadBuffer(int) error }).SetReadBuffer(1 << 16)
		}},
		{"RawControl", func(_ net.Conn, rc syscall.RawConn) error { return rc.Control(func(uintptr) {}) }},
		{"RawRead", func(_ net.Conn, rc syscall.RawConn) error { return rc.Read(func(uintptr) bool { return true }) }},
		{"RawWrite", func(_ net.Conn, rc syscall.RawConn) error { return rc.Write(func(uintptr) bool { return true }) }},
	}
	tcpMethods := []method{
		{"SetNoDelay", func(c net.Conn, _ syscall.RawConn) error {
			return c.(interface{ SetNoDelay(bool) error }).SetNoDelay(true)
		}},
		{"SetKeepAlive", func(c net.Conn, _ syscall.RawConn) error {
			return c.(interface{ SetKeepAlive(bool) error }).SetKeepAlive(true)
		}},
		{"SetKeepAlivePeriod", func(c net.Conn, _ syscall.RawConn) error {
			return c.(interface{ SetKeepAlivePeriod(time.Duration) error }).SetKeepAlivePeriod(time.Second)
		}},
		{"SetLinger", func(c net.Conn, _ syscall.RawConn) error { return c.(interface{ SetLinger(int) error }).SetLinger(0) }},
	}
	for _, network := range []string{"tcp", "unix"} {
		ms := methods
		if network == "tcp" {
			ms = append(ms, tcpMethods...)
		}
		for _, m := range ms {
			t.Run(network+"/"+m.name, func(t *testing.T) {
				compare(t, m.name+" on closed conn", func(t *testing.T, im impl) errShape {
					client, _ := pair(t, im, network)
					r := connRoles(client)
					rc, err := client.(syscall.Conn).SyscallConn()
					if err != nil {
						t.Fatal(err)
					}
					if err := client.Close(); err != nil {
						t.Fatalf("first Close: %v", err)
					}
					var got error
					within(t, 5*time.Second, m.name, func() { got = m.call(client, rc) })
					if got == nil {
						t.Errorf("%s on a closed conn succeeded", m.name)
					} else if !errors.Is(got, net.ErrClosed) {
						t.Errorf("%s on a closed conn: %v, want net.ErrClosed", m.name, got)
					}
					return shapeOf(got, r)
				})
			})
		}
	}
}

func TestErrorClosedListener(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			var accepts, closes [2]errShape
			for i, im := range impls {
				ln, err := im.listen(network, loopback(t, network))
				if err != nil {
					t.Fatal(err)
				}
				r := roles{ln.Addr().String(): "listener"}
				if err := ln.Close(); err != nil {
					t.Fatal(err)
				}
				_, err = ln.Accept()
				accepts[i] = shapeOf(err, r)
				closes[i] = shapeOf(ln.Close(), r)
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("%s: Accept on closed listener: %v", im.name, err)
				}
			}
			sameShape(t, "accept on closed listener", accepts[0], accepts[1])
			sameShape(t, "second listener close", closes[0], closes[1])
		})
	}
}

// TestErrorNoPanic feeds nil-ish and odd values everywhere.
func TestErrorNoPanic(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, _ := pair(t, im, "tcp")
		within(t, 5*time.Second, "odd calls", func() {
			client.Write(nil)
			client.Write([]byte{})
			client.Read(nil)
			client.SetDeadline(time.Time{})
			client.SetDeadline(time.Unix(0, 0))
			client.SetDeadline(time.Unix(1<<62, 0))
			client.SetDeadline(time.Time{})
		})
		// Typed nil local addresses mean "no local address" in net.
		ln := listen(t, im, "tcp", "127.0.0.1:0")
		for _, la := range []net.Addr{(*net.TCPAddr)(nil), &net.TCPAddr{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}} {
			var c net.Conn
			var err error
			within(t, 5*time.Second, "dial", func() {
				c, err = im.dial(context.Background(), dialOpts{LocalAddr: la}, "tcp", ln.Addr().String())
			})
			if err != nil {
				t.Errorf("Dial with LocalAddr %#v: %v", la, err)
				continue
			}
			c.Close()
		}
		within(t, 5*time.Second, "accept drain", func() {
			for range 3 {
				c, err := ln.Accept()
				if err != nil {
					t.Error(err)
					return
				}
				c.Close()
			}
		})
	})
}

func TestErrorMismatchedLocalAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, la := range []net.Addr{&net.UnixAddr{Name: "/x", Net: "unix"}, &net.TCPAddr{IP: net.IPv6loopback}} {
		var shapes [2]errShape
		for i, im := range impls {
			shapes[i] = dialShape(t, im, dialOpts{LocalAddr: la}, "tcp", ln.Addr().String())
		}
		sameShape(t, "dial with local "+la.String(), shapes[0], shapes[1])
	}
}
