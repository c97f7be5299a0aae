//go:build linux

package uringnet_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// TestCloseUnblocks closes while Read, Write and Accept are blocked: each
// returns an error matching net.ErrClosed, shaped as package net's.
func TestCloseUnblocks(t *testing.T) {
	type setup func(t *testing.T, im impl) (op func() error, closer io.Closer, r roles)
	cases := []struct {
		name  string
		setup setup
	}{
		{"Read", func(t *testing.T, im impl) (func() error, io.Closer, roles) {
			client, _ := pair(t, im, "tcp")
			return func() error { _, err := client.Read(make([]byte, 10)); return err }, client, connRoles(client)
		}},
		{"Write", func(t *testing.T, im impl) (func() error, io.Closer, roles) {
			client, _ := pair(t, im, "tcp")
			fillBuffer(t, client)
			return func() error { _, err := client.Write(make([]byte, 1<<20)); return err }, client, connRoles(client)
		}},
		{"Accept", func(t *testing.T, im impl) (func() error, io.Closer, roles) {
			ln := listen(t, im, "tcp", "127.0.0.1:0")
			return func() error { _, err := ln.Accept(); return err }, ln, roles{ln.Addr().String(): "listener"}
		}},
		{"UnixRead", func(t *testing.T, im impl) (func() error, io.Closer, roles) {
			client, _ := pair(t, im, "unix")
			return func() error { _, err := client.Read(make([]byte, 10)); return err }, client, connRoles(client)
		}},
		{"UnixAccept", func(t *testing.T, im impl) (func() error, io.Closer, roles) {
			ln := listen(t, im, "unix", loopback(t, "unix"))
			return func() error { _, err := ln.Accept(); return err }, ln, roles{ln.Addr().String(): "listener"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compare(t, "blocked "+c.name+" closed", func(t *testing.T, im impl) errShape {
				op, closer, r := c.setup(t, im)
				ch, _ := blocked(t, op)
				if err := closer.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				err := wait(t, ch, 5*time.Second, c.name)
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("%s after Close: %v, want net.ErrClosed", c.name, err)
				}
				second := closer.Close()
				if !errors.Is(second, net.ErrClosed) {
					t.Errorf("second Close: %v, want net.ErrClosed", second)
				}
				return shapeOf(err, r)
			})
		})
	}
}

// TestCloseConcurrent runs Close, Read, Write and the deadline setters from
// many goroutines at once; under -race nothing may race, panic or hang.
func TestCloseConcurrent(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		for round := range 20 {
			client, server := pair(t, im, "tcp")
			go drain(server)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range 16 {
				wg.Go(func() {
					<-start
					buf := make([]byte, 4096)
					for i := range 50 {
						var err error
						switch (g + i) % 6 {
						case 0:
							_, err = client.Read(buf)
						case 1:
							_, err = client.Write(buf)
						case 2:
							err = client.SetDeadline(time.Now().Add(time.Millisecond))
						case 3:
							err = client.SetReadDeadline(time.Now().Add(-time.Second))
						case 4:
							err = client.SetWriteDeadline(time.Time{})
						case 5:
							if g == round%16 && i > 20 {
								err = client.Close()
							}
						}
						if errors.Is(err, net.ErrClosed) {
							return
						}
					}
				})
			}
			close(start)
			within(t, 10*time.Second, "goroutines", wg.Wait)
			within(t, 5*time.Second, "final Close", func() { client.Close() })
			within(t, 5*time.Second, "Read after Close", func() {
				if _, err := client.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
					t.Errorf("Read after Close: %v", err)
				}
			})
		}
	})
}

// TestCloseManyBlocked closes a conn with many readers and writers queued.
func TestCloseManyBlocked(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, _ := pair(t, im, "tcp")
		fillBuffer(t, client)
		// Each Write is larger than the peer's receive buffer can ever
		// grow to, so none can finish however the buffers were filled:
		// on a loaded machine the fill may stop early, and 64 KiB
		// Writes sometimes went through.
		big := make([]byte, 64<<20) // tcp_rmem allows 32 MiB here
		errs := make(chan error, 32)
		for range 16 {
			go func() { _, err := client.Read(make([]byte, 10)); errs <- err }()
			go func() { _, err := client.Write(big); errs <- err }()
		}
		time.Sleep(50 * time.Millisecond)
		client.Close()
		for range 32 {
			select {
			case err := <-errs:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("blocked op after Close: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("an operation stayed blocked after Close")
			}
		}
	})
}

