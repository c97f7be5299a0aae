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
	tl := &trackedListener{Listener: tp.listenRaw(t), conns: connTypes{want: tp.connType}, closed: make(chan struct{})}
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
	td := &trackedDialer{dial: tp.dialRaw, conns: connTypes{want: tp.connType}}
	t.Cleanup(func() { td.check(t) })
	return td
}

// connTypes counts the connections a listener or dialer made and records
// any whose concrete type is not want.
type connTypes struct {
	want string

	mu       sync.Mutex // guards n and badTypes
	n        int
	badTypes []string
}

func (ct *connTypes) record(c net.Conn) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ct.n++
	if got := fmt.Sprintf("%T", c); got != ct.want {
		ct.badTypes = append(ct.badTypes, got)
	}
}

func (ct *connTypes) count() int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.n
}

// check reports, as what (a listener accepted, a dialer made), any
// connection of the wrong type.
func (ct *connTypes) check(t testing.TB, what string) {
	t.Helper()
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if len(ct.badTypes) > 0 {
		t.Errorf("%s connections of types %v, want %s", what, ct.badTypes, ct.want)
	}
}

// trackedListener counts accepted connections and records their types. It
// returns them unwrapped, so servers still see the concrete type (and its
// ReadFrom, WriteTo, SyscallConn).
type trackedListener struct {
	net.Listener
	conns connTypes

	closeOnce sync.Once
	closed    chan struct{} // closed on the first Close
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.conns.record(c)
	return c, nil
}

func (l *trackedListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.closed) })
	return err
}

func (l *trackedListener) accepted() int { return l.conns.count() }

func (l *trackedListener) check(t testing.TB) {
	t.Helper()
	l.conns.check(t, "listener accepted")
}

type trackedDialer struct {
	dial  func(ctx context.Context, network, address string) (net.Conn, error)
	conns connTypes
}

// DialContext has net.Dialer's signature, for http.Transport and friends.
func (d *trackedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.dial(ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.conns.record(c)
	return c, nil
}

// dialContext dials TCP, in the shape grpc.WithContextDialer takes.
func (d *trackedDialer) dialContext(ctx context.Context, address string) (net.Conn, error) {
	return d.DialContext(ctx, "tcp", address)
}

func (d *trackedDialer) dialed() int { return d.conns.count() }

func (d *trackedDialer) check(t testing.TB) {
	t.Helper()
	d.conns.check(t, "dialer made")
}
