//go:build linux

package uringnet_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

type deadliner interface{ SetDeadline(time.Time) error }

// checkTimeout fails unless err is a deadline error the way package net
// reports one.
func checkTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%s: %v, want a timeout matching os.ErrDeadlineExceeded", what, err)
	}
}

func TestDeadlinePast(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			var reads, writes, accepts [2]errShape
			for i, im := range impls {
				ln := listen(t, im, network, loopback(t, network))
				client, server := acceptDial(t, im, ln, network, ln.Addr().String())
				server.Write([]byte("data waiting")) // a past deadline wins over ready data, as in net
				time.Sleep(10 * time.Millisecond)
				past := time.Now().Add(-time.Second)
				client.SetReadDeadline(past)
				client.SetWriteDeadline(past)
				ln.(deadliner).SetDeadline(past)
				within(t, time.Second, "past deadline", func() {
					_, err := client.Read(make([]byte, 10))
					checkTimeout(t, im.name+" Read", err)
					reads[i] = shapeOf(err, connRoles(client))
					_, err = client.Write([]byte("x"))
					checkTimeout(t, im.name+" Write", err)
					writes[i] = shapeOf(err, connRoles(client))
					_, err = ln.Accept()
					checkTimeout(t, im.name+" Accept", err)
					accepts[i] = shapeOf(err, roles{ln.Addr().String(): "listener"})
				})
				// The conn stays usable once the deadline is lifted.
				client.SetReadDeadline(time.Now().Add(5 * time.Second))
				b := make([]byte, 20)
				n, err := client.Read(b)
				if err != nil || string(b[:n]) != "data waiting" {
					t.Errorf("%s: Read after lifting the deadline = %q, %v", im.name, b[:n], err)
				}
			}
			sameShape(t, "read timeout", reads[0], reads[1])
			sameShape(t, "write timeout", writes[0], writes[1])
			sameShape(t, "accept timeout", accepts[0], accepts[1])
		})
	}
}

// blocked starts op in a goroutine and returns a channel with its error
// and the time it took, after checking that it is still blocked.
func blocked(t *testing.T, op func() error) (<-chan error, time.Time) {
	t.Helper()
	start := time.Now()
	ch := make(chan error, 1)
	go func() { ch <- op() }()
	select {
	case err := <-ch:
		t.Fatalf("operation returned at once: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	return ch, start
}

func wait(t *testing.T, ch <-chan error, d time.Duration, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("%s still blocked after %v", what, d)
	}
	return nil
}

func stillBlocked(t *testing.T, ch <-chan error, d time.Duration, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned early: %v", what, err)
	case <-time.After(d):
	}
}

// The three blocking operations, each with the deadline setter that governs
// it and a way to make it complete.
type blocker struct {
	name string
	// setup returns the blocking operation, its deadline setter, and a
	// function that lets it complete.
	setup func(t *testing.T, im impl) (op func() error, set func(time.Time) error, release func())
}

var blockers = []blocker{
	{"Read", func(t *testing.T, im impl) (func() error, func(time.Time) error, func()) {
		client, server := pair(t, im, "tcp")
		buf := make([]byte, 10)
		op := func() error {
			n, err := client.Read(buf)
			if err == nil && string(buf[:n]) != "go" {
				t.Errorf("Read %q", buf[:n])
			}
			return err
		}
		return op, client.SetReadDeadline, func() { server.Write([]byte("go")) }
	}},
	{"Write", func(t *testing.T, im impl) (func() error, func(time.Time) error, func()) {
		client, server := pair(t, im, "tcp")
		fillBuffer(t, client)
		op := func() error {
			_, err := client.Write(make([]byte, 1<<20))
			return err
		}
		return op, client.SetWriteDeadline, func() { go drain(server) }
	}},
	{"Accept", func(t *testing.T, im impl) (func() error, func(time.Time) error, func()) {
		ln := listen(t, im, "tcp", "127.0.0.1:0")
		op := func() error {
			c, err := ln.Accept()
			if err == nil {
				c.Close()
			}
			return err
		}
		release := func() {
			c, err := im.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { c.Close() })
		}
		return op, ln.(deadliner).SetDeadline, release
	}},
}

// TestDeadlineSetWhileBlocked sets a deadline from another goroutine while
// the operation is blocked.
func TestDeadlineSetWhileBlocked(t *testing.T) {
	for _, b := range blockers {
		t.Run(b.name, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				for _, d := range []time.Duration{-time.Second, 0, 100 * time.Millisecond} {
					op, set, release := b.setup(t, im)
					ch, _ := blocked(t, op)
					set(time.Now().Add(d))
					err := wait(t, ch, 5*time.Second, b.name)
					checkTimeout(t, b.name, err)
					release()
				}
			})
		})
	}
}

