//go:build linux

package uringnet

import (
	"io"
	"sync"
)

// copyBufSize is io.Copy's own buffer size, so a copy moves the chunks
// package net's would.
const copyBufSize = 32 << 10

// copyBufs holds the buffers ReadFrom and WriteTo copy through when they
// cannot splice. io.Copy allocates a fresh 32 KiB buffer per call, as
// package net's fallbacks do, and net/http calls ReadFrom once per response
// it copies from a reader that is not a file. The buffers are fixed-size
// arrays rather than growable ones because a copy only ever needs one
// chunk's worth; and since Read and Write return only once the kernel is
// done with their buffer, one can go back to the pool as soon as its copy
// returns.
var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// copyThrough is io.Copy through a pooled buffer.
func copyThrough(w io.Writer, r io.Reader) (int64, error) {
	b := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(b)
	return io.CopyBuffer(w, r, b[:])
}

// copyFrom writes r to c through a buffer, for a reader ReadFrom cannot
// splice.
func (c *Conn) copyFrom(r io.Reader) (int64, error) { return copyThrough(writerOnly{c}, r) }

// copyTo writes what c reads to w through a buffer, for a writer WriteTo
// cannot splice into.
func (c *Conn) copyTo(w io.Writer) (int64, error) { return copyThrough(w, readerOnly{c}) }

// writerOnly and readerOnly hide ReadFrom and WriteTo, so the copy does not
// call them again. Each holds the Conn itself rather than an interface, so
// that making one an io.Writer or io.Reader allocates nothing.
type (
	writerOnly struct{ c *Conn }
	readerOnly struct{ c *Conn }
)

func (w writerOnly) Write(b []byte) (int, error) { return w.c.Write(b) }
func (r readerOnly) Read(b []byte) (int, error)  { return r.c.Read(b) }
