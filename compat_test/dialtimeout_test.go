package compat_test

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// stalledTarget returns the address of a socket on 127.0.0.1 that
// listens but never accepts, its queue full, so that a connect to it
// waits for its SYN's answer until the dial gives up.
func stalledTarget(t *testing.T) string {
	return stalledOn(t, netip.MustParseAddr("127.0.0.1"), 0)
}

// stalledOn is stalledTarget on ip and port (0 for any).
func stalledOn(t *testing.T, ip netip.Addr, port int) string {
	t.Helper()
	family := syscall.AF_INET6
	var sa syscall.Sockaddr = &syscall.SockaddrInet6{Port: port, Addr: ip.As16()}
	if ip.Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: port, Addr: ip.As4()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	bound, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch b := bound.(type) {
	case *syscall.SockaddrInet4:
		port = b.Port
	case *syscall.SockaddrInet6:
		port = b.Port
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	for range 64 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return addr // the queue is full: this connect waited in vain
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("the accept queue of %s never filled", addr)
	return ""
}

// TestDialStalledTarget: a dial that cannot complete ends with the
// Dialer's Timeout or Deadline or the context's, as a timeout, or with the
// context's cancellation, after the time it was given.
func TestDialStalledTarget(t *testing.T) {
	stalled := stalledTarget(t)
	_, p, _ := net.SplitHostPort(stalled)
	r := roles{":" + p: ":{stalled}"}
	timeout := outcome{Text: "dial tcp 127.0.0.1:{stalled}: i/o timeout", Chain: "*net.OpError > unexported", Flags: "timeout ctx-deadline"}
	// Package net also sets the dial's deadline on the socket, and when
	// that timer fires before the context's, the connect fails with the
	// socket's deadline error.
	socketTimeout := outcome{Text: "dial tcp 127.0.0.1:{stalled}: i/o timeout", Chain: "*net.OpError > *poll.DeadlineExceededError", Flags: "timeout deadline"}
	canceled := outcome{Text: "dial tcp 127.0.0.1:{stalled}: operation was canceled", Chain: "*net.OpError > unexported", Flags: "canceled"}
	const wait = 100 * time.Millisecond
	cases := []struct {
		name string
		cfg  func() dialConfig
		ctx  func() (context.Context, context.CancelFunc)
		want outcome
		took time.Duration // at least
	}{
		{"Timeout", func() dialConfig { return dialConfig{Timeout: wait} }, nil, timeout, wait},
		{"Deadline", func() dialConfig { return dialConfig{Deadline: time.Now().Add(wait)} }, nil, timeout, wait},
		{"context deadline", nil, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), wait)
		}, timeout, wait},
		{"context canceled while dialing", nil, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(wait, cancel)
			return ctx, cancel
		}, canceled, wait},
		{"context canceled before", nil, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, canceled, 0},
		{"Cancel closed while dialing", func() dialConfig {
			ch := make(chan struct{})
			time.AfterFunc(wait, func() { close(ch) })
			return dialConfig{Cancel: ch}
		}, nil, canceled, wait},
		{"Cancel closed before", func() dialConfig {
			ch := make(chan struct{})
			close(ch)
			return dialConfig{Cancel: ch}
		}, nil, canceled, 0},
		{"shortest of Timeout and context", func() dialConfig { return dialConfig{Timeout: wait} }, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Hour)
		}, timeout, wait},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				start := time.Now() // before the timers the case starts
				var cfg dialConfig
				if c.cfg != nil {
					cfg = c.cfg()
				}
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if c.ctx != nil {
					ctx, cancel = c.ctx()
				}
				defer cancel()
				conn, err := s.dial(ctx, cfg, "tcp", stalled)
				took := time.Since(start)
				if conn != nil {
					conn.Close()
				}
				if took < c.took || took > c.took+5*time.Second {
					t.Errorf("%s: the dial took %v, want %v or a little more", s.name, took, c.took)
				}
				return errOutcome(err, r)
			})
			if c.want == timeout {
				eachOneOf(t, c.name, got, timeout, socketTimeout)
			} else {
				sameOutcome(t, c.name, got, c.want)
			}
		})
	}
}

