//go:build linux

package uringnet_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/sys/unix"
)

// fullBacklog returns the address of a listening socket that never accepts
// and whose accept queue is full, so that connects to it hang, and a
// cleanup that closes everything.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	for i := 0; ; i++ {
		if i > 64 {
			t.Skip("could not fill the accept queue")
		}
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr
}

// looseCtxShape drops what cannot match package net in a dial's context
// error: net's error types are unexported, and net's timeout matches
// context.DeadlineExceeded or os.ErrDeadlineExceeded depending on which of
// its two timers for the deadline fired first, where uringnet's always
// matches context.DeadlineExceeded.
func looseCtxShape(s errShape) errShape {
	s.Inner, s.Deadline, s.CtxDeadline = "", false, false
	return s
}

func TestDialDeadlineInPast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, o := range []dialOpts{{Deadline: time.Now().Add(-time.Second)}, {Timeout: time.Nanosecond}} {
		var shapes [2]errShape
		for i, im := range impls {
			shapes[i] = dialShape(t, im, o, "tcp", ln.Addr().String())
		}
		sameShape(t, fmt.Sprintf("dial with %+v", o), looseCtxShape(shapes[0]), looseCtxShape(shapes[1]))
		if !shapes[1].Timeout || !shapes[1].CtxDeadline {
			t.Errorf("uringnet: %+v, want a timeout", shapes[1])
		}
	}
}

func TestDialTimeoutFullBacklog(t *testing.T) {
	addr := fullBacklog(t)
	var shapes [2]errShape
	for i, im := range impls {
		start := time.Now()
		shapes[i] = dialShape(t, im, dialOpts{Timeout: 200 * time.Millisecond}, "tcp", addr)
		if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
			t.Errorf("%s: dial timed out after %v, want about 200ms", im.name, d)
		}
	}
	sameShape(t, "dial timeout", looseCtxShape(shapes[0]), looseCtxShape(shapes[1]))
	if !shapes[1].Timeout {
		t.Errorf("uringnet: %+v, want a timeout", shapes[1])
	}
}

func TestDialContextCancelMidDial(t *testing.T) {
	addr := fullBacklog(t)
	var shapes [2]errShape
	for i, im := range impls {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		var err error
		within(t, 5*time.Second, "dial", func() { _, err = im.dial(ctx, dialOpts{}, "tcp", addr) })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", im.name, err)
		}
		shapes[i] = shapeOf(err, nil)
	}
	sameShape(t, "dial canceled", looseCtxShape(shapes[0]), looseCtxShape(shapes[1]))
}

// TestDialContextCancelRace cancels dials at every moment from before the
// connect is submitted to after: each dial must return promptly.
func TestDialContextCancelRace(t *testing.T) {
	addr := fullBacklog(t)
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		delay := time.Duration(rng.IntN(200)) * time.Microsecond
		if i%3 == 0 {
			delay = 0
		}
		time.AfterFunc(delay, cancel)
		var c net.Conn
		var err error
		within(t, 5*time.Second, fmt.Sprintf("dial %d canceled after %v", i, delay), func() {
			c, err = uringImpl.dial(ctx, dialOpts{}, "tcp", addr)
		})
		if err == nil {
			c.Close()
			t.Fatal("dial to a full backlog succeeded")
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("dial %d: %v, want context.Canceled", i, err)
		}
		cancel()
	}
}

// TestDialContextCanceledInControl cancels the dial from Control, just
// before the connect is submitted: the dial must still end at once.
func TestDialContextCanceledInControl(t *testing.T) {
	addr := fullBacklog(t)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		ctl := func(string, string, syscall.RawConn) error { cancel(); return nil }
		var err error
		within(t, 5*time.Second, fmt.Sprintf("dial %d canceled in Control", i), func() {
			_, err = uringImpl.dial(ctx, dialOpts{Control: ctl}, "tcp", addr)
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("dial %d: %v, want context.Canceled", i, err)
		}
	}
}

// TestDialTimeoutRace does the same with timeouts.
func TestDialTimeoutRace(t *testing.T) {
	addr := fullBacklog(t)
	for i := range 200 {
		var err error
		within(t, 5*time.Second, "dial", func() {
			_, err = uringImpl.dial(context.Background(), dialOpts{Timeout: time.Duration(i%50+1) * 10 * time.Microsecond}, "tcp", addr)
		})
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("dial %d: %v, want a timeout", i, err)
		}
	}
}

