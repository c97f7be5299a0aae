//go:build linux

package core

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestOpAcceptNoWait accepts on a listening socket in blocking mode: with
// nothing queued the operation completes at once with EAGAIN rather than
// waiting, and with a connection queued it takes it.
func TestOpAcceptNoWait(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	ln, sa := ktListen(t, unix.AF_INET) // blocking: no SOCK_NONBLOCK
	accept := func() (fd int, err error) {
		fd = -1
		done := false
		_, err = r.AcceptNoWait(ln, unix.SOCK_CLOEXEC, Ctx{Callback: func(_ Runtime, task *Task) error {
			fd, err, done = task.Fd(), task.Err(), true
			return nil
		}})
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		require.True(t, done, "the operation did not complete")
		return fd, err
	}
	_, err := accept()
	if errors.Is(err, unix.EINVAL) {
		t.Skipf("this kernel has no IORING_ACCEPT_DONTWAIT (Linux 6.10): %v", err)
	}
	require.ErrorIs(t, err, unix.EAGAIN, "with nothing queued")

	client := ktDial(t, unix.AF_INET, sa)
	fd, err := accept()
	require.NoError(t, err)
	require.GreaterOrEqual(t, fd, 0)
	defer unix.Close(fd)
	_, err = unix.Write(client, []byte("hi"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	n, err := unix.Read(fd, buf)
	require.NoError(t, err)
	require.Equal(t, "hi", string(buf[:n]))

	_, err = accept()
	require.ErrorIs(t, err, unix.EAGAIN, "once the queue is empty again")
}
