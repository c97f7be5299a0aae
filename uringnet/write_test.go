//go:build linux

package uringnet_test

import (
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"
)

// slowReader reads c in small pieces with pauses and hashes what it got.
func slowReader(c net.Conn, done chan<- [32]byte, count *int64) {
	h := sha256.New()
	buf := make([]byte, 256<<10)
	i := 0
	for {
		n, err := c.Read(buf)
		h.Write(buf[:n])
		*count += int64(n)
		if err != nil {
			break
		}
		if i++; i%16 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	done <- sum
}

// TestWriteLarge writes 32 MiB in one Write to a slow reader: Write returns
// only when all of it is written, and the data arrives intact.
func TestWriteLarge(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				client, server := pair(t, im, network)
				data := make([]byte, 32<<20)
				rng := rand.New(rand.NewPCG(7, 8))
				for i := 0; i < len(data); i += 8 {
					v := rng.Uint64()
					for j := range 8 {
						data[i+j] = byte(v >> (8 * j))
					}
				}
				want := sha256.Sum256(data)
				done := make(chan [32]byte, 1)
				var count int64
				go slowReader(server, done, &count)
				var n int
				var err error
				within(t, 60*time.Second, "Write", func() { n, err = client.Write(data) })
				if n != len(data) || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
				}
				client.Close()
				select {
				case got := <-done:
					if got != want || count != int64(len(data)) {
						t.Fatalf("peer got %d bytes with a different hash", count)
					}
				case <-time.After(60 * time.Second):
					t.Fatal("reader hung")
				}
			})
		})
	}
}

// TestWritePartialError: the peer reads part of a large Write and resets
// the connection. Write fails with ECONNRESET or EPIPE and reports at least
// what the peer read, and no more than it was given.
func TestWritePartialError(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		const peerReads = 1 << 20
		go func() {
			io.CopyN(io.Discard, server, peerReads)
			server.(linger).SetLinger(0)
			server.Close()
		}()
		data := make([]byte, 64<<20)
		var n int
		var err error
		within(t, 30*time.Second, "Write", func() { n, err = client.Write(data) })
		if err == nil {
			t.Fatal("Write to a reset peer succeeded")
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Errorf("Write: %v, want ECONNRESET or EPIPE", err)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" {
			t.Errorf("Write error %#v is not an OpError write", err)
		}
		if n < peerReads || n >= len(data) {
			t.Errorf("Write reported %d; peer read %d of %d", n, peerReads, len(data))
		}
	})
}

// TestWriteEmpty writes nothing: no error and nothing sent, as in net.
func TestWriteEmpty(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		for range 3 {
			if n, err := client.Write(nil); n != 0 || err != nil {
				t.Errorf("Write(nil) = %d, %v", n, err)
			}
		}
		client.Write([]byte("a"))
		b := make([]byte, 4)
		server.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := server.Read(b)
		if err != nil || string(b[:n]) != "a" {
			t.Errorf("Read = %q, %v", b[:n], err)
		}
	})
}
