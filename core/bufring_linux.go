package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// NewBufRing creates a ring of count buffers of size bytes each, registered
// with the kernel under group id group. count must be a power of two no
// larger than 32768.
func (r *Ring) NewBufRing(group uint16, count uint16, size int) (*BufRing, error) {
	if r.closed {
		return nil, ErrClosed
	}
	br, err := NewUnregisteredBufRing(group, count, size)
	if err != nil {
		return nil, err
	}
	if r.ep != nil {
		for _, other := range r.bufRings {
			if other.group == group {
				br.unmap()
				return nil, unix.EEXIST
			}
		}
		// The epoll backend takes buffers from the ring itself, as the
		// kernel would (BufRing.Take).
		br.ring = r
		r.bufRings = append(r.bufRings, br)
		return br, nil
	}
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&br.mem[0]))), ringEntries: uint32(count), bgid: group}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	if errno != 0 {
		br.unmap()
		if errno == unix.EINVAL {
			return nil, &UnsupportedError{What: "provided buffer rings (" + errno.Error() + ")"}
		}
		return nil, errno
	}
	br.ring = r
	r.bufRings = append(r.bufRings, br)
	return br, nil
}

func (br *BufRing) release() {
	if br.ring != nil && br.ring.ep == nil {
		reg := bufReg{bgid: br.group}
		unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(br.ring.fd), unregisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	}
	br.unmap()
}

// FreeBufRing unregisters br from the ring and releases its memory before
// the ring closes, for a ring whose buffer rings come and go (one per
// socket, say). No operation may be using br: call it after the final
// completion of every receive that selects from it.
func (r *Ring) FreeBufRing(br *BufRing) error {
	if r.closed {
		return ErrClosed
	}
	for i, b := range r.bufRings {
		if b == br {
			r.bufRings = append(r.bufRings[:i], r.bufRings[i+1:]...)
			br.release()
			br.ring = nil
			return nil
		}
	}
	return ErrForeignTask
}