// TestDeadlineMovedLater moves a pending deadline later while blocked.
func TestDeadlineMovedLater(t *testing.T) {
	for _, b := range blockers {
		t.Run(b.name, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				op, set, release := b.setup(t, im)
				set(time.Now().Add(150 * time.Millisecond))
				ch, _ := blocked(t, op)
				newDeadline := time.Now().Add(600 * time.Millisecond)
				set(newDeadline)
				stillBlocked(t, ch, 300*time.Millisecond, b.name+" past the old deadline")
				err := wait(t, ch, 5*time.Second, b.name)
				if now := time.Now(); now.Before(newDeadline) {
					t.Errorf("returned %v before the new deadline", newDeadline.Sub(now))
				}
				checkTimeout(t, b.name, err)
				release()
			})
		})
	}
}

// TestDeadlineCleared clears a pending deadline while blocked: the operation
// waits until it can complete.
func TestDeadlineCleared(t *testing.T) {
	for _, b := range blockers {
		t.Run(b.name, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				op, set, release := b.setup(t, im)
				// Far enough ahead that a loaded machine clears it
				// before it passes (150 ms was not, for package net).
				deadline := time.Now().Add(500 * time.Millisecond)
				set(deadline)
				ch, _ := blocked(t, op)
				set(time.Time{})
				stillBlocked(t, ch, time.Until(deadline)+200*time.Millisecond, b.name+" past the cleared deadline")
				release()
				if err := wait(t, ch, 5*time.Second, b.name); err != nil {
					t.Errorf("%s after release: %v", b.name, err)
				}
			})
		})
	}
}

// TestDeadlineUsableAfterTimeout reads after a read timed out.
func TestDeadlineUsableAfterTimeout(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				client, server := pair(t, im, network)
				for i := range 20 {
					client.SetReadDeadline(time.Now().Add(time.Duration(i%4) * time.Millisecond))
					_, err := client.Read(make([]byte, 10))
					checkTimeout(t, "Read", err)
				}
				client.SetReadDeadline(time.Now().Add(5 * time.Second))
				go server.Write([]byte("later"))
				b := make([]byte, 10)
				n, err := client.Read(b)
				if err != nil || string(b[:n]) != "later" {
					t.Errorf("Read after timeouts = %q, %v", b[:n], err)
				}
				// Writes are still fine too.
				client.SetWriteDeadline(time.Now().Add(-time.Second))
				_, err = client.Write([]byte("x"))
				checkTimeout(t, "Write", err)
				client.SetWriteDeadline(time.Time{})
				if _, err := client.Write([]byte("back")); err != nil {
					t.Fatal(err)
				}
				server.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err = server.Read(b)
				if err != nil || string(b[:n]) != "back" {
					t.Errorf("peer Read = %q, %v", b[:n], err)
				}
			})
		})
	}
}

// TestDeadlineWriteNoReader writes to a peer that never reads: the write
// times out with part of the data written, and that part is exactly what
// the peer receives.
func TestDeadlineWriteNoReader(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		// Allocate before the deadline starts: zeroing 32 MiB under -race
		// on a loaded machine can itself take most of 200 ms.
		buf := make([]byte, 32<<20)
		client.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		var n int
		var err error
		within(t, 5*time.Second, "Write", func() { n, err = client.Write(buf) })
		checkTimeout(t, "Write", err)
		if n <= 0 || n >= len(buf) {
			t.Fatalf("Write wrote %d of %d", n, len(buf))
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" {
			t.Errorf("Write error %v is not an OpError write", err)
		}
		client.Close()
		var got int64
		within(t, 10*time.Second, "drain", func() { got, err = drain(server) })
		if err != nil || got != int64(n) {
			t.Errorf("peer received %d (%v), Write reported %d", got, err, n)
		}
	})
}

// TestDeadlineSetConcurrently hammers deadline setters while reads run.
func TestDeadlineSetConcurrently(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		stop := make(chan struct{})
		done := make(chan struct{})
		for range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					client.SetReadDeadline(time.Now().Add(time.Duration(i%7) * 100 * time.Microsecond))
				}
			}()
		}
		timeouts := 0
		for range 200 {
			_, err := client.Read(make([]byte, 1))
			if err == nil {
				t.Fatal("Read got data nobody sent")
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read: %v", err)
			}
			timeouts++
		}
		close(stop)
		for range 4 {
			<-done
		}
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		server.Write([]byte("z"))
		b := make([]byte, 1)
		if _, err := client.Read(b); err != nil || b[0] != 'z' {
			t.Errorf("Read after the storm: %q %v", b, err)
		}
	})
}
