//go:build linux

package uringnet_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// pattern returns n bytes that differ from one offset to the next, so a
// lost, repeated or reordered chunk changes the hash.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>11)
	}
	return b
}

// feed writes data to c from a goroutine and then closes c's writing side,
// so the peer reads data and EOF.
func feed(t *testing.T, c net.Conn, data []byte) {
	t.Helper()
	go func() {
		c.Write(data)
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
}

// sourceOf returns im's client conn on network, which reads data then EOF.
func sourceOf(t *testing.T, im impl, network string, data []byte) io.WriterTo {
	t.Helper()
	c, s := pair(t, im, network)
	feed(t, s, data)
	return writerTo(c)
}

// writerTo returns c as an io.WriterTo; a *net.UnixConn has none (its
// WriteTo sends a datagram), so for it the stand-in is what io.Copy does
// with it.
func writerTo(c net.Conn) io.WriterTo {
	if wt, ok := c.(io.WriterTo); ok {
		return wt
	}
	return copier{c}
}

type copier struct{ r io.Reader }

func (c copier) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, c.r) }

// sink returns a conn of im on network to write to and a channel that
// yields the hash of everything its peer read, and how much, once the conn
// is closed.
func sink(t *testing.T, im impl, network string) (net.Conn, <-chan received) {
	t.Helper()
	c, s := pair(t, im, network)
	got := make(chan received, 1)
	go func() {
		h := sha256.New()
		n, _ := io.Copy(h, s)
		got <- received{n, [32]byte(h.Sum(nil))}
	}()
	return c, got
}

type received struct {
	n   int64
	sum [32]byte
}

func writeTo(t *testing.T, src io.WriterTo, w io.Writer) (n int64, err error) {
	t.Helper()
	within(t, 60*time.Second, "WriteTo", func() { n, err = src.WriteTo(w) })
	return n, err
}

// TestWriteToConns copies a connection to another of each kind WriteTo
// splices into, on both implementations, and checks every byte by hash.
func TestWriteToConns(t *testing.T) {
	cases := []struct {
		name     string
		src, dst string // networks
		dstImpl  impl
	}{
		{"tcp→uringnet", "tcp", "tcp", uringImpl},
		{"unix→uringnet", "unix", "unix", uringImpl},
		{"tcp→net.TCPConn", "tcp", "tcp", stdImpl},
		{"unix→net.UnixConn", "unix", "unix", stdImpl},
		{"tcp→net.UnixConn", "tcp", "unix", stdImpl},
	}
	data := pattern(8<<20 + 3)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				src := sourceOf(t, im, tc.src, data)
				dst, got := sink(t, tc.dstImpl, tc.dst)
				n, err := writeTo(t, src, dst)
				require.NoError(t, err)
				require.Equal(t, int64(len(data)), n)
				dst.Close()
				r := <-got
				require.Equal(t, int64(len(data)), r.n)
				require.Equal(t, sha256.Sum256(data), r.sum)
			})
		})
	}
}

// TestWriteToFile copies into a regular file from an offset: the content
// lands at the file's position and leaves it just past the bytes written.
func TestWriteToFile(t *testing.T) {
	for _, size := range []int{0, 1, 64<<10 + 1, 8 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				data := pattern(size)
				src := sourceOf(t, im, "tcp", data)
				f, err := os.OpenFile(filepath.Join(t.TempDir(), "out"), os.O_RDWR|os.O_CREATE, 0o600)
				require.NoError(t, err)
				defer f.Close()
				_, err = f.Write([]byte("head"))
				require.NoError(t, err)
				n, err := writeTo(t, src, f)
				require.NoError(t, err)
				require.Equal(t, int64(size), n)
				pos, err := f.Seek(0, io.SeekCurrent)
				require.NoError(t, err)
				require.Equal(t, int64(4+size), pos)
				all, err := os.ReadFile(f.Name())
				require.NoError(t, err)
				require.Equal(t, sha256.Sum256(append([]byte("head"), data...)), sha256.Sum256(all))
			})
		})
	}
}