// TestDialHostName: a name is resolved with the Dialer's Resolver (here
// the hosts file's localhost), and a context canceled before the dial
// fails the lookup, as in package net.
func TestDialHostName(t *testing.T) {
	v4 := serveLoopback(t, "tcp4", "127.0.0.1:0")
	r := roles{}.port(v4.Addr(), "{v4}")
	address := net.JoinHostPort("localhost", port(v4.Addr()))
	for _, resolver := range []*net.Resolver{nil, {PreferGo: true}} {
		got := bothStacks(t, func(t *testing.T, s stack) outcome {
			return dialCase(t, s, dialConfig{Resolver: resolver}, "tcp", address, r)
		})
		sameOutcome(t, "dial "+address, got, connected("127.0.0.1:{v4}", "127.0.0.1"))
	}
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c, err := s.dial(ctx, dialConfig{}, "tcp", address)
		if c != nil {
			c.Close()
		}
		return errOutcome(err, r)
	})
	sameOutcome(t, "dial "+address+" canceled", got, outcome{Text: "dial tcp: lookup localhost: operation was canceled", Chain: "*net.OpError > *net.DNSError > unexported", Flags: "canceled"})
}

// TestDialBadAddress: malformed addresses, ports and networks fail a dial
// with package net's errors, at once.
func TestDialBadAddress(t *testing.T) {
	noOp := "*net.OpError > *net.AddrError"
	cases := []struct {
		network, address string
		want             outcome
	}{
		{"tcp", "", outcome{Text: "dial tcp: missing address", Chain: "*net.OpError > unexported"}},
		{"tcp", "127.0.0.1", outcome{Text: "dial tcp: address 127.0.0.1: missing port in address", Chain: noOp}},
		{"tcp", "127.0.0.1:99999", outcome{Text: "dial tcp: address 99999: invalid port", Chain: noOp}},
		{"tcp", "127.0.0.1:-1", outcome{Text: "dial tcp: address -1: invalid port", Chain: noOp}},
		{"tcp", "127.0.0.1:nope-no-such-service", outcome{Text: "dial tcp: lookup tcp/nope-no-such-service: unknown port", Chain: "*net.OpError > *net.DNSError"}},
		{"tcp", "[::1", outcome{Text: "dial tcp: address [::1: missing ']' in address", Chain: noOp}},
		{"tcp", "::1:80", outcome{Text: "dial tcp: address ::1:80: too many colons in address", Chain: noOp}},
		{"tcp", "127.0.0.1:0", outcome{Text: "dial tcp 127.0.0.1:0: connect: connection refused", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(ECONNREFUSED)"}},
		{"tcp", ":0", outcome{Text: "dial tcp :0: connect: connection refused", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(ECONNREFUSED)"}},
		{"tcp7", "127.0.0.1:80", outcome{Text: "dial tcp7: unknown network tcp7", Chain: "*net.OpError > net.UnknownNetworkError"}},
		{"tcp7", "", outcome{Text: "dial tcp7: unknown network tcp7", Chain: "*net.OpError > net.UnknownNetworkError"}},
		{"", "127.0.0.1:80", outcome{Text: "dial: unknown network ", Chain: "*net.OpError > net.UnknownNetworkError"}},
		{"Tcp", "127.0.0.1:80", outcome{Text: "dial Tcp: unknown network Tcp", Chain: "*net.OpError > net.UnknownNetworkError"}},
	}
	for _, c := range cases {
		t.Run(c.network+" "+c.address, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				return dialCase(t, s, dialConfig{}, c.network, c.address, roles{})
			})
			sameOutcome(t, "dial "+c.network+" "+c.address, got, c.want)
		})
	}
}

// TestDialContextAfterConnect: once a dial has returned its connection,
// the end of its context or of the Dialer's deadline no longer affects it.
func TestDialContextAfterConnect(t *testing.T) {
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
			go func() {
				defer c.Close()
				b := make([]byte, 64)
				n, _ := c.Read(b)
				c.Write(b[:n])
			}()
		}
	}()
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		ctx, cancel := context.WithCancel(context.Background())
		c, err := s.dial(ctx, dialConfig{Timeout: 300 * time.Millisecond}, "tcp", ln.Addr().String())
		cancel()
		if err != nil {
			return errOutcome(err, roles{})
		}
		defer c.Close()
		time.Sleep(400 * time.Millisecond) // past the Dialer's Timeout
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("still here")); err != nil {
			return errOutcome(err, roles{})
		}
		b := make([]byte, 64)
		n, err := c.Read(b)
		if err != nil {
			return errOutcome(err, roles{})
		}
		return outcome{Text: string(b[:n]), Chain: "ok"}
	})
	sameOutcome(t, "a connection after its dial's context ended", got, outcome{Text: "still here", Chain: "ok"})
}
