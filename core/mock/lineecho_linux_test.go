package mock_test

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestLineServerOnRing runs the line server of lineecho_test.go on a
// kernel ring, which exists only on Linux, so that the mock's results are
// checked against the kernel's.
func TestLineServerOnRing(t *testing.T) {
	r, err := core.New(core.Options{Entries: 64})
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer r.Close()

	lfd, port := listenLoopback(t)
	defer unix.Close(lfd)

	received := make(chan []byte, 1)
	go func() {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			received <- []byte(err.Error())
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		for _, part := range []string{clientInput[:9], clientInput[9:15], clientInput[15:]} {
			c.Write([]byte(part))
			time.Sleep(5 * time.Millisecond)
		}
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		received <- b
	}()

	s := &lineServer{lfd: lfd, acceptFlags: unix.SOCK_CLOEXEC}
	require.NoError(t, s.start(r))
	require.NoError(t, r.Run(core.UntilDone))
	checkLineServer(t, s, <-received)
}

func listenLoopback(t *testing.T) (fd, port int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Listen(fd, 8))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	return fd, sa.(*unix.SockaddrInet4).Port
}
