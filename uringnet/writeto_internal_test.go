//go:build linux

package uringnet

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeToSource returns a uringnet conn whose peer sends data and closes.
func writeToSource(t *testing.T, data []byte) *Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := (&Dialer{NoFallback: true}).Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(); s.Close() })
	go func() { s.Write(data); s.Close() }()
	return c.(*Conn)
}

// TestSinkFor: WriteTo splices into exactly the destinations that take a
// splice whole, and copies into the rest.
func TestSinkFor(t *testing.T) {
	c := writeToSource(t, nil)
	dir := t.TempDir()
	open := func(name string, flag int) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), flag|os.O_CREATE, 0o600)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer tcpLn.Close()
	tcp, err := net.Dial("tcp", tcpLn.Addr().String())
	require.NoError(t, err)
	defer tcp.Close()
	unixLn, err := net.Listen("unix", filepath.Join(dir, "s"))
	require.NoError(t, err)
	defer unixLn.Close()
	unixc, err := net.Dial("unix", unixLn.Addr().String())
	require.NoError(t, err)
	defer unixc.Close()
	gramLn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "g"), Net: "unixgram"})
	require.NoError(t, err)
	defer gramLn.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer udp.Close()

	for name, dst := range map[string]io.Writer{
		"uringnet conn": c, "tcp": tcp, "unix": unixc, "pipe": w,
		"file": open("rw", os.O_RDWR), "write-only file": open("w", os.O_WRONLY),
	} {
		require.NotNil(t, c.sinkFor(dst), name)
	}
	for name, dst := range map[string]io.Writer{
		"unixgram": gramLn, "udp": udp.(*net.UDPConn), "buffer": new(bytes.Buffer),
		"read end of a pipe": r, "read-only file": open("rw", os.O_RDONLY),
		"append file": open("a", os.O_WRONLY|os.O_APPEND), "wrapped file": struct{ io.Writer }{w},
	} {
		require.Nil(t, c.sinkFor(dst), name)
	}
}

// TestSpliceRescue: when w refuses the splice out of the pipe (an O_APPEND
// file, forced past sinkFor), the bytes already taken from the socket are
// written to w by Write, and the rest is copied; none is lost.
func TestSpliceRescue(t *testing.T) {
	data := make([]byte, 3<<20+11)
	for i := range data {
		data[i] = byte(i ^ i>>9)
	}
	c := writeToSource(t, data)
	path := filepath.Join(t.TempDir(), "a")
	require.NoError(t, os.WriteFile(path, []byte("head"), 0o600))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer f.Close()
	rc, err := f.SyscallConn()
	require.NoError(t, err)
	refused := 0
	sink := newRawSink(c, rc, func(err error) error { refused++; return err })
	n, handled, err := c.spliceVia(sink, f)
	require.NoError(t, err)
	require.True(t, handled)
	require.Equal(t, 1, refused, "the splice into w was tried once and refused")
	require.Equal(t, int64(len(data)), n)
	all, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(append([]byte("head"), data...), all))
}

// TestSpliceToSplices checks that WriteTo's splice path carries the bytes
// for the destinations it picks, rather than giving up and leaving them to
// the buffered copy, which the tests from outside cannot tell apart.
func TestSpliceToSplices(t *testing.T) {
	data := make([]byte, 2<<20+5)
	for i := range data {
		data[i] = byte(i*13 ^ i>>7)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	n, handled, err := writeToSource(t, data).spliceTo(f)
	require.NoError(t, err)
	require.True(t, handled, "a tcp socket into a file went through the buffered copy")
	require.Equal(t, int64(len(data)), n)
	got, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))

	clients, servers := connPairs(t, 1)
	copied := make(chan error, 1)
	go func() {
		n, handled, err := writeToSource(t, data).spliceTo(servers[0])
		if err == nil && (!handled || n != int64(len(data))) {
			err = io.ErrShortWrite
		}
		servers[0].CloseWrite()
		copied <- err
	}()
	got, err = io.ReadAll(clients[0])
	require.NoError(t, err)
	require.NoError(t, <-copied, "a tcp socket into a uringnet conn was not spliced whole")
	require.True(t, bytes.Equal(data, got))
}
