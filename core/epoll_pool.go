//go:build linux

package core

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The worker pool runs what epoll cannot wait for (openat, statx, and
// reads and writes of regular files, which block in the kernel instead of
// saying EAGAIN), shared by every epoll ring of the process. It is bounded:
// poolWorkers goroutines, started on first use, and a queue that makes a
// ring wait once poolQueue jobs are pending. A job's result returns through
// its ring's mail, so the callback runs on the ring's goroutine.
const (
	poolWorkers = 4
	poolQueue   = 256
)

type poolJob struct {
	ep *epollRing
	t  *Task
	ud uint64
}

var pool struct {
	once sync.Once
	jobs chan poolJob
}

// toPool hands t to the worker pool. Until its worker posts the result,
// the task is the worker's: the ring only reads its state word.
func (ep *epollRing) toPool(t *Task) {
	pool.once.Do(func() {
		pool.jobs = make(chan poolJob, poolQueue)
		for range poolWorkers {
			go poolWorker(pool.jobs)
		}
	})
	t.ep.where = epPooled
	j := poolJob{ep: ep, t: t, ud: t.Handle().userData()}
	select {
	case pool.jobs <- j:
	default:
		// Every worker is busy and the queue full, perhaps with jobs
		// that block for good: this job gets a goroutine of its own
		// rather than stall the ring's loop (io_uring's worker pool
		// grows the same way).
		go runJob(j)
	}
}

func poolWorker(jobs <-chan poolJob) {
	for j := range jobs {
		runJob(j)
	}
}

// runJob performs a job and hands its result to its ring, or, when the
// ring has closed meanwhile, closes the descriptor an openat made.
func runJob(j poolJob) {
	opcode := j.t.ep.s.opcode
	res := poolRun(j.t)
	if !j.ep.notify(cqe{userData: j.ud, res: res}) && opcode == opOpenat && res >= 0 {
		unix.Close(int(res))
	}
}

// abandonPooled lets Close return while pooled openats still block: their
// tasks leave the ring's count and stay their workers' (an openat holds no
// memory of the caller's: its path is the task's own). Other pooled
// operations write the caller's buffers, and Close waits for them.
func (ep *epollRing) abandonPooled() {
	r := ep.r
	for _, c := range r.chunks {
		for i := range c {
			t := &c[i]
			if t.state == taskInFlight && t.ep.where == epPooled && t.ep.s.opcode == opOpenat {
				t.ep.where = epAbandoned
				r.active--
			}
		}
	}
}

// poolRun performs a task's operation, blocking.
func poolRun(t *Task) int32 {
	s := &t.ep.s
	var r uintptr
	var errno unix.Errno
	switch s.opcode {
	case opOpenat:
		r, _, errno = unix.Syscall6(unix.SYS_OPENAT, uintptr(s.fd), uintptr(unsafe.Pointer(&t.path[0])), uintptr(s.opFlags)|unix.O_LARGEFILE, uintptr(s.len), 0, 0)
	case opStatx:
		r, _, errno = unix.Syscall6(unix.SYS_STATX, uintptr(s.fd), uintptr(unsafe.Pointer(&t.path[0])), uintptr(s.opFlags), uintptr(s.len), uintptr(unsafe.Pointer(t.statx)), 0)
	case opRead, opWrite:
		t.ep.iov = iovec{Base: ptrOrNil(t.buf)}
		t.ep.iov.SetLen(len(t.buf))
		var n int
		n, errno = rwv(s.opcode == opWrite, s.fd, &t.ep.iov, 1, int64(s.off), 0)
		r = uintptr(n)
	case opReadv, opWritev:
		var iov *iovec
		if len(t.iovs) > 0 {
			iov = &t.iovs[0]
		}
		var n int
		n, errno = rwv(s.opcode == opWritev, s.fd, iov, len(t.iovs), int64(s.off), 0)
		r = uintptr(n)
	case opSplice:
		// The offsets, as spliceOnce passes them (-1: the descriptor's
		// own position).
		var offIn, offOut uintptr
		if t.ts.sec != -1 {
			offIn = uintptr(unsafe.Pointer(&t.ts.sec))
		}
		if t.ts.nsec != -1 {
			offOut = uintptr(unsafe.Pointer(&t.ts.nsec))
		}
		n, _, e := unix.Syscall6(unix.SYS_SPLICE, uintptr(s.spliceFdIn), offIn, uintptr(s.fd), offOut, uintptr(s.len), uintptr(s.opFlags))
		r, errno = n, e
	default:
		errno = unix.EINVAL
	}
	if errno != 0 {
		return errRes(errno)
	}
	return int32(r)
}
