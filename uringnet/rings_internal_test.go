//go:build linux

package uringnet

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRingsSpreadConnections checks that there is one ring per usable core
// and that accepted and dialed connections are spread over all of them,
// apart from the listeners' ring.
func TestRingsSpreadConnections(t *testing.T) {
	require.NoError(t, Available())
	require.Equal(t, runtime.GOMAXPROCS(0), Rings())
	require.Error(t, SetRings(1), "the rings already exist")

	ln, err := Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	used := map[*engine]bool{}
	for i := 0; i < 2*Rings(); i++ {
		c, err := Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		s, err := ln.Accept()
		require.NoError(t, err)
		used[c.(*Conn).fd.e] = true
		used[s.(*Conn).fd.e] = true
		// Each ring carries traffic, not only sockets.
		_, err = c.Write([]byte("x"))
		require.NoError(t, err)
		buf := make([]byte, 1)
		_, err = s.Read(buf)
		require.NoError(t, err)
		c.Close()
		s.Close()
	}
	require.Len(t, used, Rings())
	// The listener waits on a ring of its own, so no connection's ring has
	// a goroutine parked in Accept as its poller.
	require.NotContains(t, used, ln.(*Listener).fd.e)
	for e := range used {
		if e != engines[0] {
			require.NotSame(t, engines[0].ring, e.ring)
		}
	}
}
