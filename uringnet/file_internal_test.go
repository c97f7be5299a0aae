//go:build linux

package uringnet

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// epollWatches reports whether e's epoll instance watches the socket f
// holds, by the inode /proc/self/fdinfo lists for each watched descriptor.
func epollWatches(t *testing.T, e *engine, f *os.File) bool {
	t.Helper()
	var st syscall.Stat_t
	require.NoError(t, syscall.Fstat(int(f.Fd()), &st))
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", e.ep))
	require.NoError(t, err)
	for _, line := range strings.Split(string(info), "\n") {
		if !strings.HasPrefix(line, "tfd:") {
			continue
		}
		for _, field := range strings.Fields(line) {
			if ino, ok := strings.CutPrefix(field, "ino:"); ok {
				if n, err := strconv.ParseUint(ino, 16, 64); err == nil && n == st.Ino {
					return true
				}
			}
		}
	}
	return false
}

// TestCloseUnwatchesSharedSocket checks that closing a conn takes its
// socket out of the ring's epoll instance even while its File keeps the
// socket open, which closing the descriptor alone does not.
func TestCloseUnwatchesSharedSocket(t *testing.T) {
	clients, servers := connPairs(t, 1)
	c := clients[0]
	require.GreaterOrEqual(t, c.fd.e.ep, 0, "the conn's engine has no epoll instance")
	f, err := c.File()
	require.NoError(t, err)
	defer f.Close()
	require.True(t, epollWatches(t, c.fd.e, f), "the open conn's socket is not watched")
	require.NoError(t, c.Close())
	require.False(t, epollWatches(t, c.fd.e, f), "the closed conn's socket is still watched through its File")
	// The socket lives on through the file.
	_, err = servers[0].Write([]byte("x"))
	require.NoError(t, err)
	b := make([]byte, 1)
	_, err = f.Read(b)
	require.NoError(t, err)
}

// TestSharedAcceptWithoutNoWait runs a shared listener's Accept the way it
// runs on kernels without AcceptNoWait: polls, then direct accept4s.
func TestSharedAcceptWithoutNoWait(t *testing.T) {
	was := acceptNoWaitMissing.Load()
	acceptNoWaitMissing.Store(true)
	defer acceptNoWaitMissing.Store(was)
	l, err := Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := l.(*Listener)
	defer ln.Close()
	f, err := ln.File()
	require.NoError(t, err)
	defer f.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it wait in its poll
	c, err := Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	select {
	case err := <-accepted:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the Accept waiting in its poll did not take the connection")
	}
	require.NoError(t, ln.SetDeadline(time.Now().Add(30*time.Millisecond)))
	_, err = ln.Accept()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, ln.SetDeadline(time.Time{}))
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, ln.Close())
	select {
	case err := <-accepted:
		require.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the Accept waiting in its poll")
	}
}
