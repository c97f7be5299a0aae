//go:build linux

package core

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ktBurnCPU keeps every CPU busy with goroutines until the test ends, so
// the races below run under scheduling pressure.
func ktBurnCPU(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
					for i := range 10000 {
						x += i
					}
				}
			}
		}()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// TestCancelRacesCompletion: data arrives for a receive while a cancel of
// it is submitted. Exactly one wins: the receive completes with the data
// and the cancel finds nothing (ENOENT), or the receive is cancelled and
// the cancel succeeds. Never both, never neither, and the receive's task,
// recycled at once into the next round, never sees a completion meant for
// the round before.
func TestCancelRacesCompletion(t *testing.T) {
	ktBurnCPU(t)
	r := ktRing(t, Options{Entries: 16})
	a, b := ktSocketPair(t)
	buf := make([]byte, 8)
	won := map[string]int{}
	for round := range 300 {
		var recv, cancel ktRec
		h, err := r.Recv(b, buf, 0, Ctx{Callback: recv.cb, Msg: uint16(round)})
		require.NoError(t, err)
		require.NoError(t, r.Submit())
		_, err = unix.Write(a, []byte{byte(round)})
		require.NoError(t, err)
		switch round % 3 {
		case 0:
			time.Sleep(10 * time.Microsecond) // let the data win sometimes
		case 1:
			// Let the receive complete without reaping it: the cancel
			// then meets a completion still in the CQ.
			require.NoError(t, r.Submit())
		}
		_, err = h.Cancel(cancel.ctx())
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(recv.list) == 1 && len(cancel.list) == 1 })
		require.NoError(t, r.Run(NoWait))
		require.Len(t, recv.list, 1, "round %d", round)
		require.Equal(t, uint16(round), recv.list[0].msg, "a completion reached the wrong use of the task")
		switch rv, cv := recv.list[0], cancel.list[0]; {
		case rv.err == nil && cv.err == syscall.ENOENT:
			require.Equal(t, 1, rv.n)
			require.Equal(t, byte(round), buf[0])
			won["completion"]++
		case rv.err == syscall.ECANCELED && cv.err == nil:
			// The byte stays in the socket: read it so the next round
			// starts empty.
			won["cancel"]++
			n, err := unix.Read(b, buf)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		case rv.err == syscall.ECANCELED && cv.err == syscall.EALREADY:
			won["already"]++
		default:
			t.Fatalf("round %d: recv %v (n %d), cancel %v", round, rv.err, rv.n, cv.err)
		}
		require.False(t, h.Live())
		require.Zero(t, r.Active())
	}
	t.Logf("winners: %v", won)
}

// TestStaleEventAfterRecycle: a receive is cancelled, its task goes to the
// next operation on another descriptor, and then the first descriptor
// becomes readable. The readiness of the old descriptor must not complete
// the task's new use.
func TestStaleEventAfterRecycle(t *testing.T) {
	r := ktRing(t, Options{Entries: 16})
	a1, b1 := ktSocketPair(t)
	a2, b2 := ktSocketPair(t)
	buf := make([]byte, 8)
	for range 50 {
		var first, second ktRec
		h, err := r.Recv(b1, buf, 0, Ctx{Callback: first.cb, Msg: 1})
		require.NoError(t, err)
		require.NoError(t, r.Run(NoWait))
		_, err = h.Cancel(Ctx{})
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(first.list) == 1 })
		require.Equal(t, syscall.ECANCELED, first.list[0].err)

		h2, err := r.Recv(b2, buf, 0, Ctx{Callback: second.cb, Msg: 2})
		require.NoError(t, err)
		require.NoError(t, r.Run(NoWait))
		_, err = unix.Write(a1, []byte("x")) // the old descriptor's event
		require.NoError(t, err)
		deadline := time.Now().Add(20 * time.Millisecond)
		for time.Now().Before(deadline) {
			require.NoError(t, r.Run(NoWait))
		}
		require.Empty(t, second.list, "the old descriptor's readiness completed the new use")
		require.True(t, h2.Live())
		_, err = unix.Write(a2, []byte("y"))
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(second.list) == 1 })
		require.Equal(t, "y", string(buf[:second.list[0].n]))
		n, err := unix.Read(b1, buf) // drain the old descriptor
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
}

