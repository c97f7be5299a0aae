//go:build linux

package uringnet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// holdPoller keeps an operation on the ring, a raw read's poll of a
// connection of its own, waiting on e as its poller, parked on the ring's
// fd, until the test ends: the engine's events are then the test's to
// harvest, unless a Read waits for readiness.
func holdPoller(t *testing.T, e *engine) {
	t.Helper()
	clients, servers := connPairs(t, 1)
	onEngine(e, servers[0])
	rc, err := servers[0].SyscallConn()
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		rc.Read(func(fd uintptr) bool {
			_, err := unix.Read(int(fd), make([]byte, 1))
			return err != unix.EAGAIN
		})
	}()
	eventually(t, "the holder did not poll", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.polling.Load() && e.asleep
	})
	t.Cleanup(func() {
		clients[0].Write([]byte{0})
		<-done
	})
}

// pattern returns n bytes that differ from one position to the next, with
// a tag so that two connections' bytes differ too.
func pattern(n int, tag byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ byte(i>>8) ^ tag
	}
	return b
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), what)
		time.Sleep(time.Millisecond)
	}
}

// onEngine moves conns, before their first operation, onto e.
func onEngine(e *engine, conns ...*Conn) {
	for _, c := range conns {
		c.fd.moveTo(e)
	}
}