// TestWriteToAppendFile: an O_APPEND file, which splice refuses, is copied
// through a buffer and still gets every byte at its end.
func TestWriteToAppendFile(t *testing.T) {
	data := pattern(200 << 10)
	src := sourceOf(t, uringImpl, "tcp", data)
	path := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.WriteFile(path, []byte("head"), 0o600))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer f.Close()
	n, err := writeTo(t, src, f)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
	all, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(append([]byte("head"), data...), all))
}

// TestWriteToPipe copies into an os.Pipe, which is non-blocking and owned
// by Go's poller, with a reader slow enough that the pipe fills.
func TestWriteToPipe(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		data := pattern(4<<20 + 9)
		src := sourceOf(t, im, "tcp", data)
		r, w, err := os.Pipe()
		require.NoError(t, err)
		defer r.Close()
		got := make(chan [32]byte, 1)
		go func() {
			h := sha256.New()
			buf := make([]byte, 16<<10)
			for i := 0; ; i++ {
				n, err := r.Read(buf)
				h.Write(buf[:n])
				if err != nil {
					break
				}
				if i%64 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			got <- [32]byte(h.Sum(nil))
		}()
		n, err := writeTo(t, src, w)
		require.NoError(t, err)
		require.Equal(t, int64(len(data)), n)
		w.Close()
		require.Equal(t, sha256.Sum256(data), <-got)
	})
}

func TestWriteToBuffer(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		data := pattern(300<<10 + 1)
		src := sourceOf(t, im, "tcp", data)
		var buf bytes.Buffer
		n, err := writeTo(t, src, &buf)
		require.NoError(t, err)
		require.Equal(t, int64(len(data)), n)
		require.True(t, bytes.Equal(data, buf.Bytes()))
	})
}

// failingWriter takes limit bytes, then fails.
type failingWriter struct {
	limit int
	buf   bytes.Buffer
}

var errWriter = errors.New("writer gave up")

func (w *failingWriter) Write(p []byte) (int, error) {
	room := w.limit - w.buf.Len()
	if len(p) <= room {
		return w.buf.Write(p)
	}
	w.buf.Write(p[:room])
	return room, errWriter
}

// TestWriteToWriterError: a writer that fails midway gets the same count
// and the same error, wrapped the same way, as from package net.
func TestWriteToWriterError(t *testing.T) {
	data := pattern(1 << 20)
	compare(t, "WriteTo a failing writer", func(t *testing.T, im impl) errShape {
		c, s := pair(t, im, "tcp")
		feed(t, s, data)
		w := &failingWriter{limit: 100000}
		n, err := writeTo(t, writerTo(c), w)
		require.ErrorIs(t, err, errWriter)
		require.Equal(t, int64(100000), n)
		require.True(t, bytes.Equal(data[:100000], w.buf.Bytes()))
		return shapeOf(err, connRoles(c))
	})
}

// outerShape is an error's shape without the text of what it wraps, which
// names the addresses of the wrapped error.
func outerShape(err error, r roles) errShape {
	s := shapeOf(err, r)
	s.Text = ""
	return s
}

// innerShape is the shape of the error WriteTo's *net.OpError wraps.
func innerShape(t *testing.T, err error, r roles) errShape {
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	return shapeOf(oe.Err, r)
}

