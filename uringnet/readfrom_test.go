//go:build linux

package uringnet_test

import (
	"crypto/sha256"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
)

// readFromPair returns a uringnet client conn and the accepted package net
// server side.
func readFromPair(t *testing.T) (*uringnet.Conn, net.Conn) {
	c, s := dialedPair(t, uringImpl)
	return c.(*uringnet.Conn), s
}

// dialedPair returns a client conn of im and the package net server side
// it dialed, both closed when tb ends.
func dialedPair(tb testing.TB, im impl) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	c, err := im.Dial("tcp", ln.Addr().String())
	require.NoError(tb, err)
	s, err := ln.Accept()
	require.NoError(tb, err)
	tb.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func tempFile(t *testing.T, size int) (*os.File, []byte) {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f, data
}

// TestReadFromFileSplices sends a file through ReadFrom from an offset, as
// net/http's file serving does (io.CopyN hands it an io.LimitedReader around
// the file), with a slow reader so the socket fills up, and checks the bytes
// by hash and the file offset afterwards.
func TestReadFromFileSplices(t *testing.T) {
	c, s := readFromPair(t)
	f, data := tempFile(t, 8<<20+123)
	_, err := f.Seek(1000, io.SeekStart)
	require.NoError(t, err)
	got := make(chan [32]byte, 1)
	go func() {
		h := sha256.New()
		buf := make([]byte, 32<<10)
		for {
			n, err := s.Read(buf)
			h.Write(buf[:n])
			if err != nil {
				break
			}
			time.Sleep(20 * time.Microsecond)
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		got <- sum
	}()
	n, err := io.CopyN(c, f, int64(len(data)-1000))
	require.NoError(t, err)
	require.Equal(t, int64(len(data)-1000), n)
	pos, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), pos)
	require.NoError(t, c.CloseWrite())
	require.Equal(t, sha256.Sum256(data[1000:]), <-got)
}

func TestReadFromLimitedAndGeneric(t *testing.T) {
	c, s := readFromPair(t)
	f, data := tempFile(t, 100000)
	lr := &io.LimitedReader{R: f, N: 5000}
	n, err := c.ReadFrom(lr)
	require.NoError(t, err)
	require.Equal(t, int64(5000), n)
	require.Zero(t, lr.N)
	// A reader that is not a file is copied through a buffer.
	n, err = c.ReadFrom(strings.NewReader("tail"))
	require.NoError(t, err)
	require.Equal(t, int64(4), n)
	require.NoError(t, c.CloseWrite())
	all, err := io.ReadAll(s)
	require.NoError(t, err)
	require.Equal(t, append(append([]byte{}, data[:5000]...), "tail"...), all)
}

// TestReadFromDeadline: a peer that never reads makes the splice wait, and
// the write deadline ends it with os.ErrDeadlineExceeded, reporting exactly
// the bytes that reached the socket.
func TestReadFromDeadline(t *testing.T) {
	c, s := readFromPair(t)
	f, _ := tempFile(t, 64<<20)
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
	n, err := c.ReadFrom(f)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.Greater(t, n, int64(0))
	pos, _ := f.Seek(0, io.SeekCurrent)
	require.Equal(t, n, pos, "the file offset stops where the socket stopped")
	require.NoError(t, c.SetWriteDeadline(time.Time{}))
	require.NoError(t, c.CloseWrite())
	got, err := io.Copy(io.Discard, s)
	require.NoError(t, err)
	require.Equal(t, n, got, "the peer receives exactly what ReadFrom reported")
}
