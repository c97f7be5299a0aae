//go:build linux

package uringnet

import (
	"crypto/sha256"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSpliceFrom drives the splice path itself (file → pipe → socket on
// the ring) and checks every byte and the count.
func TestSpliceFrom(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := (&Dialer{NoFallback: true}).Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	s, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()

	data := make([]byte, 3<<20+5)
	for i := range data {
		data[i] = byte(i ^ i>>8)
	}
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	got := make(chan [32]byte, 1)
	go func() {
		b, _ := io.ReadAll(s)
		got <- sha256.Sum256(b)
	}()
	rc, err := f.SyscallConn()
	require.NoError(t, err)
	var n int64
	require.NoError(t, rc.Control(func(fd uintptr) {
		n, err = c.(*Conn).spliceFrom(int(fd), 7, int64(len(data)-7))
	}))
	require.NoError(t, err)
	require.Equal(t, int64(len(data)-7), n)
	require.NoError(t, c.(*Conn).CloseWrite())
	require.Equal(t, sha256.Sum256(data[7:]), <-got)
}
