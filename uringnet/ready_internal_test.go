//go:build linux

package uringnet

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// readyEngine returns a fresh engine whose Reads wait for readiness, with
// servers moved onto it. A Read that would poll for itself receives on the
// ring instead, so a holder connection's Read polls the engine throughout
// the test, parked on the ring's fd, and the servers' Reads wait for
// readiness behind it.
func readyEngine(t *testing.T, servers ...*Conn) *engine {
	t.Helper()
	e, err := newEngine(nil, true)
	require.NoError(t, err)
	require.GreaterOrEqual(t, e.ep, 0)
	holdPoller(t, e)
	for _, s := range servers {
		s.fd.moveTo(e)
		require.GreaterOrEqual(t, s.fd.slot, int32(0), "not watched")
	}
	return e
}

// keepHarvesting keeps a Read on s waiting for readiness, so that e's
// poller parks on the epoll fd and harvests every event as it comes.
func keepHarvesting(t *testing.T, e *engine, s *Conn) {
	t.Helper()
	go s.Read(make([]byte, 1))
	eventually(t, "the poller did not move onto the epoll fd", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.asleep && e.onEp
	})
}

// TestReadyLoneReadWaitsForReadiness checks that a Read with no poller on
// its engine waits for readiness as the poller itself, parked on the epoll
// fd with nothing submitted, and that a second Read waits behind it.
func TestReadyLoneReadWaitsForReadiness(t *testing.T) {
	clients, servers := connPairs(t, 2)
	e, err := newEngine(nil, true)
	require.NoError(t, err)
	for _, s := range servers {
		s.fd.moveTo(e)
	}
	got := make(chan string, 2)
	read := func(s *Conn) {
		b := make([]byte, 8)
		n, _ := s.Read(b)
		got <- string(b[:n])
	}
	go read(servers[0])
	eventually(t, "the lone Read did not poll on the epoll fd", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		o := &servers[0].fd.rd.op
		return e.polling.Load() && e.asleep && e.onEp && o.state == opAwait && e.pollerOp == o
	})
	go read(servers[1])
	eventually(t, "the second Read did not wait for readiness", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.asleep && e.onEp && e.rwWaiting == 2
	})
	_, err = clients[1].Write([]byte("second"))
	require.NoError(t, err)
	require.Equal(t, "second", <-got)
	_, err = clients[0].Write([]byte("first"))
	require.NoError(t, err)
	require.Equal(t, "first", <-got)
}

// waitingForReadiness reports whether a Read on s waits for its socket's
// readiness, with nothing submitted.
func waitingForReadiness(s *Conn) bool {
	e := s.fd.e
	e.mu.Lock()
	defer e.mu.Unlock()
	o := &s.fd.rd.op
	return o.state == opAwait
}

// TestReadyWithoutEpoll checks that an engine that cannot create its epoll
// instance still serves Reads, on the ring.
func TestReadyWithoutEpoll(t *testing.T) {
	epollCreate = func(int) (int, error) { return -1, unix.EMFILE }
	e, err := newEngine(nil, true)
	epollCreate = unix.EpollCreate1
	require.NoError(t, err)
	require.Equal(t, -1, e.ep)
	clients, servers := connPairs(t, 1)
	servers[0].fd.moveTo(e)
	require.Equal(t, int32(-1), servers[0].fd.slot, "watched without an epoll instance")
	done := make(chan string, 1)
	go func() {
		b := make([]byte, 8)
		n, _ := servers[0].Read(b)
		done <- string(b[:n])
	}()
	_, err = clients[0].Write([]byte("ring"))
	require.NoError(t, err)
	require.Equal(t, "ring", <-done)
}

