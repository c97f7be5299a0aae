//go:build linux

package uringnet_test

import (
	"bytes"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// plainReader reads from a bytes.Reader but hides its WriteTo, so
// ReadFrom and io.Copy have to copy it through a buffer. A pointer, so
// passing it as an io.Reader allocates nothing.
type plainReader struct{ r *bytes.Reader }

func (p *plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// countingWriter takes everything and counts it; it has no ReadFrom, so
// WriteTo has to copy into it through a buffer.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	return len(b), nil
}

// bytesPerCall is the heap the process allocates per call of f, over n
// calls.
func bytesPerCall(n int, f func(i int)) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		f(i)
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// copyBudget bounds the bytes a copy fallback may allocate per call. A
// fresh 32 KiB buffer a call, io.Copy's way, is over it; the pooled buffer
// comes back for nothing, except that under the race detector sync.Pool
// drops a quarter of what it is given, which averages 8 KiB.
const copyBudget = 16 << 10

// TestReadFromCopyReusesBuffer: ReadFrom from a reader it cannot splice
// copies through a buffer that the next call reuses, where io.Copy (and
// package net's ReadFrom) would allocate 32 KiB each time; every byte still
// arrives.
func TestReadFromCopyReusesBuffer(t *testing.T) {
	c, s := readFromPair(t)
	drained := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, s)
		drained <- n
	}()
	payload := make([]byte, 4<<10)
	br := bytes.NewReader(payload)
	src := &plainReader{br}
	var sent int64
	var failed error
	send := func(int) {
		br.Reset(payload)
		n, err := c.ReadFrom(src)
		sent += n
		if err != nil && failed == nil {
			failed = err
		}
	}
	for i := range 20 {
		send(i)
	}
	perCall := bytesPerCall(500, send)
	require.NoError(t, failed)
	require.NoError(t, c.CloseWrite())
	require.Equal(t, int64(520*len(payload)), sent)
	require.Equal(t, sent, <-drained)
	t.Logf("%.0f bytes allocated per ReadFrom", perCall)
	require.Less(t, perCall, float64(copyBudget), "bytes allocated per ReadFrom")
}

// TestWriteToCopyReusesBuffer: WriteTo into a writer it cannot splice into
// copies through a buffer that the next call, on another connection,
// reuses; every byte still arrives.
func TestWriteToCopyReusesBuffer(t *testing.T) {
	const conns = 100
	data := pattern(4 << 10)
	srcs := make([]io.WriterTo, conns)
	for i := range srcs {
		c, s := pair(t, uringImpl, "tcp")
		feed(t, s, data)
		srcs[i] = c.(io.WriterTo)
	}
	var w countingWriter
	var failed error
	copyOne := func(i int) {
		if _, err := srcs[i].WriteTo(&w); err != nil && failed == nil {
			failed = err
		}
	}
	for i := range 10 {
		copyOne(i)
	}
	perCall := bytesPerCall(conns-10, func(i int) { copyOne(10 + i) })
	require.NoError(t, failed)
	require.Equal(t, int64(conns*len(data)), w.n)
	t.Logf("%.0f bytes allocated per WriteTo", perCall)
	require.Less(t, perCall, float64(copyBudget), "bytes allocated per WriteTo")
}

// BenchmarkReadFromReader sends a reader that is not a file through
// ReadFrom, which copies it through a buffer, on a uringnet Conn and a
// *net.TCPConn, to a package net peer that discards it.
func BenchmarkReadFromReader(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		for _, im := range impls {
			b.Run(im.name+"/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
				c, s := dialedPair(b, im)
				go io.Copy(io.Discard, s)
				payload := make([]byte, size)
				br := bytes.NewReader(payload)
				src := &plainReader{br}
				rf := c.(io.ReaderFrom)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					br.Reset(payload)
					if _, err := rf.ReadFrom(src); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
