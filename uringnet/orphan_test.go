package uringnet_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// interruptRead starts a Read of n bytes on c that waits, interrupts it
// with a read deadline in the past, as net/http does to its background
// read after every request, and clears the deadline again.
func interruptRead(t *testing.T, c net.Conn, n int) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, n))
		done <- err
	}()
	time.Sleep(5 * time.Millisecond) // let it wait
	require.NoError(t, c.SetReadDeadline(time.Unix(1, 0)))
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("Read ignored a deadline in the past")
	}
	require.NoError(t, c.SetReadDeadline(time.Time{}))
}

// TestInterruptedSmallReadLosesNothing checks that bytes sent after a
// small Read was interrupted by its deadline reach the next Reads whole and
// in order, whatever their size, as with package net: uringnet leaves such
// a receive in flight into a buffer of its own.
func TestInterruptedSmallReadLosesNothing(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		for _, size := range []int{1, 100, 128, 129, 5000} {
			client, server := pair(t, im, "tcp")
			interruptRead(t, server, 1)
			interruptRead(t, server, 64) // a second interruption, of the receive adopted
			msg := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), size/36+1)[:size]
			_, err := client.Write(msg)
			require.NoError(t, err)
			got := make([]byte, 0, size)
			buf := make([]byte, 7) // smaller than what the receive brought
			// A lost byte fails the test rather than hanging it.
			require.NoError(t, server.SetReadDeadline(time.Now().Add(10*time.Second)))
			for len(got) < size {
				n, err := server.Read(buf)
				require.NoError(t, err, "%s, %d bytes", im.name, size)
				got = append(got, buf[:n]...)
			}
			require.Equal(t, msg, got, "%s, %d bytes", im.name, size)
			// And EOF after them.
			require.NoError(t, client.Close())
			n, err := server.Read(buf)
			require.Equal(t, 0, n)
			require.ErrorIs(t, err, io.EOF)
		}
	})
}

// TestInterruptedReadsAcrossConns interrupts small Reads on many
// connections at once, so that some wait as the ring's poller and others
// parked behind it, then checks every connection's bytes.
func TestInterruptedReadsAcrossConns(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		const conns = 16
		var clients, servers []net.Conn
		ln := listen(t, im, "tcp", "127.0.0.1:0")
		for i := 0; i < conns; i++ {
			c, s := acceptDial(t, im, ln, "tcp", ln.Addr().String())
			clients, servers = append(clients, c), append(servers, s)
		}
		for round := 0; round < 20; round++ {
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for _, s := range servers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Read(make([]byte, 1))
					errs <- err
				}()
			}
			time.Sleep(2 * time.Millisecond)
			for _, s := range servers {
				require.NoError(t, s.SetReadDeadline(time.Unix(1, 0)))
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			}
			for i, c := range clients {
				require.NoError(t, servers[i].SetReadDeadline(time.Time{}))
				_, err := c.Write([]byte{byte(round), byte(i)})
				require.NoError(t, err)
			}
			for i, s := range servers {
				require.NoError(t, s.SetReadDeadline(time.Now().Add(10*time.Second)))
				got := make([]byte, 2)
				_, err := io.ReadFull(s, got)
				require.NoError(t, err)
				require.Equal(t, []byte{byte(round), byte(i)}, got)
			}
		}
	})
}

// TestCloseAfterInterruptedRead checks that Close returns, and a pending
// Read is unblocked, while an interrupted receive is still in flight.
func TestCloseAfterInterruptedRead(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		_, server := pair(t, im, "tcp")
		interruptRead(t, server, 1)
		done := make(chan error, 1)
		go func() {
			_, err := server.Read(make([]byte, 10))
			done <- err
		}()
		time.Sleep(5 * time.Millisecond)
		within(t, 5*time.Second, "Close", func() { require.NoError(t, server.Close()) })
		select {
		case err := <-done:
			require.ErrorIs(t, err, net.ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("Read not unblocked by Close")
		}
	})
}

// TestWriteToAfterInterruptedRead checks that WriteTo hands on the bytes
// an interrupted receive brought before those still in the socket.
func TestWriteToAfterInterruptedRead(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		interruptRead(t, server, 1)
		msg := bytes.Repeat([]byte("orphan first, then the splice. "), 20000)
		go func() {
			client.Write(msg)
			client.Close()
		}()
		h := sha256.New()
		n, err := server.(io.WriterTo).WriteTo(h)
		require.NoError(t, err)
		require.Equal(t, int64(len(msg)), n)
		want := sha256.Sum256(msg)
		require.Equal(t, want[:], h.Sum(nil))
	})
}

// TestInterruptedReadThenTimeout checks that a Read adopting the
// interrupted receive still honours its own deadline.
func TestInterruptedReadThenTimeout(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		interruptRead(t, server, 1)
		require.NoError(t, server.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err := server.Read(make([]byte, 1000))
		var ne net.Error
		require.True(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
		require.NoError(t, server.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = client.Write([]byte("late"))
		require.NoError(t, err)
		got := make([]byte, 4)
		_, err = io.ReadFull(server, got)
		require.NoError(t, err)
		require.Equal(t, "late", string(got))
	})
}

// TestReadsUnderMovingDeadlines reads a known byte stream in small and
// large Reads while another goroutine keeps moving the read deadline into
// the past and the future, and checks that every byte arrives once and in
// order: interrupted Reads, adopted receives and direct reads must never
// lose or reorder bytes.
func TestReadsUnderMovingDeadlines(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		const total = 100_000
		stream := make([]byte, total)
		for i := range stream {
			stream[i] = byte(i * 7 / 3)
		}
		go func() {
			// Bursts with pauses, so that Reads both find data and wait.
			for off, i := 0, 0; off < total; i++ {
				n := min(1+(i*37)%300, total-off)
				if _, err := client.Write(stream[off : off+n]); err != nil {
					return
				}
				off += n
				if i%2 == 0 {
					time.Sleep(30 * time.Microsecond)
				}
			}
		}()
		stop := make(chan struct{})
		var mover sync.WaitGroup
		mover.Add(1)
		go func() {
			defer mover.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch i % 3 {
				case 0:
					server.SetReadDeadline(time.Unix(1, 0))
				case 1:
					server.SetReadDeadline(time.Now().Add(100 * time.Microsecond))
				default:
					server.SetReadDeadline(time.Time{})
				}
				time.Sleep(20 * time.Microsecond)
			}
		}()
		got := make([]byte, 0, total)
		sizes := []int{1, 7, 128, 129, 4096}
		deadline := time.Now().Add(10 * time.Second)
		reads, timeouts := 0, 0
		for i := 0; len(got) < total; i++ {
			reads++
			require.True(t, time.Now().Before(deadline), "%s: only %d of %d bytes in 10 s", im.name, len(got), total)
			buf := make([]byte, sizes[i%len(sizes)])
			n, err := server.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				require.ErrorIs(t, err, os.ErrDeadlineExceeded, "%s", im.name)
				timeouts++
			}
		}
		close(stop)
		mover.Wait()
		require.Positive(t, timeouts, "%s: no Read was interrupted", im.name)
		t.Logf("%s: %d Reads, %d interrupted", im.name, reads, timeouts)
		require.True(t, bytes.Equal(stream, got), "%s: the bytes read differ from those written", im.name)
	})
}
