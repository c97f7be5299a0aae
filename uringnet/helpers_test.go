//go:build linux

package uringnet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// impl is one implementation of the same API: package net, or uringnet
// without fallback. Tests run one scenario on both and compare.
type impl struct {
	name   string
	listen func(network, address string) (net.Listener, error)
	dial   func(ctx context.Context, d dialOpts, network, address string) (net.Conn, error)
}

// dialOpts holds the Dialer fields both implementations share.
type dialOpts struct {
	Timeout   time.Duration
	Deadline  time.Time
	LocalAddr net.Addr
	KeepAlive time.Duration
	Control   func(network, address string, c syscall.RawConn) error
}

var (
	stdImpl = impl{
		name: "net",
		listen: func(network, address string) (net.Listener, error) {
			return net.Listen(network, address)
		},
		dial: func(ctx context.Context, o dialOpts, network, address string) (net.Conn, error) {
			d := net.Dialer{Timeout: o.Timeout, Deadline: o.Deadline, LocalAddr: o.LocalAddr, KeepAlive: o.KeepAlive, Control: o.Control}
			return d.DialContext(ctx, network, address)
		},
	}
	uringImpl = impl{
		name: "uringnet",
		listen: func(network, address string) (net.Listener, error) {
			lc := uringnet.ListenConfig{NoFallback: true}
			return lc.Listen(context.Background(), network, address)
		},
		dial: func(ctx context.Context, o dialOpts, network, address string) (net.Conn, error) {
			d := uringnet.Dialer{Timeout: o.Timeout, Deadline: o.Deadline, LocalAddr: o.LocalAddr, KeepAlive: o.KeepAlive, Control: o.Control, NoFallback: true}
			return d.DialContext(ctx, network, address)
		},
	}
	impls = []impl{stdImpl, uringImpl}
)

func (im impl) Dial(network, address string) (net.Conn, error) {
	return im.dial(context.Background(), dialOpts{}, network, address)
}

// forBoth runs f as a subtest on each implementation.
func forBoth(t *testing.T, f func(t *testing.T, im impl)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
}

// loopback returns a listening address for network: 127.0.0.1:0 for TCP, a
// fresh path for unix and unixpacket.
func loopback(t *testing.T, network string) string {
	switch network {
	case "unix", "unixpacket":
		return filepath.Join(t.TempDir(), "s")
	case "tcp6":
		return "[::1]:0"
	}
	return "127.0.0.1:0"
}

// listen listens with im and closes the listener when the test ends.
func listen(t *testing.T, im impl, network, address string) net.Listener {
	t.Helper()
	ln, err := im.listen(network, address)
	if err != nil {
		t.Fatalf("%s: Listen(%q, %q): %v", im.name, network, address, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// acceptDial dials ln's address on network with im and returns the client
// and the accepted server conn, both closed when the test ends.
func acceptDial(t *testing.T, im impl, ln net.Listener, network, address string) (client, server net.Conn) {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err := im.Dial(network, address)
	if err != nil {
		t.Fatalf("%s: Dial(%q, %q): %v", im.name, network, address, err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: Accept: %v", im.name, r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return client, r.c
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Accept hung", im.name)
	}
	return nil, nil
}

// pair returns a connected client and server of im on network.
func pair(t *testing.T, im impl, network string) (client, server net.Conn) {
	t.Helper()
	ln := listen(t, im, network, loopback(t, network))
	return acceptDial(t, im, ln, network, ln.Addr().String())
}

// errShape is what a caller can observe of an error, with addresses
// replaced by their role so that two implementations on different ports
// compare equal.
type errShape struct {
	Type         string
	Op, Net      string
	Source, Addr string
	Inner        string
	Syscall      string
	Errno        syscall.Errno
	Timeout      bool
	Closed       bool
	Deadline     bool
	EOF          bool
	Canceled     bool
	CtxDeadline  bool
	Text         string // error text of the innermost error, when asked for
}

type roles map[string]string

func connRoles(c net.Conn) roles {
	return roles{c.LocalAddr().String(): "local", c.RemoteAddr().String(): "remote"}
}

func (r roles) addr(a net.Addr) string {
	if a == nil {
		return "nil"
	}
	s := fmt.Sprintf("%T(%v)", a, a)
	if name, ok := r[a.String()]; ok && a.String() != "" {
		s = fmt.Sprintf("%T(%s)", a, name)
	}
	return s
}

func shapeOf(err error, r roles) errShape {
	if err == nil {
		return errShape{Type: "nil"}
	}
	s := errShape{Type: fmt.Sprintf("%T", err)}
	var oe *net.OpError
	if errors.As(err, &oe) {
		s.Op, s.Net = oe.Op, oe.Net
		s.Source, s.Addr = r.addr(oe.Source), r.addr(oe.Addr)
		s.Inner = fmt.Sprintf("%T", oe.Err)
		s.Text = oe.Err.Error()
	} else {
		s.Text = err.Error()
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		s.Syscall = se.Syscall
	}
	errors.As(err, &s.Errno)
	var te interface{ Timeout() bool }
	if errors.As(err, &te) {
		s.Timeout = te.Timeout()
	}
	s.Closed = errors.Is(err, net.ErrClosed)
	s.Deadline = errors.Is(err, os.ErrDeadlineExceeded)
	s.EOF = errors.Is(err, io.EOF)
	s.Canceled = errors.Is(err, context.Canceled)
	s.CtxDeadline = errors.Is(err, context.DeadlineExceeded)
	return s
}

// sameShape fails the test unless the errors net and uringnet returned for
// the same scenario look the same.
func sameShape(t *testing.T, what string, std, ur errShape) {
	t.Helper()
	if std != ur {
		t.Errorf("%s: errors differ\n net:      %+v\n uringnet: %+v", what, std, ur)
	}
}

// compare runs scenario on both implementations and compares the errors.
func compare(t *testing.T, what string, scenario func(t *testing.T, im impl) errShape) {
	t.Helper()
	var got [2]errShape
	for i, im := range impls {
		t.Run(im.name, func(t *testing.T) { got[i] = scenario(t, im) })
	}
	sameShape(t, what, got[0], got[1])
}

// within fails the test if f does not return within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: did not return within %v", what, d)
	}
}

// drain reads c until an error and returns how much it read.
func drain(c net.Conn) (int64, error) {
	return io.Copy(io.Discard, c)
}

// fillBuffer shrinks c's send buffer and writes with a short deadline until
// the socket is full, then clears the deadline.
func fillBuffer(t *testing.T, c net.Conn) int {
	t.Helper()
	if tc, ok := c.(interface{ SetWriteBuffer(int) error }); ok {
		tc.SetWriteBuffer(4096)
	}
	buf := make([]byte, 64<<10)
	total := 0
	for {
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Write(buf)
		total += n
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("filling the buffer: %v", err)
			}
			break
		}
	}
	c.SetWriteDeadline(time.Time{})
	return total
}