func TestDialLocalAddr(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		for _, network := range []string{"tcp", "tcp6"} {
			ln := listen(t, im, network, loopback(t, network))
			host := "127.0.0.1"
			if network == "tcp6" {
				host = "::1"
			}
			// A free port to bind to.
			probe, err := net.Listen(network, net.JoinHostPort(host, "0"))
			if err != nil {
				t.Fatal(err)
			}
			la := probe.Addr().(*net.TCPAddr)
			probe.Close()
			c, err := im.dial(context.Background(), dialOpts{LocalAddr: la}, network, ln.Addr().String())
			if err != nil {
				t.Fatalf("dial from %v: %v", la, err)
			}
			s, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if c.LocalAddr().String() != la.String() || s.RemoteAddr().String() != la.String() {
				t.Errorf("bound to %v: client local %v, server remote %v", la, c.LocalAddr(), s.RemoteAddr())
			}
			c.Close()
			s.Close()
		}
	})
}

func TestDialUnixLocalAddr(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		ln := listen(t, im, "unix", loopback(t, "unix"))
		la := &net.UnixAddr{Name: loopback(t, "unix"), Net: "unix"}
		c, err := im.dial(context.Background(), dialOpts{LocalAddr: la}, "unix", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if c.LocalAddr().String() != la.Name || s.RemoteAddr().String() != la.Name {
			t.Errorf("bound to %v: client local %v, server remote %v", la, c.LocalAddr(), s.RemoteAddr())
		}
	})
}

// TestDialControl: Control is called once, before connecting, with the
// arguments net passes, and its error fails the dial as in net.
func TestDialControl(t *testing.T) {
	for _, network := range []string{"tcp", "tcp4", "tcp6", "unix"} {
		t.Run(network, func(t *testing.T) {
			var calls [2]string
			var fails [2]errShape
			for i, im := range impls {
				ln := listen(t, im, network, loopback(t, network))
				target := ln.Addr().String()
				ctl := func(nw, address string, c syscall.RawConn) error {
					var connected bool
					err := c.Control(func(fd uintptr) {
						_, perr := unix.Getpeername(int(fd))
						connected = perr == nil
					})
					calls[i] += fmt.Sprintf("network=%s address-matches=%v connected=%v control-err=%v; ", nw, address == target, connected, err)
					return nil
				}
				c, err := im.dial(context.Background(), dialOpts{Control: ctl}, network, target)
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				boom := errors.New("boom")
				_, err = im.dial(context.Background(), dialOpts{Control: func(string, string, syscall.RawConn) error { return boom }}, network, target)
				if !errors.Is(err, boom) {
					t.Errorf("%s: dial with a failing Control: %v", im.name, err)
				}
				fails[i] = shapeOf(err, roles{target: "target"})
			}
			if calls[0] != calls[1] {
				t.Errorf("Control calls differ\n net:      %s\n uringnet: %s", calls[0], calls[1])
			}
			sameShape(t, "failing Control", fails[0], fails[1])
		})
	}
}

func TestListenControl(t *testing.T) {
	for _, network := range []string{"tcp", "tcp4", "tcp6", "unix"} {
		t.Run(network, func(t *testing.T) {
			var calls [2]string
			for i, im := range impls {
				address := loopback(t, network)
				ctl := func(nw, addr string, c syscall.RawConn) error {
					var bound bool
					c.Control(func(fd uintptr) {
						sa, err := unix.Getsockname(int(fd))
						switch sa := sa.(type) {
						case *unix.SockaddrInet4:
							bound = sa.Port != 0
						case *unix.SockaddrInet6:
							bound = sa.Port != 0
						case *unix.SockaddrUnix:
							bound = sa.Name != ""
						}
						_ = err
					})
					calls[i] += fmt.Sprintf("network=%s bound=%v; ", nw, bound)
					return nil
				}
				var ln net.Listener
				var err error
				if im.name == "net" {
					lc := net.ListenConfig{Control: ctl}
					ln, err = lc.Listen(context.Background(), network, address)
				} else {
					lc := uringnet.ListenConfig{Control: ctl, NoFallback: true}
					ln, err = lc.Listen(context.Background(), network, address)
				}
				if err != nil {
					t.Fatal(err)
				}
				ln.Close()
			}
			if calls[0] != calls[1] {
				t.Errorf("Control calls differ\n net:      %s\n uringnet: %s", calls[0], calls[1])
			}
		})
	}
}

func TestDialKeepAliveOptions(t *testing.T) {
	for _, ka := range []time.Duration{-1, 0, 3 * time.Second, 1500 * time.Millisecond} {
		var got [2]string
		for i, im := range impls {
			ln := listen(t, im, "tcp", "127.0.0.1:0")
			c, err := im.dial(context.Background(), dialOpts{KeepAlive: ka}, "tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			got[i] = sockopts(t, c)
			c.Close()
		}
		if got[0] != got[1] {
			t.Errorf("KeepAlive %v: options differ\n net:      %s\n uringnet: %s", ka, got[0], got[1])
		}
	}
}
