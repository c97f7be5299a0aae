//go:build linux

package uringnet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
)

// TestUDPReadBatchFreesItsBuffers checks that Close ends the multishot
// receive and frees its buffer ring, whose group id the next socket's
// ReadBatch takes.
func TestUDPReadBatchFreesItsBuffers(t *testing.T) {
	open := func() (*UDPConn, *batchReader) {
		pc, err := ListenPacket("udp4", "127.0.0.1:0")
		require.NoError(t, err)
		c := pc.(*UDPConn)
		_, err = c.WriteTo([]byte("x"), c.LocalAddr())
		require.NoError(t, err)
		ms := []ipv4.Message{{Buffers: [][]byte{make([]byte, 8)}}}
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		n, err := c.ReadBatch(ms, 0)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		c.fd.e.mu.Lock()
		b := c.batch
		require.True(t, b.armed)
		c.fd.e.mu.Unlock()
		return c, b
	}
	c, b := open()
	require.NoError(t, c.Close())
	e := c.fd.e
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		freed := b.br == nil && !b.armed
		e.mu.Unlock()
		if freed {
			break
		}
		require.True(t, time.Now().Before(deadline), "the buffer ring was not freed after Close")
		time.Sleep(time.Millisecond)
	}
	e.mu.Lock()
	require.Contains(t, e.freeGroups, b.group)
	e.mu.Unlock()
	for i := 0; i < Rings(); i++ { // sockets go round the engines
		c2, b2 := open()
		if c2.fd.e == e {
			require.Equal(t, b.group, b2.group, "the freed group id is taken again")
			c2.Close()
			return
		}
		c2.Close()
	}
}
