package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ourio-go/ourio/bench/internal/echoserver"
	"golang.org/x/sys/unix"
)

// netEcho serves echoserver.Goroutines on package net in this process.
func netEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- echoserver.Goroutines(ln, 4096) }()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// callbackEcho serves echoserver.Callback, the echo on one ring, in this
// process until the test ends.
func callbackEcho(t *testing.T) string {
	t.Helper()
	lfd, ap, err := echoserver.ListenFd("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- echoserver.Callback(lfd, stop, 4096) }()
	t.Cleanup(func() {
		unix.Write(stop, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		if err := <-done; err != nil {
			t.Errorf("callback server: %v", err)
		}
		unix.Close(stop)
		unix.Close(lfd)
	})
	return ap.String()
}

// misbehave serves each connection with handle on package net.
func misbehave(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { defer c.Close(); handle(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestRingGenEchoes(t *testing.T) {
	for _, srv := range []struct {
		name  string
		start func(*testing.T) string
	}{{"net", netEcho}, {"callback", callbackEcho}} {
		for _, conns := range []int{1, 64} {
			for _, size := range []int{64, 256 << 10} { // 256 KiB: short sends and receives
				if size > 4096 && conns > 1 {
					continue
				}
				for _, gen := range generators {
					t.Run(srv.name+"/"+connsName(conns)+"/"+msgSizeName(size)+"/"+gen, func(t *testing.T) {
						addr := srv.start(t)
						l := load{addr: addr, serverPID: os.Getpid(), conns: conns, size: size,
							warmup: 30 * time.Millisecond, duration: 200 * time.Millisecond, gen: gen}
						s, err := l.run()
						if err != nil {
							t.Fatal(err)
						}
						if s.Msgs == 0 || s.MsgsPerSec <= 0 {
							t.Fatalf("no messages counted: %+v", s)
						}
						if s.P50 <= 0 || s.P50 > s.P99 {
							t.Fatalf("p50 %v, p99 %v", s.P50, s.P99)
						}
						if s.GenCPU <= 0 {
							t.Fatalf("gen CPU %v µs/msg", s.GenCPU)
						}
						t.Logf("%.0f msgs/s, p50 %v, p99 %v, gen %.2f µs/msg", s.MsgsPerSec, s.P50, s.P99, s.GenCPU)
					})
				}
			}
		}
	}
}

// runBounded runs l and fails the test if it takes longer than limit.
func runBounded(t *testing.T, l load, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	t0 := time.Now()
	go func() {
		_, err := l.run()
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("after %v: %v", time.Since(t0).Round(time.Millisecond), err)
		return err
	case <-time.After(limit):
		t.Fatalf("run still going after %v", limit)
		return nil
	}
}

// echoN echoes n messages of size bytes, then returns.
func echoN(c net.Conn, n, size int) {
	buf := make([]byte, size)
	for range n {
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

func TestRingGenServerCloses(t *testing.T) {
	for _, conns := range []int{1, 64} {
		t.Run(connsName(conns), func(t *testing.T) {
			// Each connection is closed after 20 echoes, well inside the
			// run even under the race detector.
			addr := misbehave(t, func(c net.Conn) { echoN(c, 20, 64) })
			l := load{addr: addr, serverPID: os.Getpid(), conns: conns, size: 64,
				warmup: 30 * time.Millisecond, duration: 200 * time.Millisecond, gen: "ring"}
			err := runBounded(t, l, 5*time.Second)
			if err == nil {
				t.Fatal("a server that closed its connections gave no error")
			}
			if !errors.Is(err, errServerClosed) && !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
				t.Fatalf("got %v, want end of stream or reset", err)
			}
		})
	}
}

func TestRingGenWrongEcho(t *testing.T) {
	addr := misbehave(t, func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			buf[40]++ // past the sequence stamp: only the full comparison sees it
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	l := load{addr: addr, serverPID: os.Getpid(), conns: 4, size: 64,
		warmup: 30 * time.Millisecond, duration: 100 * time.Millisecond, gen: "ring"}
	err := runBounded(t, l, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("got %v, want an echo that differs", err)
	}
}

func TestRingGenServerGoesQuiet(t *testing.T) {
	// The server echoes 20 messages and then reads without answering: the
	// stop gives it stopGrace and then fails, rather than waiting forever.
	addr := misbehave(t, func(c net.Conn) {
		echoN(c, 20, 64)
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	l := load{addr: addr, serverPID: os.Getpid(), conns: 8, size: 64,
		warmup: 30 * time.Millisecond, duration: 100 * time.Millisecond, gen: "ring"}
	err := runBounded(t, l, stopGrace+3*time.Second)
	if err == nil || !strings.Contains(err.Error(), "still waiting") {
		t.Fatalf("got %v, want connections still waiting after the stop", err)
	}
}

func TestGenFlagChecked(t *testing.T) {
	c := config{workloads: []string{"echo"}, servers: []string{"net"}, sizes: []int{64}, conns: []int{1}, rounds: 1, duration: time.Second, bufSize: 1}
	for _, gen := range append([]string{""}, generators...) {
		c.gen = gen
		if err := c.check(); err != nil {
			t.Errorf("-gen %q: %v", gen, err)
		}
	}
	c.gen = "epoll"
	if c.check() == nil {
		t.Error("-gen epoll accepted")
	}
	if _, err := (load{gen: "epoll", conns: 1}).start(nil); err == nil {
		t.Error("load with generator epoll started")
	}
}

func TestRingEntries(t *testing.T) {
	for conns, want := range map[int]uint32{1: 256, 64: 256, 1000: 2048, 100000: 32768} {
		if got := ringEntries(conns); got != want {
			t.Errorf("ringEntries(%d) = %d, want %d", conns, got, want)
		}
	}
}
