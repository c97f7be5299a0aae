//go:build unix

package core

import "golang.org/x/sys/unix"

// mapBufMem returns n bytes of anonymous memory outside the Go heap for a
// buffer ring: the kernel reads the entries and writes the buffers, so
// they must be page-aligned and never move.
func mapBufMem(n int) ([]byte, error) {
	return unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE)
}

func unmapBufMem(b []byte) { unix.Munmap(b) }
