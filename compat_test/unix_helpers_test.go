package compat_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// The unix-domain suites run every case against package net and against
// uringnet side by side, and require both to give the one outcome written
// in the test: package net's, checked against the kernel it runs on, so a
// test cannot pass by uringnet and the expectation agreeing on something
// package net does not do.

// unixStack is one implementation of the unix networks under test.
type unixStack struct {
	name string
	// uring says the stack is uringnet, whose values must be its own
	// (no fallback to package net) except where it hands a network to
	// package net on purpose.
	uring      bool
	listenWith func(ctx context.Context, control controlFunc, network, address string) (net.Listener, error)
	dialWith   func(ctx context.Context, o dialOpts, network, address string) (net.Conn, error)
}

type controlFunc = func(network, address string, c syscall.RawConn) error

// dialOpts are the Dialer fields the suites set; both stacks' Dialers
// have them.
type dialOpts struct {
	laddr    net.Addr
	control  controlFunc
	deadline time.Time
}

var unixStacks = []unixStack{
	{
		name: "net",
		listenWith: func(ctx context.Context, control controlFunc, network, address string) (net.Listener, error) {
			lc := net.ListenConfig{Control: control}
			return lc.Listen(ctx, network, address)
		},
		dialWith: func(ctx context.Context, o dialOpts, network, address string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: o.laddr, Control: o.control, Deadline: o.deadline, Timeout: 10 * time.Second}
			return d.DialContext(ctx, network, address)
		},
	},
	{
		name:  "uringnet",
		uring: true,
		listenWith: func(ctx context.Context, control controlFunc, network, address string) (net.Listener, error) {
			lc := uringnet.ListenConfig{Control: control, NoFallback: true}
			return lc.Listen(ctx, network, address)
		},
		dialWith: func(ctx context.Context, o dialOpts, network, address string) (net.Conn, error) {
			d := uringnet.Dialer{LocalAddr: o.laddr, Control: o.control, Deadline: o.deadline, NoFallback: true, Timeout: 10 * time.Second}
			return d.DialContext(ctx, network, address)
		},
	},
}

func (s unixStack) listen(network, address string) (net.Listener, error) {
	return s.listenWith(context.Background(), nil, network, address)
}

func (s unixStack) dial(laddr net.Addr, network, address string) (net.Conn, error) {
	return s.dialWith(context.Background(), dialOpts{laddr: laddr}, network, address)
}

// forEachStack runs f as a subtest for package net and for uringnet.
func forEachStack(t *testing.T, f func(t *testing.T, s unixStack)) {
	t.Helper()
	for _, s := range unixStacks {
		t.Run(s.name, func(t *testing.T) {
			if s.uring {
				requireUring(t)
			}
			f(t, s)
		})
	}
}

// mustListen listens and checks the listener is the stack's own.
func (s unixStack) mustListen(t *testing.T, network, address string) net.Listener {
	t.Helper()
	ln, err := s.listen(network, address)
	if err != nil {
		t.Fatalf("%s: listen %s %q: %v", s.name, network, address, err)
	}
	s.checkListener(t, ln)
	t.Cleanup(func() { ln.Close() })
	return ln
}

func (s unixStack) checkListener(t *testing.T, ln net.Listener) {
	t.Helper()
	var ok bool
	if s.uring {
		_, ok = ln.(*uringnet.Listener)
	} else {
		_, ok = ln.(*net.UnixListener)
	}
	if !ok {
		t.Fatalf("%s: listener is %T", s.name, ln)
	}
}

// mustDial dials and checks the connection is the stack's own; its
// deadline ends a hung test.
func (s unixStack) mustDial(t *testing.T, laddr net.Addr, network, address string) net.Conn {
	t.Helper()
	c, err := s.dial(laddr, network, address)
	if err != nil {
		t.Fatalf("%s: dial %s %q: %v", s.name, network, address, err)
	}
	s.checkConn(t, c)
	c.SetDeadline(time.Now().Add(testTimeout)) // a hung test fails
	t.Cleanup(func() { c.Close() })
	return c
}

func (s unixStack) checkConn(t *testing.T, c net.Conn) {
	t.Helper()
	var ok bool
	if s.uring {
		_, ok = c.(*uringnet.Conn)
	} else {
		_, ok = c.(*net.UnixConn)
	}
	if !ok {
		t.Fatalf("%s: connection is %T", s.name, c)
	}
}

// mustAccept accepts one connection within a deadline, which it gives the
// connection too.
func (s unixStack) mustAccept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("%s: accept: %v", s.name, err)
	}
	s.checkConn(t, c)
	c.SetDeadline(time.Now().Add(testTimeout)) // a hung test fails
	t.Cleanup(func() { c.Close() })
	return c
}

// pair returns both ends of a connection on network to a listener at
// address, the client bound to laddr.
func (s unixStack) pair(t *testing.T, network, address string, laddr net.Addr) (ln net.Listener, client, server net.Conn) {
	t.Helper()
	ln = s.mustListen(t, network, address)
	client = s.mustDial(t, laddr, network, ln.Addr().String())
	server = s.mustAccept(t, ln)
	return ln, client, server
}

// addrDesc spells out an address completely: its type, network and name,
// and whether it is a nil interface or a typed nil.
func addrDesc(a net.Addr) string {
	if a == nil {
		return "nil"
	}
	if v := reflect.ValueOf(a); v.Kind() == reflect.Pointer && v.IsNil() {
		return fmt.Sprintf("(%T)(nil)", a)
	}
	return fmt.Sprintf("%T{%s %q}", a, a.Network(), a.String())
}

// unixAddr is the *net.UnixAddr description addrDesc gives.
func unixAddr(network, name string) string {
	return addrDesc(&net.UnixAddr{Name: name, Net: network})
}

// checkAddr requires a to be exactly want (an addrDesc).
func checkAddr(t *testing.T, what string, a net.Addr, want string) {
	t.Helper()
	if got := addrDesc(a); got != want {
		t.Errorf("%s: got %s, want %s", what, got, want)
	}
}

// opErr is everything a caller can see of a *net.OpError.
type opErr struct {
	text   string // Error()
	op     string
	net    string
	source string // addrDesc
	addr   string // addrDesc
	// errno is the syscall.Errno underneath, or 0 for none.
	errno   syscall.Errno
	closed  bool // errors.Is(err, net.ErrClosed)
	timeout bool // errors.Is(err, os.ErrDeadlineExceeded) and Timeout()
}

// describe reads err as opErr, failing the test if it is not a
// *net.OpError.
func describe(t *testing.T, err error) opErr {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not a *net.OpError", err, err)
	}
	d := opErr{text: err.Error(), op: oe.Op, net: oe.Net, source: addrDesc(oe.Source), addr: addrDesc(oe.Addr)}
	errors.As(err, &d.errno)
	d.closed = errors.Is(err, net.ErrClosed)
	var ne net.Error
	d.timeout = errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
	return d
}

// checkErr requires err to be exactly want.
func checkErr(t *testing.T, what string, err error, want opErr) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %q", what, want.text)
		return
	}
	if got := describe(t, err); got != want {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// abstractName returns an abstract unix name unique to this process and
// tag, so parallel test binaries never share one.
func abstractName(tag string) string {
	return fmt.Sprintf("@ourio-compat-%d-%s", os.Getpid(), tag)
}

// sockDir returns a new directory with a short path, so socket paths stay
// far inside sun_path's 108 bytes whatever the test's name.
func sockDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ou")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// fileExists reports whether path names a file, failing the test on an
// error other than its absence.
func fileExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}
