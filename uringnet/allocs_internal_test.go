//go:build linux

package uringnet

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadWriteAllocatesNothing checks that a ping-pong's Writes and Reads
// allocate nothing once warm, on both ends: a lone connection, whose Reads
// poll for themselves, and one whose Reads wait for readiness behind
// another connection's poll.
func TestReadWriteAllocatesNothing(t *testing.T) {
	pingPong := func(t *testing.T, c, s *Conn) {
		go func() {
			b := make([]byte, 64)
			for {
				n, err := s.Read(b)
				if err != nil {
					return
				}
				if _, err := s.Write(b[:n]); err != nil {
					return
				}
			}
		}()
		msg, got := make([]byte, 64), make([]byte, 64)
		var failed error
		round := func() {
			if _, err := c.Write(msg); err != nil {
				failed = err
			}
			for n := 0; n < len(got) && failed == nil; {
				k, err := c.Read(got[n:])
				n += k
				failed = err
			}
		}
		for i := 0; i < 200; i++ {
			round()
		}
		allocs := testing.AllocsPerRun(2000, round)
		require.NoError(t, failed)
		require.Zero(t, allocs, "allocations per Write and Read")
	}
	t.Run("lone", func(t *testing.T) {
		clients, servers := connPairs(t, 1)
		pingPong(t, clients[0], servers[0])
	})
	t.Run("readiness", func(t *testing.T) {
		clients, servers := connPairs(t, 2)
		e := readyEngine(t, servers...)
		onEngine(e, clients[0])
		keepHarvesting(t, e, servers[1])
		pingPong(t, clients[0], servers[0])
	})
}
