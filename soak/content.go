//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Bodies are a pure function of a seed and an offset, so a client checks
// every byte it receives, and the server every byte it is sent, without
// either holding a copy. Each 8-byte word at offset 8k is splitmix64 of
// seed+k, little-endian.

// word returns the content's word number k for seed.
func word(seed, k uint64) uint64 {
	z := seed + (k+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fill writes the content of seed from offset off into p.
func fill(seed uint64, off int64, p []byte) {
	i := 0
	for i < len(p) {
		o := uint64(off) + uint64(i)
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], word(seed, o/8))
		i += copy(p[i:], w[o%8:])
	}
}

// mismatch returns the offset of the first byte of p, read at offset off,
// that is not seed's content there, or -1.
func mismatch(seed uint64, off int64, p []byte) int64 {
	var want [4096]byte
	for done := 0; done < len(p); {
		n := min(len(want), len(p)-done)
		fill(seed, off+int64(done), want[:n])
		for i := range n {
			if p[done+i] != want[i] {
				return off + int64(done+i)
			}
		}
		done += n
	}
	return -1
}

// contentReader reads size bytes of seed's content.
type contentReader struct {
	seed      uint64
	off, size int64
}

func (r *contentReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	fill(r.seed, r.off, p)
	r.off += int64(len(p))
	return len(p), nil
}

// checkBody reads r to its end and checks that it is exactly size bytes
// of seed's content. It returns how many bytes it read, and an error that
// says whether the content was wrong (a *contentError) or reading failed.
func checkBody(r io.Reader, seed uint64, size int64, progress func(int64)) (int64, error) {
	buf := make([]byte, 32<<10)
	var off int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if off+int64(n) > size {
				return off + int64(n), &contentError{fmt.Sprintf("%d bytes past the %d expected", off+int64(n)-size, size)}
			}
			if at := mismatch(seed, off, buf[:n]); at >= 0 {
				return off + int64(n), &contentError{fmt.Sprintf("wrong byte at offset %d of %d", at, size)}
			}
			off += int64(n)
			if progress != nil {
				progress(off)
			}
		}
		if err == io.EOF {
			if off != size {
				return off, fmt.Errorf("body ended at %d of %d bytes: %w", off, size, io.ErrUnexpectedEOF)
			}
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

// contentError is a body whose bytes are not the content expected: always
// an invariant violation, whatever else happened to the exchange.
type contentError struct{ what string }

func (e *contentError) Error() string { return e.what }
