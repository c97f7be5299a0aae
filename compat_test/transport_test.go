package compat_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// A transport is one side of a side-by-side suite. Each ecosystem suite
// runs the same body over package net and over uringnet: package net's
// behaviour is the contract, so a case that passes on net and fails on
// uringnet is a uringnet bug, and a case that fails on both is a bug in the
// test.
type transport struct {
	name string
	// listenRaw returns a listener on a free loopback port.
	listenRaw func(t testing.TB) net.Listener
	// dialRaw dials as net.Dialer.DialContext does.
	dialRaw func(ctx context.Context, network, address string) (net.Conn, error)
	// connType is the concrete type every accepted and dialed connection
	// must have, so that no library quietly runs on the wrong stack.
	connType string
}

var transports = []transport{
	{
		name:      "net",
		listenRaw: netListen,
		dialRaw:   (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		connType:  "*net.TCPConn",
	},
	{
		name:      "uringnet",
		listenRaw: listen,
		dialRaw:   dialer.DialContext,
		connType:  "*uringnet.Conn",
	},
}

// bothTransports runs body as a subtest once per transport, package net's
// first.
func bothTransports(t *testing.T, body func(t *testing.T, tp transport)) {
	for _, tp := range transports {
		t.Run(tp.name, func(t *testing.T) { body(t, tp) })
	}
}

func netListen(t testing.TB) net.Listener {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net listen: %v", err)
	}
	return ln
}

// listen returns the transport's listener, wrapped to count and type-check
// what it accepts. The test's cleanup closes it and reports any accepted
// connection of the wrong type.
func (tp transport) listen(t testing.TB) *trackedListener {
	t.Helper()
	tl := &trackedListener{Listener: tp.listenRaw(t), want: tp.connType, closed: make(chan struct{})}
	t.Cleanup(func() {
		tl.Close()
		tl.check(t)
	})
	return tl
}

// dialer returns the transport's dial function, counting and type-checking
// the connections it makes. The test's cleanup reports any of the wrong
// type.
func (tp transport) dialer(t testing.TB) *trackedDialer {
	td := &trackedDialer{dial: tp.dialRaw, want: tp.connType}
	t.Cleanup(func() { td.check(t) })
	return td
}

// trackedListener counts accepted connections and records their types. It
// returns them unwrapped, so servers still see the concrete type (and its
// ReadFrom, WriteTo, SyscallConn).
type trackedListener struct {
	net.Listener
	want string

	mu       sync.Mutex
	accepts  int
	badTypes []string

	closeOnce sync.Once
	closed    chan struct{} // closed on the first Close
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.accepts++
	if got := fmt.Sprintf("%T", c); got != l.want {
		l.badTypes = append(l.badTypes, got)
	}
	l.mu.Unlock()
	return c, nil
}

func (l *trackedListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.closed) })
	return err
}

func (l *trackedListener) accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepts
}

func (l *trackedListener) check(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.badTypes) > 0 {
		t.Errorf("listener accepted connections of types %v, want %s", l.badTypes, l.want)
	}
}

type trackedDialer struct {
	dial func(ctx context.Context, network, address string) (net.Conn, error)
	want string

	mu       sync.Mutex
	dials    int
	badTypes []string
}

// DialContext has net.Dialer's signature, for http.Transport and friends.
func (d *trackedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.dial(ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.dials++
	if got := fmt.Sprintf("%T", c); got != d.want {
		d.badTypes = append(d.badTypes, got)
	}
	d.mu.Unlock()
	return c, nil
}

// dialContext dials TCP, in the shape grpc.WithContextDialer takes.
func (d *trackedDialer) dialContext(ctx context.Context, address string) (net.Conn, error) {
	return d.DialContext(ctx, "tcp", address)
}

func (d *trackedDialer) dialed() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials
}

func (d *trackedDialer) check(t testing.TB) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.badTypes) > 0 {
		t.Errorf("dialer made connections of types %v, want %s", d.badTypes, d.want)
	}
}