// TestReadyEndArrivesWithData checks that end of stream arriving in the same
// readiness event as the last data is not lost: the Read that takes the
// data leaves the socket empty, and no further event comes for the end.
func TestReadyEndArrivesWithData(t *testing.T) {
	e := readyEngine(t)
	for round := 0; round < 20; round++ {
		clients, servers := connPairs(t, 1)
		c, s := clients[0], servers[0]
		s.fd.moveTo(e)
		got := make(chan []byte, 1)
		go func() {
			b := make([]byte, 1<<16)
			n, _ := s.Read(b)
			got <- b[:n]
		}()
		eventually(t, "the Read did not wait for readiness", func() bool { return waitingForReadiness(s) })
		_, err := c.Write([]byte("last words"))
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.Equal(t, "last words", string(<-got))
		require.NoError(t, s.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, err := s.Read(make([]byte, 10))
		require.Equal(t, 0, n)
		require.ErrorIs(t, err, io.EOF, "round %d", round)
	}
}

// TestReadyMoreSocketsThanEvents checks that sockets becoming readable all
// at once, more of them than one harvest of the epoll instance takes, all
// get their receives.
func TestReadyMoreSocketsThanEvents(t *testing.T) {
	const conns = 300
	clients, servers := connPairs(t, conns)
	e := readyEngine(t, servers...)
	require.Greater(t, conns, len(e.events))
	done := make(chan error, conns)
	for i, s := range servers {
		go func() {
			b := make([]byte, 16)
			n, err := s.Read(b)
			if err == nil && string(b[:n]) != fmt.Sprint(i) {
				err = fmt.Errorf("conn %d read %q", i, b[:n])
			}
			done <- err
		}()
	}
	eventually(t, "the Reads did not all wait", func() bool {
		for _, s := range servers {
			if !waitingForReadiness(s) {
				return false
			}
		}
		return true
	})
	// Hold the engine so that every socket is readable before the poller
	// harvests any of them.
	e.mu.Lock()
	for i, c := range clients {
		if _, err := c.Write([]byte(fmt.Sprint(i))); err != nil {
			e.mu.Unlock()
			t.Fatal(err)
		}
	}
	e.mu.Unlock()
	for range servers {
		require.NoError(t, <-done)
	}
}

// TestReadyStaleSlotEventIgnored checks that an event still queued for a
// closed connection's slot does not reach the connection that reuses it.
func TestReadyStaleSlotEventIgnored(t *testing.T) {
	_, servers := connPairs(t, 2)
	e := readyEngine(t, servers[0])
	slot := servers[0].fd.slot
	e.mu.Lock()
	gen := e.gens[slot]
	e.mu.Unlock()
	require.NoError(t, servers[0].Close())
	servers[1].fd.moveTo(e)
	require.Equal(t, slot, servers[1].fd.slot, "the slot was not reused")
	servers[1].fd.rd.rs.Store(0)
	e.mu.Lock()
	e.events[0] = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: slot, Pad: int32(gen)}
	e.nev = 1
	e.dispatch()
	e.mu.Unlock()
	require.Zero(t, servers[1].fd.rd.rs.Load(), "an old event reached the new connection")
}

// TestReadyUnderMovingDeadlines reads 1 MiB on each of six connections of
// one engine with Reads of random sizes and deadlines of up to 300 µs set
// and cleared at random, while the writers pause at random, so Reads that
// skip the direct attempt, waits interrupted before and after their
// receive was submitted and readiness that arrives between a Read's attempt
// and its wait all mix. Every byte must arrive, in order.
func TestReadyUnderMovingDeadlines(t *testing.T) {
	clients, servers := connPairs(t, 6)
	readyEngine(t, servers...)
	readUnderMovingDeadlines(t, clients, servers, []int{1, 64, 128, 1000, 4096, 9000, 40000})
}

// TestReadyCloseSendsWaitingReadAway checks that Close ends a Read waiting
// for readiness at once with net.ErrClosed, and that the socket leaves the
// engine's slots.
func TestReadyCloseSendsWaitingReadAway(t *testing.T) {
	_, servers := connPairs(t, 1)
	s := servers[0]
	e := readyEngine(t, s)
	slot := s.fd.slot
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 8))
		done <- err
	}()
	eventually(t, "the Read did not wait for readiness", func() bool { return waitingForReadiness(s) })
	require.NoError(t, s.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the waiting Read")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Nil(t, e.socks[slot], "the closed socket kept its slot")
	require.Equal(t, int32(-1), s.fd.slot)
}

// moveTo moves a connection, before its first operation, onto engine e,
// out of its engine's epoll instance and into e's. Tests use it to put
// connections on engines of their own.
func (f *netFD) moveTo(e *engine) {
	old := f.e
	old.mu.Lock()
	if f.slot >= 0 {
		unix.EpollCtl(old.ep, unix.EPOLL_CTL_DEL, f.fd, nil)
		old.unwatch(f)
	}
	old.mu.Unlock()
	f.e, f.rd.op.e, f.wr.op.e = e, e, e
	e.watch(f)
}

