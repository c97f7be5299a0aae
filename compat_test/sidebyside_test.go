package compat_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// The side-by-side suites (dialsem_test.go, listensem_test.go,
// acceptsem_test.go, rawconnsem_test.go) run one case against package net
// and against uringnet, and require that both give the same outcome and
// that the outcome is the one written in the test, so that a drift on
// either side fails.

// dialConfig holds the Dialer fields net.Dialer and uringnet.Dialer share.
type dialConfig struct {
	Timeout         time.Duration
	Deadline        time.Time
	LocalAddr       net.Addr
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig
	FallbackDelay   time.Duration
	Resolver        *net.Resolver
	Control         func(network, address string, c syscall.RawConn) error
	ControlContext  func(ctx context.Context, network, address string, c syscall.RawConn) error
	Cancel          <-chan struct{}
	DualStack       bool
}

// listenConfig holds the ListenConfig fields both share.
type listenConfig struct {
	Control         func(network, address string, c syscall.RawConn) error
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig
}

// stack is one implementation of package net's TCP API.
type stack struct {
	name   string
	dial   func(ctx context.Context, cfg dialConfig, network, address string) (net.Conn, error)
	listen func(ctx context.Context, cfg listenConfig, network, address string) (net.Listener, error)
}

var (
	netStack = stack{
		name: "net",
		dial: func(ctx context.Context, c dialConfig, network, address string) (net.Conn, error) {
			//lint:ignore SA1019 Cancel is deprecated but still honoured
			d := net.Dialer{Cancel: c.Cancel, DualStack: c.DualStack, Timeout: c.Timeout, Deadline: c.Deadline, LocalAddr: c.LocalAddr, KeepAlive: c.KeepAlive, KeepAliveConfig: c.KeepAliveConfig, FallbackDelay: c.FallbackDelay, Resolver: c.Resolver, Control: c.Control, ControlContext: c.ControlContext}
			return d.DialContext(ctx, network, address)
		},
		listen: func(ctx context.Context, c listenConfig, network, address string) (net.Listener, error) {
			lc := net.ListenConfig{Control: c.Control, KeepAlive: c.KeepAlive, KeepAliveConfig: c.KeepAliveConfig}
			return lc.Listen(ctx, network, address)
		},
	}
	uringStack = stack{
		name: "uringnet",
		dial: func(ctx context.Context, c dialConfig, network, address string) (net.Conn, error) {
			//lint:ignore SA1019 as net's, for code that still sets it
			d := uringnet.Dialer{Cancel: c.Cancel, DualStack: c.DualStack, Timeout: c.Timeout, Deadline: c.Deadline, LocalAddr: c.LocalAddr, KeepAlive: c.KeepAlive, KeepAliveConfig: c.KeepAliveConfig, FallbackDelay: c.FallbackDelay, Resolver: c.Resolver, Control: c.Control, ControlContext: c.ControlContext, NoFallback: true}
			conn, err := d.DialContext(ctx, network, address)
			if conn != nil {
				if _, ok := conn.(*uringnet.Conn); !ok {
					conn.Close()
					return nil, fmt.Errorf("uringnet dialed a %T", conn)
				}
			}
			return conn, err
		},
		listen: func(ctx context.Context, c listenConfig, network, address string) (net.Listener, error) {
			lc := uringnet.ListenConfig{Control: c.Control, KeepAlive: c.KeepAlive, KeepAliveConfig: c.KeepAliveConfig, NoFallback: true}
			ln, err := lc.Listen(ctx, network, address)
			if ln != nil {
				if _, ok := ln.(*uringnet.Listener); !ok {
					ln.Close()
					return nil, fmt.Errorf("uringnet listened with a %T", ln)
				}
			}
			return ln, err
		},
	}
	stacks = [2]stack{netStack, uringStack}
)

// outcome is what a caller can see of an error: its text with the test's
// addresses replaced by their roles, the chain of types Unwrap walks, and
// which of the standard errors and properties it matches. A success is
// described by the test, with Chain "ok".
type outcome struct {
	Text  string
	Chain string
	Flags string
	// Fields are an OpError's Op and Net and its addresses' types, which
	// the two stacks must agree on; the tests' wants leave it empty.
	Fields string
}

func (o outcome) String() string {
	return fmt.Sprintf("%q [%s] {%s}", o.Text, o.Chain, o.Flags)
}

// roles names the addresses and ports a test made, so that its outcomes
// read the same whatever ports the kernel chose: each key found in an
// error's text is replaced by its value.
type roles map[string]string

func (r roles) apply(s string) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	// Longest first, so that a host:port goes before its port.
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, r[k])
	}
	return s
}

