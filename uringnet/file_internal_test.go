package uringnet

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

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