// TestReadyUrgentData checks that a Read after one that stopped short at
// TCP's urgent mark still gets the bytes queued behind it: a short read
// there does not mean the socket is empty, and no further event comes.
func TestReadyUrgentData(t *testing.T) {
	clients, servers := connPairs(t, 2)
	s := servers[0]
	e := readyEngine(t, servers...)
	keepHarvesting(t, e, servers[1])
	s.fd.rd.rs.Store(0)
	rc, err := clients[0].SyscallConn()
	require.NoError(t, err)
	require.NoError(t, rc.Control(func(fd uintptr) {
		unix.Write(int(fd), []byte("abc"))
		unix.Sendto(int(fd), []byte("!"), unix.MSG_OOB, nil)
		unix.Write(int(fd), []byte("def"))
	}))
	eventually(t, "the event was not harvested", func() bool { return s.fd.rd.rs.Load()&rsReady != 0 })
	var got []byte
	require.NoError(t, s.SetReadDeadline(time.Now().Add(5*time.Second)))
	for len(got) < 6 {
		b := make([]byte, 64)
		n, err := s.Read(b)
		require.NoError(t, err, "after %q", got)
		got = append(got, b[:n]...)
	}
	require.Equal(t, "abcdef", string(got))
}

// TestReadyErrorQueueWaits checks that a socket whose error queue holds
// entries a receive does not take (TX timestamps raise EPOLLERR) still
// lets a Read wait for readiness rather than try the socket in a loop.
func TestReadyErrorQueueWaits(t *testing.T) {
	clients, servers := connPairs(t, 2)
	s := servers[0]
	e := readyEngine(t, servers...)
	keepHarvesting(t, e, servers[1])
	s.fd.rd.rs.Store(0)
	rc, err := s.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, rc.Control(func(fd uintptr) {
		require.NoError(t, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING,
			unix.SOF_TIMESTAMPING_TX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE|unix.SOF_TIMESTAMPING_OPT_TSONLY))
	}))
	_, err = s.Write([]byte("x"))
	require.NoError(t, err)
	_, err = clients[0].Read(make([]byte, 1))
	require.NoError(t, err)
	eventually(t, "the error queue's event was not harvested", func() bool {
		return s.fd.rd.rs.Load() != 0
	})
	done := make(chan string, 1)
	go func() {
		b := make([]byte, 8)
		n, _ := s.Read(b)
		done <- string(b[:n])
	}()
	eventually(t, "the Read never waited for readiness", func() bool { return waitingForReadiness(s) })
	_, err = clients[0].Write([]byte("data"))
	require.NoError(t, err)
	require.Equal(t, "data", <-done)
}

// TestReadyDeadlineWhileReceiveSubmitted checks that a deadline that
// cancels a Read whose receive is already submitted ends the Read even when
// that receive finds the socket empty (stale readiness): here the receive
// is prepared as the poller does and the deadline comes before the poller
// runs it.
func TestReadyDeadlineWhileReceiveSubmitted(t *testing.T) {
	_, servers := connPairs(t, 1)
	s := servers[0]
	e := readyEngine(t, s)
	s.fd.rd.rs.Store(0)
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 8))
		done <- err
	}()
	eventually(t, "the Read did not wait for readiness", func() bool { return waitingForReadiness(s) })
	e.mu.Lock()
	s.fd.readable(unix.EPOLLIN) // stale: the socket is empty
	e.mu.Unlock()
	require.NoError(t, s.SetReadDeadline(time.Now()))
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("the Read outlived its deadline")
	}
}

// TestReadyEndDuringEmptyAttempt plays, step by step, the interleaving that
// lost end of stream: a Read tries a socket that stale readiness marked
// readable, finds it empty, and in the moment before it records that, the
// peer's last bytes and its FIN arrive and the poller hands their events
// to the side. The Read must take the bytes, and the next Read must see
// the end, though no further event will come for it.
func TestReadyEndDuringEmptyAttempt(t *testing.T) {
	for round := 0; round < 20; round++ {
		clients, servers := connPairs(t, 2)
		c, s := clients[0], servers[0]
		e := readyEngine(t, servers...)
		keepHarvesting(t, e, servers[1])
		s.fd.rd.rs.Store(rsReady) // stale: the socket is empty
		once := false
		testHookEmptyAttempt = func(f *netFD) {
			if f != s.fd || once {
				return
			}
			once = true
			if _, err := c.Write([]byte("last")); err != nil {
				t.Error(err)
			}
			c.Close()
			deadline := time.Now().Add(5 * time.Second)
			for s.fd.rd.rs.Load()&rsHup == 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
		}
		require.NoError(t, s.SetReadDeadline(time.Now().Add(5*time.Second)))
		b := make([]byte, 64)
		n, err := s.Read(b)
		testHookEmptyAttempt = nil
		require.True(t, once, "the Read never found the socket empty")
		require.NoError(t, err)
		require.Equal(t, "last", string(b[:n]))
		n, err = s.Read(b)
		require.Equal(t, 0, n)
		require.ErrorIs(t, err, io.EOF, "round %d: the end of stream was lost", round)
	}
}
