//go:build linux

package tlsdial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// These tests run the connect state machine on a real core.Ring against
// loopback listeners. Every test checks that no descriptor and no goroutine
// outlives it.

var errCxWatchdog = errors.New("test watchdog: the ring did not finish in time")

func cxRing(t *testing.T) *core.Ring {
	t.Helper()
	r, err := core.New(core.Options{Entries: 64, Backend: testBackend})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// cxRun runs r until cond holds and then until nothing is left in flight,
// failing the test if that takes longer than limit. A Post from a watchdog
// timer wakes a Run(Once) that would otherwise wait for ever.
func cxRun(t *testing.T, r *core.Ring, cond func() bool, limit time.Duration) {
	t.Helper()
	wd := time.AfterFunc(limit, func() {
		_ = r.Post(core.Ctx{Callback: func(core.Runtime, *core.Task) error { return errCxWatchdog }})
	})
	defer wd.Stop()
	for !cond() {
		require.NoError(t, r.Run(core.Once))
	}
	require.NoError(t, r.Run(core.UntilDone))
	require.Equal(t, 0, r.Active(), "operations left in flight")
}

// cxFds counts the process's open descriptors.
func cxFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// cxNoLeaks records the descriptors and goroutines now and checks, when the
// test ends, that no more are left (goroutines are given a moment to exit).
func cxNoLeaks(t *testing.T) {
	t.Helper()
	fds, gs := cxFds(t), runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > gs && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > gs {
			buf := make([]byte, 1<<16)
			t.Errorf("goroutines: %d before, %d after\n%s", gs, n, buf[:runtime.Stack(buf, true)])
		}
		if n := cxFds(t); n != fds {
			t.Errorf("descriptors: %d before, %d after", fds, n)
		}
	})
}

func cxListen(t *testing.T, network, addr string) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln.(*net.TCPListener)
}

// cxV6Listen listens on [::1]:port only (IPV6_V6ONLY).
func cxV6Listen(t *testing.T, port int) *net.TCPListener {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1) })
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(context.Background(), "tcp6", netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port)).String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln.(*net.TCPListener)
}