// TestWriteToDeadline: the read deadline stops WriteTo waiting for the
// peer, into a buffer and into a connection, with os.ErrDeadlineExceeded
// and a count that is exactly what the writer received; the bytes not yet
// copied are still there for the next Read.
func TestWriteToDeadline(t *testing.T) {
	data := pattern(3<<20 + 17)
	for _, into := range []string{"buffer", "conn"} {
		t.Run(into, func(t *testing.T) {
			var outer, inner [2]errShape
			for i, im := range impls {
				t.Run(im.name, func(t *testing.T) {
					c, s := pair(t, im, "tcp")
					// The peer sends half, stalls past the deadline, and
					// sends the rest only when the test says so.
					resume := make(chan struct{})
					go func() {
						s.Write(data[:len(data)/2])
						<-resume
						s.Write(data[len(data)/2:])
						s.(interface{ CloseWrite() error }).CloseWrite()
					}()
					var got bytes.Buffer
					var w io.Writer = &got
					var done <-chan received
					if into == "conn" {
						var dst net.Conn
						dst, done = sink(t, im, "tcp")
						w = dst
					}
					require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
					n, err := writeTo(t, writerTo(c), w)
					require.ErrorIs(t, err, os.ErrDeadlineExceeded)
					outer[i] = outerShape(err, connRoles(c))
					inner[i] = innerShape(t, err, connRoles(c))
					if into == "conn" {
						w.(net.Conn).Close()
						r := <-done
						require.Equal(t, n, r.n, "the count is what the writer received")
						require.Equal(t, sha256.Sum256(data[:n]), r.sum)
					} else {
						require.Equal(t, n, int64(got.Len()))
						require.True(t, bytes.Equal(data[:n], got.Bytes()))
					}
					// Nothing read from the socket went missing.
					require.NoError(t, c.SetReadDeadline(time.Time{}))
					close(resume)
					rest, err := io.ReadAll(c)
					require.NoError(t, err)
					require.Equal(t, len(data), int(n)+len(rest))
					require.True(t, bytes.Equal(data[n:], rest))
				})
			}
			sameShape(t, "WriteTo past the read deadline", outer[0], outer[1])
			if into == "buffer" { // net splices into a conn through ReadFrom, and says so
				sameShape(t, "the error under writeto", inner[0], inner[1])
			} else {
				require.Equal(t, "read", inner[1].Op)
			}
		})
	}
}

// TestWriteToDeadlineSlowWriter: the read deadline passes while WriteTo
// is handing a chunk to a slow pipe, the bytes it has taken from the socket
// still all reach the pipe, and the rest stay in the socket.
func TestWriteToDeadlineSlowWriter(t *testing.T) {
	data := pattern(6 << 20)
	forBoth(t, func(t *testing.T, im impl) {
		c, s := pair(t, im, "tcp")
		feed(t, s, data)
		r, w, err := os.Pipe()
		require.NoError(t, err)
		defer r.Close()
		got := make(chan []byte, 1)
		go func() {
			var b bytes.Buffer
			buf := make([]byte, 4<<10)
			for {
				n, err := r.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			got <- b.Bytes()
		}()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(150*time.Millisecond)))
		n, err := writeTo(t, writerTo(c), w)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		w.Close()
		piped := <-got
		require.Equal(t, n, int64(len(piped)), "the count is what the pipe received")
		require.True(t, bytes.Equal(data[:n], piped))
		require.NoError(t, c.SetReadDeadline(time.Time{}))
		rest, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Equal(t, len(data), int(n)+len(rest))
		require.True(t, bytes.Equal(data[n:], rest), "nothing taken from the socket went missing")
	})
}

// TestWriteToClose: Close from another goroutine unblocks WriteTo with
// net.ErrClosed, as in package net.
func TestWriteToClose(t *testing.T) {
	for _, into := range []string{"buffer", "conn"} {
		t.Run(into, func(t *testing.T) {
			compare(t, "WriteTo across Close", func(t *testing.T, im impl) errShape {
				c, s := pair(t, im, "tcp")
				s.Write([]byte("some"))
				var w io.Writer = new(bytes.Buffer)
				if into == "conn" {
					w, _ = sink(t, im, "tcp")
				}
				go func() {
					time.Sleep(100 * time.Millisecond)
					c.Close()
				}()
				n, err := writeTo(t, writerTo(c), w)
				require.ErrorIs(t, err, net.ErrClosed)
				require.Equal(t, int64(4), n)
				return outerShape(err, connRoles(c))
			})
		})
	}
}

// loosePair is pair without cleanups: the leak test closes everything
// itself before it counts.
func loosePair(t *testing.T, im impl) (client, server net.Conn) {
	t.Helper()
	ln, err := im.listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err = im.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server, err = ln.Accept()
	require.NoError(t, err)
	return client, server
}

