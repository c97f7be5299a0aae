//go:build linux

package core

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Rings driven from outside, through PollableFd, must poll readable while
// anything is owed to Run: both backends, beside CPU burners.

// ktPollDriven runs r as an outside event loop would, polling its
// PollableFd and then Run(NoWait), until done says so; a poll that times
// out with work still owed is a lost wake-up.
func ktPollDriven(t *testing.T, r *Ring, done func() bool, what func() string) {
	t.Helper()
	fd, err := r.PollableFd()
	require.NoError(t, err)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for !done() {
		k, err := unix.Poll(fds, 2000)
		if err == unix.EINTR {
			continue
		}
		require.NoError(t, err)
		if k == 0 {
			t.Fatalf("lost wake-up: the ring's fd stayed quiet with %s", what())
		}
		require.NoError(t, r.Run(NoWait))
	}
}

func TestPollableFdThroughOverflow(t *testing.T) {
	// A burst of Posts far past the completion queue: what overflows
	// keeps the fd readable until it has all been run.
	for _, be := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			ktBurnCPU(t)
			r, err := New(Options{Entries: 64, Backend: be})
			require.NoError(t, err)
			defer r.Close()
			const n = 100000
			var posted atomic.Int64
			delivered := 0
			cb := Ctx{Callback: func(Runtime, *Task) error { delivered++; return nil }}
			go func() {
				for range n {
					if r.Post(cb) != nil {
						return
					}
					posted.Add(1)
				}
			}()
			ktPollDriven(t, r, func() bool { return delivered == n }, func() string {
				return fmt.Sprintf("%d of %d posted run", delivered, posted.Load())
			})
		})
	}
}

func TestPollableFdPostRace(t *testing.T) {
	// Two posters keeping few messages outstanding (no overflow) race the
	// loop's draining of its mail: the epoll backend's own eventfd and
	// flag (io_uring's side of this is the kernel's).
	for _, be := range []Backend{BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			ktBurnCPU(t)
			r, err := New(Options{Entries: 64, Backend: be})
			require.NoError(t, err)
			defer r.Close()
			const n = 100000
			var posted, delivered atomic.Int64
			cb := Ctx{Callback: func(Runtime, *Task) error { delivered.Add(1); return nil }}
			for range 2 {
				go func() {
					for range n / 2 {
						for posted.Load()-delivered.Load() > 64 {
							runtime.Gosched()
						}
						if r.Post(cb) != nil {
							return
						}
						posted.Add(1)
					}
				}()
			}
			ktPollDriven(t, r, func() bool { return delivered.Load() == n }, func() string {
				return fmt.Sprintf("%d of %d posted run", delivered.Load(), posted.Load())
			})
		})
	}
}

func TestLinkedDeadlineMovedEarlier(t *testing.T) {
	// A linked timeout moved earlier ends the receive at the new time on
	// both backends, also once the receive's wait is long settled.
	for _, be := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			r, err := New(Options{Entries: 8, Backend: be})
			require.NoError(t, err)
			defer r.Close()
			_, b := ktSocketPair(t)
			var rec ktRec
			h, err := r.Recv(b, make([]byte, 8), 0, rec.ctx())
			require.NoError(t, err)
			require.NoError(t, h.SetDeadline(time.Now().Add(5*time.Second)))
			require.True(t, h.task.linked)
			require.NoError(t, r.Run(NoWait))
			time.Sleep(150 * time.Millisecond)
			require.NoError(t, r.Run(NoWait))
			require.NoError(t, h.SetDeadline(time.Now().Add(50*time.Millisecond)))
			start := time.Now()
			for len(rec.list) == 0 && time.Since(start) < 10*time.Second {
				require.NoError(t, r.Run(Once))
			}
			require.Len(t, rec.list, 1)
			require.Equal(t, syscall.ECANCELED, rec.list[0].err)
			require.Less(t, time.Since(start), 2*time.Second, "the moved deadline applied late")
		})
	}
}

