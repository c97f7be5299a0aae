//go:build linux

package uringnet

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// spliceChunk is how much one pass moves through the pipe; the pipe is
// grown to hold it where the system allows.
const spliceChunk = 1 << 20

// splicePipe is the pipe a splice between two descriptors goes through.
type splicePipe struct{ r, w int }

// newSplicePipe creates a pipe for ReadFrom or WriteTo, grown to
// spliceChunk where the system allows, and returns how much one pass may
// move through it.
func newSplicePipe() (p splicePipe, chunk int, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return p, 0, os.NewSyscallError("pipe2", err)
	}
	p = splicePipe{r: fds[0], w: fds[1]}
	chunk = 64 << 10
	if size, err := unix.FcntlInt(uintptr(p.w), unix.F_SETPIPE_SZ, spliceChunk); err == nil {
		chunk = size
	}
	return p, chunk, nil
}

// close closes both ends. Every splice through the pipe has completed by
// the time its do returns, so the kernel is done with the pipe by then.
func (p splicePipe) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}

// spliceOut moves n bytes from pipe to out with splices on f's ring,
// holding s, and returns how many moved. On EAGAIN it returns at once with
// eagain set when wait is false, and otherwise polls f's own descriptor for
// room on the ring. The caller holds s.mu.
func (f *netFD) spliceOut(s *side, pipe, out, n int, wait bool) (done int, eagain bool, err error) {
	for done < n {
		res, err := f.do(s, kindSplice, args{in: pipe, off: -1, out: out, n: n - done})
		if err != nil {
			return done, false, err
		}
		if res == -int32(unix.EAGAIN) {
			if !wait {
				return done, true, nil
			}
			if res, err = f.do(s, kindPollOut, args{}); err != nil {
				return done, false, err
			}
			if res < 0 {
				return done, false, os.NewSyscallError("poll", unix.Errno(-res))
			}
			continue
		}
		if res < 0 {
			return done, false, os.NewSyscallError("splice", unix.Errno(-res))
		}
		if res == 0 {
			return done, false, io.ErrUnexpectedEOF // the pipe held less than it should
		}
		done += int(res)
	}
	return done, false, nil
}