// TestPostUnderLoad: goroutines Post while the ring echoes over a socket
// pair under CPU pressure; every Post is delivered once, on the ring's
// goroutine.
func TestPostUnderLoad(t *testing.T) {
	ktBurnCPU(t)
	r := ktRing(t, Options{Entries: 64})
	a, b := ktSocketPair(t)
	const posters, each = 4, 500
	var posted atomic.Int64
	delivered := 0
	onPost := Ctx{Callback: func(Runtime, *Task) error { delivered++; return nil }}
	var wg sync.WaitGroup
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := r.Post(onPost); err != nil {
					t.Error(err)
					return
				}
				posted.Add(1)
			}
		}()
	}
	buf := make([]byte, 16)
	echoes := 0
	var onRecv Ctx
	onRecv = Ctx{Callback: func(rt Runtime, task *Task) error {
		if err := task.Err(); err != nil {
			return err
		}
		echoes++
		if _, err := rt.Recv(b, buf, 0, onRecv); err != nil {
			return err
		}
		_, err := unix.Write(a, []byte("e"))
		return err
	}}
	_, err := r.Recv(b, buf, 0, onRecv)
	require.NoError(t, err)
	_, err = unix.Write(a, []byte("e"))
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	limit := time.After(20 * time.Second)
	for waiting := true; waiting || delivered < posters*each; {
		select {
		case <-done:
			waiting = false
		case <-limit:
			t.Fatalf("delivered %d of %d posts", delivered, posted.Load())
		default:
		}
		require.NoError(t, r.Run(Once))
	}
	require.Equal(t, int64(posters*each), posted.Load())
	require.Equal(t, posters*each, delivered)
	require.NotZero(t, echoes)
}

// TestCloseRacesPost: Close while other goroutines Post; each Post either
// succeeds or reports ErrClosed, and nothing panics or leaks a task.
func TestCloseRacesPost(t *testing.T) {
	ktBurnCPU(t)
	for range 20 {
		r, err := ktNew(Options{Entries: 8})
		require.NoError(t, err)
		_, b := ktSocketPair(t)
		_, err = r.Recv(b, make([]byte, 8), 0, Ctx{})
		require.NoError(t, err)
		require.NoError(t, r.Run(NoWait))
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := r.Post(Ctx{}); err != nil {
						if err != ErrClosed {
							t.Error(err)
						}
						return
					}
				}
			}()
		}
		time.Sleep(time.Millisecond)
		require.NoError(t, r.Close())
		wg.Wait()
	}
}

// TestDescriptorReusedAfterOutsideClose: a socket the ring waited on is
// closed with close(2), not through the ring, and a socket the ring then
// creates gets its number. Operations on the new socket must still be
// woken (on epoll the old registration died with the old socket).
func TestDescriptorReusedAfterOutsideClose(t *testing.T) {
	r := ktRing(t, Options{Entries: 16})
	ln, sa := ktListen(t, unix.AF_INET)
	hits := 0
	for range 20 {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		var rec ktRec
		buf := make([]byte, 8)
		// Wait on the descriptor once, so the ring knows it, then
		// close it outside the ring.
		_, err = r.Recv(fds[0], buf, 0, rec.ctx())
		require.NoError(t, err)
		require.NoError(t, r.Run(NoWait))
		_, err = unix.Write(fds[1], []byte("a"))
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(rec.list) == 1 })
		old := fds[0]
		unix.Close(fds[0])
		unix.Close(fds[1])

		// The ring's Socket takes the lowest free number, old's unless
		// something else took it meanwhile.
		_, err = r.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0, rec.ctx())
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(rec.list) == 2 })
		fd := rec.list[1].fd
		require.GreaterOrEqual(t, fd, 0)
		if fd != old {
			unix.Close(fd)
			continue
		}
		hits++
		// Bounded: a guard timer ends a wait that nothing else would.
		guard, err := r.Timer(5*time.Second, Ctx{Msg: 99})
		require.NoError(t, err)
		_, err = r.Connect(fd, sa, rec.ctx())
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(rec.list) == 3 || !guard.Live() })
		require.Len(t, rec.list, 3, "the connect on the reused number was never woken")
		require.NoError(t, rec.list[2].err)
		peer, _, err := unix.Accept(ln)
		require.NoError(t, err)
		_, err = r.Recv(fd, buf, 0, rec.ctx())
		require.NoError(t, err)
		require.NoError(t, r.Run(NoWait))
		_, err = unix.Write(peer, []byte("x"))
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(rec.list) == 4 || !guard.Live() })
		require.Len(t, rec.list, 4, "the receive on the reused number was never woken")
		require.Equal(t, "x", string(buf[:rec.list[3].n]))
		_, err = guard.Cancel(Ctx{})
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		unix.Close(peer)
		unix.Close(fd)
	}
	require.NotZero(t, hits, "no round reused the number")
}
