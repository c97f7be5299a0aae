//go:build linux

package tlsdial

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// hsPlainPair connects a ringConn on r to a plain net.Conn server end.
func hsPlainPair(t *testing.T, r *core.Ring) (*ringConn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	fd := hsDialFd(t, ln.Addr())
	srv, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	rc, err := newRingConn(r, fd)
	require.NoError(t, err)
	return rc, srv
}

func hsRequireTimeout(t *testing.T, err error, op string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout())
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, op, oe.Op)
}

func TestRingConnReadWriteAddrs(t *testing.T) {
	r := hsNewRing(t)
	leaks := hsStartLeakCheck(t)
	rc, srv := hsPlainPair(t, r)
	require.Equal(t, srv.RemoteAddr().String(), rc.LocalAddr().String())
	require.Equal(t, srv.LocalAddr().String(), rc.RemoteAddr().String())

	require.NoError(t, hsRunWhile(t, r, 5*time.Second, func() error {
		if n, err := rc.Write([]byte("ping")); err != nil || n != 4 {
			return errors.Join(err, io.ErrShortWrite)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(srv, buf); err != nil || string(buf) != "ping" {
			return errors.Join(err, errors.New("server got "+string(buf)))
		}
		if _, err := srv.Write([]byte("pong")); err != nil {
			return err
		}
		if _, err := io.ReadFull(rc, buf); err != nil || string(buf) != "pong" {
			return errors.Join(err, errors.New("client got "+string(buf)))
		}
		n, err := rc.Read(nil)
		if n != 0 || err != nil {
			return errors.New("zero-length read")
		}
		// Orderly close by the peer is a bare io.EOF, as with net.
		srv.Close()
		if _, err := rc.Read(buf); err != io.EOF {
			return errors.Join(errors.New("want io.EOF"), err)
		}
		return nil
	}))
	require.NoError(t, hsRunWhile(t, r, 5*time.Second, rc.Close))
	leaks.wait(t, r)
}

func TestRingConnDeadlines(t *testing.T) {
	r := hsNewRing(t)
	leaks := hsStartLeakCheck(t)
	rc, srv := hsPlainPair(t, r)
	buf := make([]byte, 16)

	// A deadline already passed fails at once, without the ring.
	require.NoError(t, rc.SetDeadline(time.Now().Add(-time.Second)))
	_, err := rc.Read(buf)
	hsRequireTimeout(t, err, "read")
	_, err = rc.Write(buf)
	hsRequireTimeout(t, err, "write")
	require.NoError(t, rc.SetDeadline(time.Time{}))

	read := func(setup func()) (string, time.Duration, error) {
		start := time.Now()
		var n int
		err := hsRunWhile(t, r, 10*time.Second, func() error {
			setup()
			var err error
			n, err = rc.Read(buf)
			return err
		})
		return string(buf[:n]), time.Since(start), err
	}
	later := func(d time.Duration, f func()) { time.AfterFunc(d, f) }

	t.Run("Expires", func(t *testing.T) {
		_, took, err := read(func() { require.NoError(t, rc.SetReadDeadline(time.Now().Add(100*time.Millisecond))) })
		hsRequireTimeout(t, err, "read")
		require.GreaterOrEqual(t, took, 100*time.Millisecond)
		require.Less(t, took, 3*time.Second)
	})
	t.Run("ExtendedWhilePending", func(t *testing.T) {
		got, took, err := read(func() {
			require.NoError(t, rc.SetReadDeadline(time.Now().Add(150*time.Millisecond)))
			later(50*time.Millisecond, func() { _ = rc.SetReadDeadline(time.Now().Add(5 * time.Second)) })
			later(400*time.Millisecond, func() { _, _ = srv.Write([]byte("late")) })
		})
		require.NoError(t, err)
		require.Equal(t, "late", got)
		require.GreaterOrEqual(t, took, 400*time.Millisecond)
	})
	t.Run("ClearedWhilePending", func(t *testing.T) {
		got, _, err := read(func() {
			require.NoError(t, rc.SetReadDeadline(time.Now().Add(150*time.Millisecond)))
			later(50*time.Millisecond, func() { _ = rc.SetReadDeadline(time.Time{}) })
			later(400*time.Millisecond, func() { _, _ = srv.Write([]byte("later")) })
		})
		require.NoError(t, err)
		require.Equal(t, "later", got)
	})
	t.Run("ShortenedWhilePending", func(t *testing.T) {
		_, took, err := read(func() {
			require.NoError(t, rc.SetReadDeadline(time.Time{}))
			later(50*time.Millisecond, func() { _ = rc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)) })
		})
		hsRequireTimeout(t, err, "read")
		require.Less(t, took, 3*time.Second)
	})
	t.Run("UsableAfterTimeout", func(t *testing.T) {
		got, _, err := read(func() {
			require.NoError(t, rc.SetReadDeadline(time.Time{}))
			_, _ = srv.Write([]byte("again"))
		})
		require.NoError(t, err)
		require.Equal(t, "again", got)
	})
	t.Run("WriteTimeout", func(t *testing.T) {
		// The server does not read: a large write fills the socket buffers.
		big := make([]byte, 64<<20)
		var n int
		err := hsRunWhile(t, r, 10*time.Second, func() error {
			require.NoError(t, rc.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
			var err error
			n, err = rc.Write(big)
			return err
		})
		hsRequireTimeout(t, err, "write")
		require.Less(t, n, len(big))
		require.NoError(t, rc.SetWriteDeadline(time.Time{}))
	})
	require.NoError(t, hsRunWhile(t, r, 5*time.Second, rc.Close))
	srv.Close()
	leaks.wait(t, r)
}

