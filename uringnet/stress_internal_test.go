//go:build linux

package uringnet

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readUnderMovingDeadlines sends 1 MiB from each client, in writes of random
// sizes with random pauses, and reads it on its server with Reads of the
// given sizes, picked at random, under deadlines of up to 300 µs set and
// cleared at random. It checks that every byte arrives, in order.
func readUnderMovingDeadlines(t *testing.T, clients, servers []*Conn, sizes []int) {
	t.Helper()
	const total = 1 << 20
	results := make(chan error, len(servers))
	for i := range servers {
		c, s := clients[i], servers[i]
		want := pattern(total, byte(i))
		go func() {
			r := rand.New(rand.NewSource(int64(i)))
			for off := 0; off < total; {
				n := min(1+r.Intn(9000), total-off)
				if _, err := c.Write(want[off : off+n]); err != nil {
					return
				}
				off += n
				if r.Intn(2) == 0 {
					time.Sleep(time.Duration(r.Intn(500)) * time.Microsecond)
				}
			}
		}()
		go func() {
			r := rand.New(rand.NewSource(int64(i) + 100))
			got := make([]byte, 0, total)
			stop := time.Now().Add(20 * time.Second)
			for len(got) < total {
				if time.Now().After(stop) {
					results <- fmt.Errorf("conn %d: %d of %d bytes after 20 s", i, len(got), total)
					return
				}
				if r.Intn(2) == 0 {
					s.SetReadDeadline(time.Now().Add(time.Duration(r.Intn(300)) * time.Microsecond))
				} else {
					s.SetReadDeadline(time.Time{})
				}
				b := make([]byte, sizes[r.Intn(len(sizes))])
				n, err := s.Read(b)
				got = append(got, b[:n]...)
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					results <- fmt.Errorf("conn %d: %w", i, err)
					return
				}
			}
			if !bytes.Equal(got, want) {
				results <- fmt.Errorf("conn %d: bytes lost or out of order", i)
				return
			}
			results <- nil
		}()
	}
	for range servers {
		require.NoError(t, <-results)
	}
}

// TestCloseDuringReads closes connections while their Reads wait for
// readiness, or take bytes as they arrive, one of them under a 50 µs
// deadline, 200 times over: every Read must end with net.ErrClosed and
// none may hang.
func TestCloseDuringReads(t *testing.T) {
	e := readyEngine(t)
	for round := 0; round < 200; round++ {
		clients, servers := connPairs(t, 3)
		onEngine(e, servers...)
		done := make(chan error, len(servers))
		for i, s := range servers {
			go func() {
				b := make([]byte, 100)
				for {
					if i == 1 {
						s.SetReadDeadline(time.Now().Add(50 * time.Microsecond))
					}
					if _, err := s.Read(b); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						done <- err
						return
					}
				}
			}()
			go clients[i].Write(make([]byte, 3000))
		}
		time.Sleep(time.Duration(round%7) * 100 * time.Microsecond)
		for _, s := range servers {
			s.Close()
		}
		for range servers {
			select {
			case err := <-done:
				require.ErrorIs(t, err, net.ErrClosed, "round %d", round)
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: a Read hung after Close", round)
			}
		}
		for _, c := range clients {
			c.Close()
		}
	}
}