// TestCloseBufferReleasedAfterRead: once a Read returns, with data, a
// timeout or an error, the kernel does not write into its buffer again, and
// no byte of the stream is lost or duplicated. Reads race short deadlines
// against a writer that sends a counting stream.
func TestCloseBufferReleasedAfterRead(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				client, server := pair(t, im, network)
				const total = 1 << 20
				stream := make([]byte, total)
				for i := range stream {
					stream[i] = byte(i * 7 / 3)
				}
				go func() {
					rng := rand.New(rand.NewPCG(1, 2))
					for off := 0; off < total; {
						n := min(1+rng.IntN(3000), total-off)
						if _, err := server.Write(stream[off : off+n]); err != nil {
							return
						}
						off += n
						if rng.IntN(2) == 0 {
							time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
						}
					}
				}()
				rng := rand.New(rand.NewPCG(3, 4))
				var got []byte
				var old [][]byte // buffers of reads that returned, scribbled
				timeouts := 0
				deadline := time.Now().Add(30 * time.Second)
				for len(got) < total && time.Now().Before(deadline) {
					buf := make([]byte, 1+rng.IntN(8192))
					client.SetReadDeadline(time.Now().Add(time.Duration(rng.IntN(300)) * time.Microsecond))
					n, err := client.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						if !errors.Is(err, os.ErrDeadlineExceeded) {
							t.Fatalf("Read: %v", err)
						}
						timeouts++
					}
					for i := range buf {
						buf[i] = 0xEE
					}
					old = append(old, buf)
					if len(old) > 64 {
						checkScribbled(t, old[0])
						old = old[1:]
					}
				}
				time.Sleep(10 * time.Millisecond)
				for _, b := range old {
					checkScribbled(t, b)
				}
				if !bytes.Equal(got, stream) {
					i := 0
					for i < len(got) && i < len(stream) && got[i] == stream[i] {
						i++
					}
					t.Fatalf("stream corrupted: got %d bytes, first difference at %d", len(got), i)
				}
				t.Logf("%d timeouts", timeouts)
			})
		})
	}
}

func checkScribbled(t *testing.T, b []byte) {
	t.Helper()
	for i, c := range b {
		if c != 0xEE {
			t.Fatalf("buffer of a returned Read written at %d after it returned", i)
		}
	}
}

// TestCloseWritePartialReported: writes race short deadlines; the bytes each
// Write reports are exactly the bytes the peer receives.
func TestCloseWritePartialReported(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		if c, ok := client.(interface{ SetWriteBuffer(int) error }); ok {
			c.SetWriteBuffer(8192)
		}
		received := make(chan []byte, 1)
		go func() {
			var got bytes.Buffer
			buf := make([]byte, 4096)
			for {
				n, err := server.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					break
				}
				time.Sleep(20 * time.Microsecond)
			}
			received <- got.Bytes()
		}()
		rng := rand.New(rand.NewPCG(5, 6))
		var sent []byte
		counter := byte(0)
		partial := 0
		for range 300 {
			chunk := make([]byte, 1+rng.IntN(64<<10))
			for i := range chunk {
				chunk[i] = counter
				counter++
			}
			client.SetWriteDeadline(time.Now().Add(time.Duration(rng.IntN(500)) * time.Microsecond))
			n, err := client.Write(chunk)
			if n < 0 || n > len(chunk) {
				t.Fatalf("Write returned n=%d for %d bytes", n, len(chunk))
			}
			sent = append(sent, chunk[:n]...)
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Write: %v", err)
				}
				if n > 0 {
					partial++
				}
			} else if n != len(chunk) {
				t.Fatalf("Write returned %d of %d without an error", n, len(chunk))
			}
		}
		client.Close()
		var got []byte
		select {
		case got = <-received:
		case <-time.After(20 * time.Second):
			t.Fatal("reader did not finish")
		}
		if !bytes.Equal(got, sent) {
			t.Fatalf("peer received %d bytes, Writes reported %d", len(got), len(sent))
		}
		t.Logf("%d partial writes, %d bytes", partial, len(sent))
	})
}