func TestRingConnClose(t *testing.T) {
	r := hsNewRing(t)
	leaks := hsStartLeakCheck(t)
	rc, srv := hsPlainPair(t, r)
	fd := rc.fd

	readErr := make(chan error, 1)
	go func() {
		_, err := rc.Read(make([]byte, 8))
		readErr <- err
	}()
	// Let the read reach the kernel, then close under it.
	hsDrive(t, r, func() bool { return rc.rd.pending }, 5*time.Second)
	require.NoError(t, hsRunWhile(t, r, 5*time.Second, rc.Close))
	err := <-readErr
	require.ErrorIs(t, err, net.ErrClosed)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "read", oe.Op)

	_, err = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.ErrorIs(t, err, unix.EBADF, "descriptor still open after Close")

	require.ErrorIs(t, rc.Close(), net.ErrClosed)
	_, err = rc.Write([]byte("x"))
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = rc.Read(make([]byte, 1))
	require.ErrorIs(t, err, net.ErrClosed)
	require.ErrorIs(t, rc.SetDeadline(time.Now()), net.ErrClosed)
	srv.Close()
	leaks.wait(t, r)
}

// TestRingConnSteadyStateAllocs checks a Read and a Write through the ring
// allocate nothing once warm: the messages carry the conn and the result
// channels are reused.
func TestRingConnSteadyStateAllocs(t *testing.T) {
	r := hsNewRing(t)
	rc, srv := hsPlainPair(t, r)
	// The ring runs on its own goroutine here, so AllocsPerRun can measure
	// the caller's side; nothing else touches r until stop is set.
	stop := make(chan struct{})
	ringDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				ringDone <- nil
				return
			default:
			}
			if _, err := r.Timer(20*time.Millisecond, core.Ctx{}); err != nil {
				ringDone <- err
				return
			}
			if err := r.Run(core.Once); err != nil {
				ringDone <- err
				return
			}
		}
	}()
	msg, in, echo := []byte("0123456789abcdef"), make([]byte, 16), make([]byte, 16)
	round := func() {
		if _, err := rc.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(srv, echo); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Write(echo); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rc, in); err != nil {
			t.Fatal(err)
		}
	}
	// Bounded: a stuck round fails on these deadlines instead of hanging.
	require.NoError(t, rc.SetDeadline(time.Now().Add(20*time.Second)))
	require.NoError(t, srv.SetDeadline(time.Now().Add(20*time.Second)))
	round()
	allocs := testing.AllocsPerRun(200, round)
	close(stop)
	require.NoError(t, <-ringDone)
	t.Logf("%.2f allocations per round trip", allocs)
	require.LessOrEqual(t, allocs, 0.5)
	require.NoError(t, hsRunWhile(t, r, 5*time.Second, rc.Close))
}