// portRole names addr's port as role in r (as ":role").
func (r roles) port(addr net.Addr, role string) roles {
	_, port, err := net.SplitHostPort(addr.String())
	if err == nil {
		r[":"+port] = ":" + role
	}
	return r
}

// errOutcome describes err.
func errOutcome(err error, r roles) outcome {
	if err == nil {
		return outcome{Text: "", Chain: "ok"}
	}
	var chain []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := typeName(e)
		if errno, ok := e.(syscall.Errno); ok {
			t += "(" + errnoName(errno) + ")"
		}
		chain = append(chain, t)
	}
	var flags []string
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		flags = append(flags, "timeout")
	}
	for _, f := range []struct {
		name   string
		target error
	}{
		{"closed", net.ErrClosed},
		{"deadline", os.ErrDeadlineExceeded},
		{"ctx-deadline", context.DeadlineExceeded},
		{"canceled", context.Canceled},
		{"eof", io.EOF},
	} {
		if errors.Is(err, f.target) {
			flags = append(flags, f.name)
		}
	}
	o := outcome{Text: r.apply(err.Error()), Chain: strings.Join(chain, " > "), Flags: strings.Join(flags, " ")}
	var oe *net.OpError
	if errors.As(err, &oe) {
		o.Fields = fmt.Sprintf("Op=%s Net=%s Source=%T Addr=%T", oe.Op, oe.Net, oe.Source, oe.Addr)
	}
	return o
}

// typeName is e's type, or "unexported" for a type its package keeps to
// itself (package net's timeout error and uringnet's copy of it differ only
// in that name).
func typeName(e error) string {
	t := fmt.Sprintf("%T", e)
	name := t[strings.LastIndexByte(t, '.')+1:]
	if name != "" && name[0] >= 'a' && name[0] <= 'z' {
		return "unexported"
	}
	return t
}

func errnoName(e syscall.Errno) string {
	names := map[syscall.Errno]string{
		syscall.EMFILE: "EMFILE", syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EADDRINUSE: "EADDRINUSE",
		syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.EAFNOSUPPORT: "EAFNOSUPPORT", syscall.EINVAL: "EINVAL",
		syscall.ENETUNREACH: "ENETUNREACH", syscall.EACCES: "EACCES", syscall.ECONNRESET: "ECONNRESET",
	}
	if n, ok := names[e]; ok {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}

// sameOutcome fails the test unless net and uringnet both gave want.
func sameOutcome(t *testing.T, what string, got [2]outcome, want outcome) {
	t.Helper()
	if got[0] != got[1] {
		t.Errorf("%s: outcomes differ\n net:      %v %s\n uringnet: %v %s", what, got[0], got[0].Fields, got[1], got[1].Fields)
	}
	for i, g := range got {
		g.Fields = want.Fields
		if !reflect.DeepEqual(g, want) {
			t.Errorf("%s: %s gave\n %v\nwant\n %v", what, stacks[i].name, g, want)
		}
	}
}

// eachOneOf fails the test unless net and uringnet each gave one of
// wants: for a case where package net's own outcome depends on a race
// (which of two timers for the same instant fires first).
func eachOneOf(t *testing.T, what string, got [2]outcome, wants ...outcome) {
	t.Helper()
	for i, g := range got {
		g.Fields = ""
		if !slices.Contains(wants, g) {
			t.Errorf("%s: %s gave\n %v\nwant one of\n %v", what, stacks[i].name, g, wants)
		}
	}
}

// bothStacks runs f on each stack, in order net then uringnet, and returns
// their outcomes.
func bothStacks(t *testing.T, f func(t *testing.T, s stack) outcome) [2]outcome {
	t.Helper()
	requireUring(t)
	var got [2]outcome
	for i, s := range stacks {
		done := make(chan struct{})
		go func() {
			defer close(done)
			got[i] = f(t, s)
		}()
		select {
		case <-done:
		case <-time.After(testTimeout):
			t.Fatalf("%s: the case did not finish within %v", s.name, testTimeout)
		}
	}
	return got
}

// serveLoopback listens with package net on address and accepts (and
// closes) connections until the test ends: a target for dials, whose
// behaviour is not what the dial tests compare.
func serveLoopback(t *testing.T, network, address string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// dialCase dials with s and cfg under a bounded context and describes
// the result: for a connection, its remote address and its local IP (the
// local port is the kernel's choice), after closing it.
func dialCase(t *testing.T, s stack, cfg dialConfig, network, address string, r roles) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.dial(ctx, cfg, network, address)
	if err != nil {
		if c != nil {
			t.Errorf("%s: Dial returned a connection with the error %v", s.name, err)
		}
		return errOutcome(err, r)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.TCPAddr)
	return outcome{Text: fmt.Sprintf("to %s from %s", r.apply(c.RemoteAddr().String()), local.IP), Chain: "ok"}
}