// TestWriteToLeaks runs WriteTo to the end, past a deadline and across
// Close, into every kind of destination, and requires the goroutines and
// descriptors (pipes above all) to come back to where they were.
func TestWriteToLeaks(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	before := countFDs(t)
	ignore := goleak.IgnoreCurrent()
	func() {
		data := pattern(256 << 10)
		for i := range 12 {
			c, s := loosePair(t, uringImpl)
			var dst io.Writer
			closeDst := func() {}
			switch i % 4 {
			case 0, 1:
				im := []impl{uringImpl, stdImpl}[i%4]
				d, peer := loosePair(t, im)
				done := make(chan struct{})
				go func() { io.Copy(io.Discard, peer); peer.Close(); close(done) }()
				dst, closeDst = d, func() { d.Close(); <-done }
			case 2:
				r, w, err := os.Pipe()
				require.NoError(t, err)
				done := make(chan struct{})
				go func() { io.Copy(io.Discard, r); r.Close(); close(done) }()
				dst, closeDst = w, func() { w.Close(); <-done }
			case 3:
				dst = new(bytes.Buffer)
			}
			switch i / 4 {
			case 0: // to EOF
				go func() { s.Write(data); s.Close() }()
			case 1: // past a deadline
				go s.Write(data)
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			case 2: // across Close
				go s.Write(data)
				go func() { time.Sleep(50 * time.Millisecond); c.Close() }()
			}
			writeTo(t, writerTo(c), dst)
			closeDst()
			c.Close()
			s.Close()
		}
	}()
	if err := goleak.Find(ignore, reaper); err != nil {
		t.Error(err)
	}
	var after int
	for range 50 {
		if after = countFDs(t); after <= before {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after > before {
		t.Errorf("descriptors: %d before, %d after", before, after)
	}
}

// TestWriteToWriteDeadline: the destination's own write deadline stops
// WriteTo when the destination's peer stops reading, with a count that is
// exactly what the peer can then read, as in package net.
func TestWriteToWriteDeadline(t *testing.T) {
	data := pattern(32 << 20)
	for _, dstImpl := range impls {
		t.Run("into "+dstImpl.name, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				c, s := pair(t, im, "tcp")
				go s.Write(data) // ends with an error when the test closes s
				dst, peer := pair(t, dstImpl, "tcp")
				require.NoError(t, dst.SetWriteDeadline(time.Now().Add(300*time.Millisecond)))
				n, err := writeTo(t, writerTo(c), dst)
				require.ErrorIs(t, err, os.ErrDeadlineExceeded)
				var oe *net.OpError
				require.ErrorAs(t, err, &oe)
				require.Equal(t, "writeto", oe.Op)
				require.Greater(t, n, int64(0))
				dst.Close()
				h := sha256.New()
				got, err := io.Copy(h, peer)
				require.NoError(t, err)
				require.Equal(t, n, got, "the count is what the peer received")
				require.Equal(t, sha256.Sum256(data[:n]), [32]byte(h.Sum(nil)))
			})
		})
	}
}

// BenchmarkWriteTo copies 64 MiB from one loopback connection to another
// with WriteTo: a uringnet Conn into a uringnet Conn (splices on the ring)
// beside a *net.TCPConn into a *net.TCPConn (net splices through
// ReadFrom). The sender and the receiver are package net in both.
func BenchmarkWriteTo(b *testing.B) {
	const size = 64 << 20
	data := make([]byte, 1<<20)
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			dial := func() (net.Conn, net.Conn) {
				c, err := im.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				s, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				return c, s
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				src, sender := dial()
				dst, receiver := dial()
				b.StartTimer()
				go func() {
					for range size / len(data) {
						sender.Write(data)
					}
					sender.Close()
				}()
				done := make(chan int64, 1)
				go func() {
					n, _ := io.Copy(io.Discard, receiver)
					done <- n
				}()
				n, err := src.(io.WriterTo).WriteTo(dst)
				dst.Close()
				if err != nil || n != size || <-done != size {
					b.Fatalf("WriteTo = %d, %v", n, err)
				}
				src.Close()
				receiver.Close()
			}
		})
	}
}
