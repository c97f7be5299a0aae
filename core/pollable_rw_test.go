//go:build linux

package core

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestReadWaitsOnPipe: a Read of an empty pipe and a Readv of an empty
// socket wait until data comes, then complete with it; a Writev to a
// socket whose buffer is full waits until the peer drains it. On epoll
// these are the readiness paths of read, readv and writev (the regular
// file tests take the worker pool).
func TestReadWaitsOnPipe(t *testing.T) {
	r := ktRing(t, Options{Entries: 16})
	rd, wr := ktPipe(t)
	var rec ktRec
	buf := make([]byte, 16)
	_, err := r.Read(rd, buf, -1, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	require.Empty(t, rec.list, "a read of an empty pipe completed")
	_, err = unix.Write(wr, []byte("pipe"))
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(rec.list) == 1 })
	require.NoError(t, rec.list[0].err)
	require.Equal(t, "pipe", string(buf[:rec.list[0].n]))

	a, b := ktSocketPair(t)
	p1, p2 := make([]byte, 2), make([]byte, 8)
	_, err = r.Readv(b, [][]byte{p1, p2}, -1, Ctx{Callback: rec.cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 1)
	_, err = unix.Write(a, []byte("vector"))
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(rec.list) == 2 })
	require.Equal(t, 6, rec.list[1].n)
	require.Equal(t, "vector", string(p1)+string(p2[:4]))

	// Fill a's send buffer, then a Writev must wait for b to read.
	require.NoError(t, unix.SetNonblock(a, true))
	chunk := bytes.Repeat([]byte("z"), 4096)
	filled := 0
	for {
		n, err := unix.Write(a, chunk)
		if err == unix.EAGAIN {
			break
		}
		require.NoError(t, err)
		filled += n
	}
	_, err = r.Writev(a, [][]byte{[]byte("tail-"), []byte("end")}, -1, Ctx{Callback: rec.cb, Msg: 3})
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 2, "a writev to a full socket completed")
	drain := make([]byte, 1<<16)
	got := 0
	for got < filled {
		n, err := unix.Read(b, drain)
		require.NoError(t, err)
		got += n
	}
	ktRunUntil(t, r, func() bool { return len(rec.list) == 3 })
	require.NoError(t, rec.list[2].err)
	require.Equal(t, 8, rec.list[2].n)
}
