//go:build linux

package uringnet

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDatagramReadAfterWaitGoesToTheRing checks onRing's ringFirst: a
// datagram read that had to wait sends the next read to the ring without
// a direct attempt, a read the ring finished as it was submitted (the
// socket had a datagram) sends the next back to the direct attempt, and
// every datagram arrives once, in order, whichever way it was read.
func TestDatagramReadAfterWaitGoesToTheRing(t *testing.T) {
	pc, err := ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	c := pc.(*UDPConn)
	defer c.Close()
	peer, err := net.DialUDP("udp4", nil, c.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	defer peer.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	s, e := &c.fd.rd, c.fd.e

	// attempts counts the direct receive attempts on c; the hook runs on
	// the reading goroutine, which the test joins before looking.
	var attempts int
	testHookDirectAttempt = func(f *netFD, kind int) {
		if f == c.fd && kind == kindRecvmsg {
			attempts++
		}
	}
	defer func() { testHookDirectAttempt = nil }()

	type result struct {
		got string
		err error
	}
	read := func() <-chan result {
		attempts = 0
		ch := make(chan result, 1)
		go func() {
			b := make([]byte, 64)
			n, _, err := c.ReadFrom(b)
			ch <- result{string(b[:n]), err}
		}()
		return ch
	}
	check := func(ch <-chan result, want string, wantAttempts int, wantRingFirst bool) {
		t.Helper()
		r := <-ch
		require.NoError(t, r.err)
		require.Equal(t, want, r.got)
		require.Equal(t, wantAttempts, attempts, "direct attempts reading %q", want)
		require.Equal(t, wantRingFirst, s.ringFirst, "ringFirst after reading %q", want)
	}
	waitOnRing := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			e.mu.Lock()
			st := s.op.state
			e.mu.Unlock()
			if st == opRing {
				return
			}
			require.True(t, time.Now().Before(deadline), "the read never waited on the ring")
			time.Sleep(time.Millisecond)
		}
	}
	send := func(m string) {
		t.Helper()
		_, err := peer.Write([]byte(m))
		require.NoError(t, err)
	}

	// A read of an empty socket waits on the ring, and the next skips
	// its attempt: only the first tries the socket.
	for i, m := range []string{"a", "b", "c"} {
		ch := read()
		waitOnRing()
		send(m)
		want := 0
		if i == 0 {
			want = 1
		}
		check(ch, m, want, true)
	}

	// A datagram already queued: the read, sent to the ring, finishes
	// as it is submitted, so the next tries the socket directly.
	for i, m := range []string{"d", "e"} {
		send(m)
		waitQueued(t, c)
		check(read(), m, i, false)
	}
}

// waitQueued waits until a datagram is queued on c's socket.
func waitQueued(t *testing.T, c *UDPConn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := unix.IoctlGetInt(c.fd.fd, unix.SIOCINQ)
		require.NoError(t, err)
		if n > 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "the datagram never arrived")
		time.Sleep(time.Millisecond)
	}
}
