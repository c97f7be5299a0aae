// Package compat_test runs the Go ecosystem's own machinery (net/http,
// crypto/tls, golang.org/x/net/http2) and real outside clients (curl,
// h2load) against uringnet on the running kernel, over loopback only, and
// runs uringnet's dials, listeners and accepts side by side with package
// net's (sidebyside_test.go).
package compat_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// testTimeout bounds every scenario: a hang in uringnet fails the test
// instead of stalling the run.
const testTimeout = 30 * time.Second

// requireUring fails the test when io_uring is unavailable: these tests are
// about uringnet on the real kernel, not about its fallback.
func requireUring(t testing.TB) {
	t.Helper()
	if err := uringnet.Available(); err != nil {
		t.Fatalf("io_uring is unavailable (%v): compat tests need the real kernel path", err)
	}
}

// testCtx returns a context that ends with the test or after testTimeout.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// listen returns a uringnet listener on a free loopback port. It never falls
// back to package net.
func listen(t testing.TB) net.Listener {
	t.Helper()
	requireUring(t)
	lc := uringnet.ListenConfig{NoFallback: true}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("uringnet listen: %v", err)
	}
	if _, ok := ln.(*uringnet.Listener); !ok {
		t.Fatalf("uringnet listen returned %T, want *uringnet.Listener", ln)
	}
	return ln
}

// dialer is the io_uring dialer every client in these tests uses.
var dialer = &uringnet.Dialer{NoFallback: true, Timeout: 10 * time.Second}

// connTracker records, through http.Server.ConnState, how many connections
// the server accepted and that every one of them is a *uringnet.Conn (or a
// TLS connection, whose underlying type httptest hides).
type connTracker struct {
	mu       sync.Mutex
	newConns int
	badTypes []string
	states   map[http.ConnState]int
}

func (c *connTracker) hook(nc net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states == nil {
		c.states = map[http.ConnState]int{}
	}
	c.states[st]++
	if st == http.StateNew {
		c.newConns++
		under := nc
		if tc, ok := nc.(*tls.Conn); ok {
			under = tc.NetConn()
		}
		if _, ok := under.(*uringnet.Conn); !ok {
			c.badTypes = append(c.badTypes, fmt.Sprintf("%T", under))
		}
	}
}

func (c *connTracker) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newConns
}

func (c *connTracker) count(st http.ConnState) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.states[st]
}

func (c *connTracker) check(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.badTypes) > 0 {
		t.Errorf("server accepted connections that are not uringnet: %v", c.badTypes)
	}
}

// startServer starts an httptest server for h whose listener is a uringnet
// listener, as a user would: close the listener httptest made, put ours in
// its place, then Start. configure, if not nil, runs before Start.
func startServer(t testing.TB, h http.Handler, configure func(*httptest.Server)) (*httptest.Server, *connTracker) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = listen(t)
	tr := &connTracker{}
	srv.Config.ConnState = tr.hook
	if configure != nil {
		configure(srv)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		tr.check(t)
	})
	return srv, tr
}

// uringTransport returns an http.Transport that dials with uringnet.
func uringTransport(t testing.TB) *http.Transport {
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		ResponseHeaderTimeout: testTimeout,
		ExpectContinueTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   16,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// payload returns a deterministic pseudo-random stream of n bytes.
func payload(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8(seedBytes(seed)), n)
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// digest returns the hex SHA-256 of r and how many bytes it read.
func digest(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// mustDigest is digest of a payload, which cannot fail.
func mustDigest(seed uint64, n int64) string {
	d, _, _ := digest(payload(seed, n))
	return d
}