// cxBlackhole returns the port of a listener on 127.0.0.1 whose accept
// queue is full, so a further connect hangs (its SYNs are dropped).
func cxBlackhole(t *testing.T) int {
	t.Helper()
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = unix.Close(ln) })
	require.NoError(t, unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Listen(ln, 0))
	sa, err := unix.Getsockname(ln)
	require.NoError(t, err)
	port := sa.(*unix.SockaddrInet4).Port
	for range 16 {
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		require.NoError(t, err)
		t.Cleanup(func() { _ = unix.Close(c) })
		err = unix.Connect(c, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
		if err == nil {
			continue
		}
		require.ErrorIs(t, err, unix.EINPROGRESS)
		pfd := []unix.PollFd{{Fd: int32(c), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, 200)
		require.NoError(t, err)
		if n == 0 {
			return port // this one hangs: the queue is full
		}
	}
	t.Fatal("could not fill the accept queue")
	return 0
}

// cxFreePort returns a loopback port nothing listens on.
func cxFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// cxRoundTrip checks that fd is connected to a connection ln accepts:
// "ping" goes over the ring to the peer, "pong" comes back. It closes fd.
func cxRoundTrip(t *testing.T, r *core.Ring, ln *net.TCPListener, fd int) {
	t.Helper()
	require.NoError(t, ln.SetDeadline(time.Now().Add(5*time.Second)))
	srv, err := ln.Accept()
	require.NoError(t, err)
	defer srv.Close()
	_, err = srv.Write([]byte("pong"))
	require.NoError(t, err)

	var sendErr, recvErr error
	var got []byte
	buf := make([]byte, 16)
	sent, recvd := false, false
	_, err = r.Send(fd, []byte("ping"), 0, core.Ctx{Callback: func(_ core.Runtime, task *core.Task) error {
		sent, sendErr = true, task.Err()
		return nil
	}})
	require.NoError(t, err)
	_, err = r.Recv(fd, buf, 0, core.Ctx{Callback: func(_ core.Runtime, task *core.Task) error {
		recvd, recvErr, got = true, task.Err(), buf[:task.N()]
		return nil
	}})
	require.NoError(t, err)
	cxRun(t, r, func() bool { return sent && recvd }, 5*time.Second)
	require.NoError(t, sendErr)
	require.NoError(t, recvErr)
	require.Equal(t, "pong", string(got))

	require.NoError(t, srv.SetReadDeadline(time.Now().Add(5*time.Second)))
	in := make([]byte, 4)
	_, err = srv.Read(in)
	require.NoError(t, err)
	require.Equal(t, "ping", string(in))
	cxClose(t, r, fd)
}

func cxClose(t *testing.T, r *core.Ring, fd int) {
	t.Helper()
	closed := false
	var cerr error
	_, err := r.CloseFd(fd, core.Ctx{Callback: func(_ core.Runtime, task *core.Task) error {
		closed, cerr = true, task.Err()
		return nil
	}})
	require.NoError(t, err)
	cxRun(t, r, func() bool { return closed }, 5*time.Second)
	require.NoError(t, cerr)
}

func TestConnectLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, network, listen, host string
	}{
		{"ipv4 literal", "tcp4", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6 literal", "tcp6", "[::1]:0", "::1"},
		{"localhost", "tcp4", "127.0.0.1:0", "localhost"}, // /etc/hosts: 127.0.0.1 only
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cxRing(t)
			ln := cxListen(t, tc.network, tc.listen)
			cxNoLeaks(t)
			port := uint16(ln.Addr().(*net.TCPAddr).Port)
			var res cxResult
			a, err := ConnectToHost(context.Background(), r, tc.host, port, &Config{Timeout: 5 * time.Second}, res.done)
			require.NoError(t, err)
			require.NotNil(t, a)
			require.Zero(t, res.calls, "done must not run inside ConnectToHost")
			cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
			require.Equal(t, 1, res.calls)
			require.NoError(t, res.err)
			require.GreaterOrEqual(t, res.fd, 0)

			fl, err := unix.FcntlInt(uintptr(res.fd), unix.F_GETFL, 0)
			require.NoError(t, err)
			require.NotZero(t, fl&unix.O_NONBLOCK, "socket is non-blocking")
			fdfl, err := unix.FcntlInt(uintptr(res.fd), unix.F_GETFD, 0)
			require.NoError(t, err)
			require.NotZero(t, fdfl&unix.FD_CLOEXEC, "socket is close-on-exec")

			a.Cancel() // after done: does nothing
			cxRoundTrip(t, r, ln, res.fd)
			require.Equal(t, 1, res.calls)
		})
	}
}

func TestConnectToAddr(t *testing.T) {
	r := cxRing(t)
	ln := cxListen(t, "tcp6", "[::1]:0")
	cxNoLeaks(t)
	var res cxResult
	_, err := ConnectToAddr(context.Background(), r, ln.Addr().(*net.TCPAddr).AddrPort(), nil, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.NoError(t, res.err)
	cxRoundTrip(t, r, ln, res.fd)

	// An IPv4-mapped address is dialled over IPv4, as net does.
	ln4 := cxListen(t, "tcp4", "127.0.0.1:0")
	res = cxResult{}
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), uint16(ln4.Addr().(*net.TCPAddr).Port))
	_, err = ConnectToAddr(context.Background(), r, mapped, nil, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.NoError(t, res.err)
	cxRoundTrip(t, r, ln4, res.fd)
}