func TestReadInotify(t *testing.T) {
	// A descriptor epoll watches that takes no RWF_NOWAIT: a read waits
	// for its event and returns it on both backends.
	for _, be := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			r, err := New(Options{Entries: 8, Backend: be})
			require.NoError(t, err)
			defer r.Close()
			in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
			require.NoError(t, err)
			defer unix.Close(in)
			dir := t.TempDir()
			_, err = unix.InotifyAddWatch(in, dir, unix.IN_CREATE)
			require.NoError(t, err)
			var rec ktRec
			buf := make([]byte, 4096)
			_, err = r.Read(in, buf, -1, rec.ctx())
			require.NoError(t, err)
			require.NoError(t, r.Run(NoWait))
			f, err := os.Create(dir + "/new")
			require.NoError(t, err)
			f.Close()
			start := time.Now()
			for len(rec.list) == 0 && time.Since(start) < 10*time.Second {
				require.NoError(t, r.Run(Once))
			}
			require.Len(t, rec.list, 1)
			require.NoError(t, rec.list[0].err)
			require.GreaterOrEqual(t, rec.list[0].n, unix.SizeofInotifyEvent)
		})
	}
}

func TestCloseWithBlockedOpen(t *testing.T) {
	// An openat that blocks (a FIFO without a writer) does not hold up
	// Close on either backend, and what it opens later is not leaked.
	for _, be := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			fifo := t.TempDir() + "/fifo"
			require.NoError(t, unix.Mkfifo(fifo, 0o600))
			fds := func() int {
				ents, err := os.ReadDir("/proc/self/fd")
				require.NoError(t, err)
				return len(ents)
			}
			r, err := New(Options{Entries: 8, Backend: be})
			require.NoError(t, err)
			before := fds()
			_, err = r.Openat(unix.AT_FDCWD, fifo, unix.O_RDONLY|unix.O_CLOEXEC, 0, Ctx{})
			require.NoError(t, err)
			require.NoError(t, r.Run(NoWait))
			closed := make(chan error, 1)
			go func() { closed <- r.Close() }()
			select {
			case err := <-closed:
				require.NoError(t, err)
			case <-time.After(5 * time.Second):
				t.Fatal("Close waited for an openat that blocks")
			}
			if be == BackendIOURing {
				// The kernel's worker is interrupted as the ring exits,
				// asynchronously: what it opens meanwhile is the
				// kernel's matter, not the package's.
				return
			}
			// A writer lets the still-blocked worker's open finish; the
			// worker closes it, the ring being gone.
			w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0)
			if err == nil {
				w.Close()
			}
			deadline := time.Now().Add(5 * time.Second)
			for fds() > before-1 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			require.LessOrEqual(t, fds(), before-1, "the ring's descriptors, or the late open's, were left open")
		})
	}
}

func TestSpliceToFileOffset(t *testing.T) {
	// A pipe spliced into a regular file at an offset: the bytes land at
	// the offset on both backends (on epoll the splice runs on the pool).
	for _, be := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			r, err := New(Options{Entries: 8, Backend: be})
			require.NoError(t, err)
			defer r.Close()
			rd, wr := ktPipe(t)
			f, err := os.CreateTemp(t.TempDir(), "splice")
			require.NoError(t, err)
			defer f.Close()
			_, err = unix.Write(wr, []byte("hello"))
			require.NoError(t, err)
			var rec ktRec
			_, err = r.Splice(rd, -1, int(f.Fd()), 4096, 5, 0, rec.ctx())
			require.NoError(t, err)
			require.NoError(t, r.Run(UntilDone))
			require.Len(t, rec.list, 1)
			require.Equal(t, 5, rec.list[0].n)
			got := make([]byte, 5)
			_, err = unix.Pread(int(f.Fd()), got, 4096)
			require.NoError(t, err)
			require.Equal(t, "hello", string(got))
		})
	}
}

