//go:build linux

package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read reads into buf at offset off, or at the file position if off is -1.
func (r *Ring) Read(fd int, buf []byte, off int64, ctx Ctx) (Handle, error) {
	return r.rw(OpRead, opRead, fd, buf, off, ctx)
}

// Write writes buf at offset off, or at the file position if off is -1.
func (r *Ring) Write(fd int, buf []byte, off int64, ctx Ctx) (Handle, error) {
	return r.rw(OpWrite, opWrite, fd, buf, off, ctx)
}

func (r *Ring) rw(op Op, code uint8, fd int, buf []byte, off int64, ctx Ctx) (Handle, error) {
	t, s, err := r.start(op, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.buf = buf
	s.opcode = code
	s.fd = int32(fd)
	s.addr = bufAddr(buf)
	s.len = uint32(len(buf))
	s.off = uint64(off)
	return t.Handle(), nil
}

// Readv reads into bufs in order, at offset off or the file position if off
// is -1.
func (r *Ring) Readv(fd int, bufs [][]byte, off int64, ctx Ctx) (Handle, error) {
	return r.rwv(OpReadv, opReadv, fd, bufs, off, ctx)
}

// Writev writes bufs in order, at offset off or the file position if off is
// -1.
func (r *Ring) Writev(fd int, bufs [][]byte, off int64, ctx Ctx) (Handle, error) {
	return r.rwv(OpWritev, opWritev, fd, bufs, off, ctx)
}

// iovec is the kernel's struct iovec; a Task keeps the array it hands a
// readv or writev.
type iovec = unix.Iovec

func (r *Ring) rwv(op Op, code uint8, fd int, bufs [][]byte, off int64, ctx Ctx) (Handle, error) {
	t, s, err := r.start(op, ctx)
	if err != nil {
		return Handle{}, err
	}
	// The task keeps both the iovec array and the buffers it points to.
	t.bufs = append(t.bufs[:0], bufs...)
	t.iovs = t.iovs[:0]
	for _, b := range bufs {
		iov := unix.Iovec{Base: ptrOrNil(b)}
		iov.SetLen(len(b)) // the field's width follows the architecture
		t.iovs = append(t.iovs, iov)
	}
	s.opcode = code
	s.fd = int32(fd)
	if len(t.iovs) > 0 {
		s.addr = uint64(uintptr(unsafe.Pointer(&t.iovs[0])))
	}
	s.len = uint32(len(t.iovs))
	s.off = uint64(off)
	return t.Handle(), nil
}

func ptrOrNil(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}

// Splice moves n bytes from fdIn to fdOut, one of which must be a pipe; an
// offset of -1 means the descriptor's own position. flags are splice(2)
// flags.
func (r *Ring) Splice(fdIn int, offIn int64, fdOut int, offOut int64, n int, flags uint32, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpSplice, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opSplice
	s.spliceFdIn = int32(fdIn)
	s.addr = uint64(offIn)
	s.fd = int32(fdOut)
	s.off = uint64(offOut)
	s.len = uint32(n)
	s.opFlags = flags
	return t.Handle(), nil
}

// CloseFd closes fd.
func (r *Ring) CloseFd(fd int, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpClose, ctx)
	if err != nil {
		return Handle{}, err
	}
	s.opcode = opClose
	s.fd = int32(fd)
	return t.Handle(), nil
}

// Openat opens path relative to dirfd (unix.AT_FDCWD for the working
// directory) with open(2) flags and mode; the task's Fd is the descriptor.
func (r *Ring) Openat(dirfd int, path string, flags int, mode uint32, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpOpenat, ctx)
	if err != nil {
		return Handle{}, err
	}
	t.path = append(append(t.path[:0], path...), 0)
	s.opcode = opOpenat
	s.fd = int32(dirfd)
	s.addr = uint64(uintptr(unsafe.Pointer(&t.path[0])))
	s.len = mode
	s.opFlags = uint32(flags)
	return t.Handle(), nil
}

// Statx reads the status of path relative to dirfd (with
// unix.AT_EMPTY_PATH and an empty path, of dirfd itself) into the task's
// Statx. flags are AT_* flags and mask the unix.STATX_* fields wanted.
func (r *Ring) Statx(dirfd int, path string, flags int, mask uint32, ctx Ctx) (Handle, error) {
	t, s, err := r.start(OpStatx, ctx)
	if err != nil {
		return Handle{}, err
	}
	if t.statx == nil {
		t.statx = new(unix.Statx_t)
	}
	*t.statx = unix.Statx_t{}
	t.path = append(append(t.path[:0], path...), 0)
	s.opcode = opStatx
	s.fd = int32(dirfd)
	s.addr = uint64(uintptr(unsafe.Pointer(&t.path[0])))
	s.len = mask
	s.off = uint64(uintptr(unsafe.Pointer(t.statx)))
	s.opFlags = uint32(flags)
	return t.Handle(), nil
}