func TestConnectRefused(t *testing.T) {
	r := cxRing(t)
	port := cxFreePort(t)
	cxNoLeaks(t)
	var res cxResult
	_, err := ConnectToHost(context.Background(), r, "127.0.0.1", uint16(port), nil, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.Equal(t, -1, res.fd)
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	oe := cxRequireDialErr(t, res.err, addr)
	var se *os.SyscallError
	require.ErrorAs(t, oe.Err, &se)
	require.Equal(t, "connect", se.Syscall)
	require.ErrorIs(t, res.err, syscall.ECONNREFUSED)
	require.False(t, oe.Timeout())

	// The same failure through net reads the same.
	_, nerr := net.Dial("tcp", addr.String())
	require.EqualError(t, res.err, nerr.Error())
}

func TestConnectUnresolvable(t *testing.T) {
	r := cxRing(t)
	cxNoLeaks(t)
	const host = "no-such-host.ourio.invalid"
	var res cxResult
	start := time.Now()
	// nil Lookup: the real resolver, which answers NXDOMAIN at once here.
	_, err := ConnectToHost(context.Background(), r, host, 443, &Config{Timeout: 10 * time.Second}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 15*time.Second)
	t.Logf("resolution failed after %v", time.Since(start))
	cxRequireDialErr(t, res.err, netip.AddrPort{})
	var de *net.DNSError
	require.ErrorAs(t, res.err, &de)
	require.True(t, de.IsNotFound)
	require.Equal(t, host, de.Name)

	_, nerr := net.Dial("tcp", net.JoinHostPort(host, "443"))
	require.EqualError(t, res.err, nerr.Error())
}

func TestConnectLookupEmpty(t *testing.T) {
	r := cxRing(t)
	cxNoLeaks(t)
	var res cxResult
	_, err := ConnectToHost(context.Background(), r, "example.test", 443, &Config{Lookup: staticLookup()}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 5*time.Second)
	var de *net.DNSError
	require.ErrorAs(t, res.err, &de)
	require.True(t, de.IsNotFound)
}

func TestConnectTimeoutConnecting(t *testing.T) {
	r := cxRing(t)
	port := cxBlackhole(t)
	cxNoLeaks(t)
	var res cxResult
	start := time.Now()
	_, err := ConnectToHost(context.Background(), r, "127.0.0.1", uint16(port), &Config{Timeout: 150 * time.Millisecond}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	elapsed := res.at.Sub(start)
	require.Less(t, elapsed, 2*time.Second)
	require.GreaterOrEqual(t, elapsed, 100*time.Millisecond)
	oe := cxRequireDialErr(t, res.err, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
	require.True(t, oe.Timeout())
	require.ErrorIs(t, res.err, context.DeadlineExceeded)
	require.Contains(t, res.err.Error(), "i/o timeout")
}

func TestConnectContextDeadline(t *testing.T) {
	r := cxRing(t)
	port := cxBlackhole(t)
	cxNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var res cxResult
	_, err := ConnectToHost(ctx, r, "127.0.0.1", uint16(port), nil, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	oe := cxRequireDialErr(t, res.err, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
	require.True(t, oe.Timeout())
	require.ErrorIs(t, res.err, context.DeadlineExceeded)
}

func TestConnectTimeoutResolving(t *testing.T) {
	r := cxRing(t)
	cxNoLeaks(t)
	var res cxResult
	start := time.Now()
	_, err := ConnectToHost(context.Background(), r, "slow.example", 443, &Config{Timeout: 100 * time.Millisecond, Lookup: blockingLookup}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.Less(t, res.at.Sub(start), 2*time.Second)
	oe := cxRequireDialErr(t, res.err, netip.AddrPort{})
	require.True(t, oe.Timeout())
	var de *net.DNSError
	require.ErrorAs(t, res.err, &de)
	require.True(t, de.IsTimeout)
	require.Equal(t, "slow.example", de.Name)
	require.ErrorIs(t, res.err, context.DeadlineExceeded)
	require.EqualError(t, res.err, "dial tcp: lookup slow.example: i/o timeout")
	// cxNoLeaks checks that the resolver goroutine has ended.
}

func TestConnectCancelResolving(t *testing.T) {
	r := cxRing(t)
	cxNoLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var res cxResult
	_, err := ConnectToHost(ctx, r, "slow.example", 443, &Config{Lookup: blockingLookup}, res.done)
	require.NoError(t, err)
	time.AfterFunc(50*time.Millisecond, cancel)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	cxRequireDialErr(t, res.err, netip.AddrPort{})
	var de *net.DNSError
	require.ErrorAs(t, res.err, &de)
	require.ErrorIs(t, res.err, context.Canceled)
	require.EqualError(t, res.err, "dial tcp: lookup slow.example: operation was canceled")
}

func TestConnectCancelConnecting(t *testing.T) {
	r := cxRing(t)
	port := cxBlackhole(t)
	cxNoLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var res cxResult
	_, err := ConnectToHost(ctx, r, "127.0.0.1", uint16(port), &Config{Timeout: 10 * time.Second}, res.done)
	require.NoError(t, err)
	time.AfterFunc(50*time.Millisecond, cancel)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	oe := cxRequireDialErr(t, res.err, addr)
	require.False(t, oe.Timeout())
	require.ErrorIs(t, res.err, context.Canceled)
	require.EqualError(t, res.err, "dial tcp "+addr.String()+": operation was canceled")
}

func TestConnectAlreadyCanceled(t *testing.T) {
	r := cxRing(t)
	port := cxFreePort(t)
	cxNoLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		var res cxResult
		_, err := ConnectToHost(ctx, r, host, uint16(port), nil, res.done)
		require.NoError(t, err)
		cxRun(t, r, func() bool { return res.calls > 0 }, 5*time.Second)
		require.ErrorIs(t, res.err, context.Canceled)
		if host == "localhost" {
			// net's own answer for a name is a race inside its resolver
			// between the lookup result and ctx.Done: it reports either the
			// lookup or the dial as cancelled. We report the lookup.
			require.EqualError(t, res.err, "dial tcp: lookup localhost: operation was canceled")
			continue
		}
		_, nerr := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, "1"))
		require.Equal(t, nerr.Error(), replacePort(res.err.Error(), port))
	}
}

// replacePort turns ":port" into ":1" so messages compare with a dial to
// port 1.
func replacePort(s string, port int) string {
	return strings.Replace(s, ":"+strconv.Itoa(port), ":1", 1)
}

func TestAttemptCancel(t *testing.T) {
	r := cxRing(t)
	port := cxBlackhole(t)
	cxNoLeaks(t)
	var res cxResult
	a, err := ConnectToHost(context.Background(), r, "127.0.0.1", uint16(port), nil, res.done)
	require.NoError(t, err)
	fired := false
	_, err = r.Timer(50*time.Millisecond, core.Ctx{Callback: func(core.Runtime, *core.Task) error {
		require.True(t, a.primary.busy, "the connect is in flight")
		a.Cancel()
		require.Zero(t, res.calls, "done runs from a later completion, not from Cancel")
		a.Cancel() // twice is harmless
		fired = true
		return nil
	}})
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.True(t, fired)
	require.Equal(t, 1, res.calls)
	require.ErrorIs(t, res.err, context.Canceled)
	cxRequireDialErr(t, res.err, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
}

func TestAttemptCancelBeforeStart(t *testing.T) {
	r := cxRing(t)
	cxNoLeaks(t)
	var res cxResult
	a, err := ConnectToHost(context.Background(), r, "slow.example", 443, &Config{Lookup: blockingLookup}, res.done)
	require.NoError(t, err)
	a.Cancel()
	cxRun(t, r, func() bool { return res.calls > 0 }, 5*time.Second)
	require.Equal(t, 1, res.calls)
	require.ErrorIs(t, res.err, context.Canceled)
	var de *net.DNSError
	require.ErrorAs(t, res.err, &de)
}

func TestConnectSerialFallback(t *testing.T) {
	// Same family: the first address is refused, the second connects.
	r := cxRing(t)
	ln := cxListen(t, "tcp4", "127.0.0.1:0")
	cxNoLeaks(t)
	var res cxResult
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	_, err := ConnectToHost(context.Background(), r, "multi.example", port,
		&Config{Timeout: 5 * time.Second, Lookup: staticLookup("127.0.0.2", "127.0.0.1")}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.NoError(t, res.err)
	cxRoundTrip(t, r, ln, res.fd)
}

func TestConnectFamilyFallbackAfterRefused(t *testing.T) {
	// The IPv4 primary is refused; the IPv6 fallback starts at once rather
	// than after FallbackDelay, and connects.
	r := cxRing(t)
	port := cxFreePort(t)
	ln := cxV6Listen(t, port)
	cxNoLeaks(t)
	var res cxResult
	start := time.Now()
	_, err := ConnectToHost(context.Background(), r, "dual.example", uint16(port),
		&Config{FallbackDelay: 10 * time.Second, Lookup: staticLookup("127.0.0.1", "::1")}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.NoError(t, res.err)
	require.Less(t, res.at.Sub(start), 5*time.Second)
	cxRoundTrip(t, r, ln, res.fd)
}

func TestConnectFamilyRace(t *testing.T) {
	// The IPv4 primary hangs; the IPv6 fallback starts after FallbackDelay
	// and wins; the primary's connect is cancelled and its socket closed.
	r := cxRing(t)
	port := cxBlackhole(t)
	ln := cxV6Listen(t, port)
	cxNoLeaks(t)
	var res cxResult
	start := time.Now()
	_, err := ConnectToHost(context.Background(), r, "dual.example", uint16(port),
		&Config{FallbackDelay: 50 * time.Millisecond, Lookup: staticLookup("127.0.0.1", "::1")}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	require.NoError(t, res.err)
	elapsed := res.at.Sub(start)
	require.GreaterOrEqual(t, elapsed, 40*time.Millisecond)
	require.Less(t, elapsed, 5*time.Second)
	sa, err := unix.Getpeername(res.fd)
	require.NoError(t, err)
	require.IsType(t, &unix.SockaddrInet6{}, sa)
	cxRoundTrip(t, r, ln, res.fd)
}

func TestConnectAllFail(t *testing.T) {
	// Every address is refused: the first address's error is returned.
	r := cxRing(t)
	port := cxFreePort(t)
	cxNoLeaks(t)
	var res cxResult
	_, err := ConnectToHost(context.Background(), r, "dead.example", uint16(port),
		&Config{FallbackDelay: 20 * time.Millisecond, Lookup: staticLookup("127.0.0.2", "::1", "127.0.0.3")}, res.done)
	require.NoError(t, err)
	cxRun(t, r, func() bool { return res.calls > 0 }, 10*time.Second)
	cxRequireDialErr(t, res.err, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(port)))
	require.ErrorIs(t, res.err, syscall.ECONNREFUSED)
}

func TestConnectArguments(t *testing.T) {
	r := cxRing(t)
	_, err := ConnectToHost(context.Background(), r, "x", 1, nil, nil)
	require.Error(t, err)
	_, err = ConnectToHost(context.Background(), nil, "x", 1, nil, func(core.Runtime, int, error) error { return nil })
	require.Error(t, err)
	_, err = ConnectToAddr(context.Background(), r, netip.AddrPort{}, nil, func(core.Runtime, int, error) error { return nil })
	require.Error(t, err)
	require.Panics(t, func() {
		//lint:ignore SA1012 a nil context must panic, as for net.Dialer
		_, _ = ConnectToHost(nil, r, "x", 1, nil, func(core.Runtime, int, error) error { return nil })
	})
}

func TestMakeTarget(t *testing.T) {
	tg := makeTarget(netip.MustParseAddr("::ffff:192.0.2.1"), 80)
	require.Equal(t, unix.AF_INET, tg.family)
	require.Equal(t, &unix.SockaddrInet4{Port: 80, Addr: [4]byte{192, 0, 2, 1}}, tg.sa)

	lo, err := net.InterfaceByName("lo")
	require.NoError(t, err)
	for _, zone := range []string{"lo", strconv.Itoa(lo.Index)} {
		tg = makeTarget(netip.MustParseAddr("fe80::1%"+zone), 443)
		require.Equal(t, unix.AF_INET6, tg.family)
		require.Equal(t, uint32(lo.Index), tg.sa.(*unix.SockaddrInet6).ZoneId)
		require.Equal(t, "[fe80::1%"+zone+"]:443", (&Attempt{}).targetErr(&tg, nil).(*net.OpError).Addr.String())
	}
	require.Zero(t, makeTarget(netip.MustParseAddr("fe80::1%no-such-if0"), 1).sa.(*unix.SockaddrInet6).ZoneId)
}

func TestPartialDeadline(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		remaining time.Duration
		addrs     int
		want      time.Duration
	}{
		{10 * time.Second, 1, 10 * time.Second},
		{10 * time.Second, 2, 5 * time.Second},
		{10 * time.Second, 10, 2 * time.Second}, // at least two seconds
		{time.Second, 3, time.Second},           // unless less is left
		{0, 3, 0},
	} {
		require.Equal(t, now.Add(tc.want), partialDeadline(now, now.Add(tc.remaining), tc.addrs), "%+v", tc)
	}
}