func TestRecvWaitAll(t *testing.T) {
	// MSG_WAITALL on a stream: the receive completes when its buffer is
	// full, across the sender's pieces, or short at end of stream.
	for _, be := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			r, err := New(Options{Entries: 8, Backend: be})
			require.NoError(t, err)
			defer r.Close()
			a, b := ktSocketPair(t)
			var rec ktRec
			buf := make([]byte, 10)
			_, err = r.Recv(b, buf, unix.MSG_WAITALL, rec.ctx())
			require.NoError(t, err)
			for _, piece := range []string{"abc", "defg", "hij"} {
				_, err = unix.Write(a, []byte(piece))
				require.NoError(t, err)
				require.NoError(t, r.Run(NoWait))
				time.Sleep(5 * time.Millisecond)
			}
			require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(rec.list) == 1 }))
			require.Equal(t, 10, rec.list[0].n)
			require.Equal(t, "abcdefghij", string(buf))

			rec = ktRec{}
			_, err = r.Recv(b, buf, unix.MSG_WAITALL, rec.ctx())
			require.NoError(t, err)
			_, err = unix.Write(a, []byte("xy"))
			require.NoError(t, err)
			require.NoError(t, r.Run(NoWait))
			require.NoError(t, unix.Shutdown(a, unix.SHUT_WR))
			require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(rec.list) == 1 }))
			require.Equal(t, 2, rec.list[0].n, "short at end of stream")
		})
	}
}

func TestCloseFdLeavesNoRegistration(t *testing.T) {
	// CloseFd through an epoll ring takes the descriptor out of its epoll
	// set: a duplicate still open, getting data, wakes the ring no more.
	r, err := New(Options{Entries: 8, Backend: BackendEpoll})
	require.NoError(t, err)
	defer r.Close()
	a, b := ktSocketPair(t)
	dup, err := unix.Dup(b)
	require.NoError(t, err)
	defer unix.Close(dup)
	h, err := r.Recv(b, make([]byte, 8), 0, Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	_, err = r.Cancel(h, Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	_, err = r.CloseFd(b, Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	_, err = unix.Write(a, []byte("to the duplicate"))
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	pfd := []unix.PollFd{{Fd: int32(r.ep.epfd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	require.NoError(t, err)
	require.Zero(t, n, "the closed descriptor's registration still reports events")
}

func TestParkedNotStarvedByReadyFd(t *testing.T) {
	// One descriptor always has data for the next receive (a small buffer
	// never drains it), so every round of the loop completes something;
	// an operation parked on another descriptor that became ready must
	// still run soon (within the epoll backend's pollBudget completions),
	// not after the busy one runs dry.
	for _, be := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(be.String(), func(t *testing.T) {
			// On io_uring the idle receive's completion is task work
			// queued to the thread that submitted it; staying on that
			// thread keeps it from waiting for a scheduler's whim.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r, err := New(Options{Entries: 16, Backend: be})
			require.NoError(t, err)
			defer r.Close()
			busyW, busyR := ktSocketPair(t)
			idleW, idleR := ktSocketPair(t)
			const bufLen = 16
			const backlog = 64 << 10
			const limit = pollBudget + 8
			// The busy descriptor must outlast the limit, or the test
			// passes however long the parked receive waits.
			require.Less(t, limit, backlog/bufLen)
			n, err := unix.Write(busyW, make([]byte, backlog))
			require.NoError(t, err)
			require.Equal(t, backlog, n)

			var idle ktRec
			_, err = r.Recv(idleR, make([]byte, bufLen), 0, idle.ctx())
			require.NoError(t, err)
			require.NoError(t, r.Run(NoWait)) // it parks: nothing to read yet
			require.Empty(t, idle.list)

			busyBuf := make([]byte, bufLen)
			busyDone := 0
			var busyCtx Ctx
			busyCtx = Ctx{Callback: func(rt Runtime, tk *Task) error {
				if err := tk.Err(); err != nil {
					return err
				}
				busyDone++
				_, err := rt.Recv(busyR, busyBuf, 0, busyCtx)
				return err
			}}
			_, err = r.Recv(busyR, busyBuf, 0, busyCtx)
			require.NoError(t, err)
			require.NoError(t, r.Run(NoWait))
			_, err = unix.Write(idleW, []byte("x"))
			require.NoError(t, err)
			start := busyDone
			for i := 0; i < backlog/bufLen && len(idle.list) == 0; i++ {
				require.NoError(t, r.Run(Once))
			}
			require.Len(t, idle.list, 1, "the parked receive never ran")
			require.Equal(t, 1, idle.list[0].n)
			require.LessOrEqual(t, busyDone-start, limit,
				"the parked receive waited behind %d receives on the busy descriptor", busyDone-start)
		})
	}
}
