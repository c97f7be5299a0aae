//go:build linux

package uringnet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// threadsIn returns, for each thread of the process, the kernel function
// it sleeps in (/proc/self/task/*/wchan).
func threadsIn(t *testing.T) []string {
	tasks, err := filepath.Glob("/proc/self/task/*/wchan")
	require.NoError(t, err)
	var in []string
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err == nil {
			in = append(in, string(b))
		}
	}
	return in
}

// connPairs dials n uringnet connections over loopback and accepts them,
// all closed when the test ends.
func connPairs(t *testing.T, n int) (clients, servers []*Conn) {
	ln, err := Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	for i := 0; i < n; i++ {
		c, err := Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		s, err := ln.Accept()
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		clients = append(clients, c.(*Conn))
		servers = append(servers, s.(*Conn))
	}
	return clients, servers
}

// TestPollerWaitsInNetpoller checks that while Reads wait on the ring, the
// poller waits in Go's netpoller and no thread sleeps in io_uring_enter,
// outside the scheduler; and that the Reads still complete when data comes.
func TestPollerWaitsInNetpoller(t *testing.T) {
	in := threadsIn(t)
	if !strings.Contains(strings.Join(in, " "), "futex") && !strings.Contains(strings.Join(in, " "), "ep_poll") {
		t.Skipf("wchan names no kernel functions here: %q", in)
	}
	const conns = 8
	clients, servers := connPairs(t, conns)
	done := make(chan error, conns)
	for _, s := range servers {
		go func() {
			b := make([]byte, 1)
			_, err := s.Read(b)
			done <- err
		}()
	}
	// Wait until every Read is on the ring, with a poller for each ring.
	deadline := time.Now().Add(5 * time.Second)
	for {
		waiting := 0
		for _, s := range servers {
			e := s.fd.e
			e.mu.Lock()
			if s.fd.rd.op.state != opIdle && e.polling.Load() {
				waiting++
			}
			e.mu.Unlock()
		}
		if waiting == conns {
			break
		}
		require.True(t, time.Now().Before(deadline), "only %d of %d Reads wait on the ring", waiting, conns)
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the pollers park
	for _, w := range threadsIn(t) {
		require.NotEqual(t, "io_cqring_wait", w, "a thread sleeps in io_uring_enter")
	}
	for _, c := range clients {
		_, err := c.Write([]byte("x"))
		require.NoError(t, err)
	}
	for range servers {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("a Read did not complete")
		}
	}
}

// TestNetpollFileRefusesWhatCannotWait checks that a descriptor the
// netpoller cannot wait for (a regular file) is refused with a clear error
// rather than accepted and left to fail when the poller first waits.
func TestNetpollFileRefusesWhatCannotWait(t *testing.T) {
	reg, err := os.CreateTemp(t.TempDir(), "regular")
	require.NoError(t, err)
	defer reg.Close()
	_, _, err = netpollFile(int(reg.Fd()))
	require.ErrorIs(t, err, os.ErrNoDeadline)

	e, err := defaultEngine()
	require.NoError(t, err)
	f, rc, err := netpollFile(e.ring.Fd())
	require.NoError(t, err)
	require.NotNil(t, rc)
	require.NoError(t, f.Close())
}

// TestInterruptedReadResumes checks that Reads interrupted by their
// deadline, as the ring's poller and as a goroutine parked behind it, leave
// nothing in the kernel once they return, and that the next Read on each
// gets the bytes sent after.
func TestInterruptedReadResumes(t *testing.T) {
	clients, servers := connPairs(t, 2)
	// Both on one ring, so that one Read polls and the other parks.
	servers[1].fd.moveTo(servers[0].fd.e)
	done := make(chan error, 2)
	for _, s := range servers {
		go func() {
			_, err := s.Read(make([]byte, 1))
			done <- err
		}()
	}
	e := servers[0].fd.e
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.mu.Lock()
		ready := servers[0].fd.rd.op.state != opIdle && servers[1].fd.rd.op.state != opIdle
		roles := e.pollerOp == &servers[0].fd.rd.op || e.pollerOp == &servers[1].fd.rd.op
		e.mu.Unlock()
		if ready && roles {
			break
		}
		require.True(t, time.Now().Before(deadline), "the Reads did not wait on the ring")
		time.Sleep(time.Millisecond)
	}
	for _, s := range servers {
		require.NoError(t, s.SetReadDeadline(time.Unix(1, 0)))
	}
	for range servers {
		require.ErrorIs(t, <-done, os.ErrDeadlineExceeded)
	}
	for i, s := range servers {
		e.mu.Lock()
		state := s.fd.rd.op.state
		e.mu.Unlock()
		require.Equal(t, opIdle, state, "conn %d: the Read returned with its operation in flight", i)
		require.NoError(t, s.SetReadDeadline(time.Time{}))
		_, err := clients[i].Write([]byte{'a' + byte(i)})
		require.NoError(t, err)
		b := make([]byte, 10)
		n, err := s.Read(b)
		require.NoError(t, err)
		require.Equal(t, string(rune('a'+i)), string(b[:n]))
	}
}
