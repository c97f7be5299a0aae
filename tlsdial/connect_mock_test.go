package tlsdial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
)

// These tests drive the connect state machine with core/mock: socket and
// connect results are scripted, timers fire on the mock's clock, and the
// mock fails the test if a descriptor it handed out is never closed.

// cxResult records the one call of a ConnectFunc.
type cxResult struct {
	calls int
	fd    int
	err   error
	at    time.Time
}

func (res *cxResult) done(_ core.Runtime, fd int, err error) error {
	res.calls++
	res.fd, res.err, res.at = fd, err, time.Now()
	return nil
}

// staticLookup answers every lookup with addrs.
func staticLookup(addrs ...string) func(context.Context, string) ([]netip.Addr, error) {
	return func(context.Context, string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

// blockingLookup blocks until ctx is done and returns its error, as a
// resolver that gets no answer does.
func blockingLookup(ctx context.Context, _ string) ([]netip.Addr, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// cxRequireDialErr checks the shape net gives a failed dial: a *net.OpError
// with Op "dial" and Net "tcp", and addr as its Addr (nil for none).
func cxRequireDialErr(t *testing.T, err error, addr netip.AddrPort) *net.OpError {
	t.Helper()
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "dial", oe.Op)
	require.Equal(t, "tcp", oe.Net)
	require.Nil(t, oe.Source)
	if addr.IsValid() {
		ta, ok := oe.Addr.(*net.TCPAddr)
		require.True(t, ok, "Addr is %T", oe.Addr)
		require.Equal(t, addr, ta.AddrPort())
	} else {
		require.Nil(t, oe.Addr)
	}
	return oe
}

// cxDrive runs m until cond holds. Results posted from goroutines (the
// resolver, the context watch) arrive asynchronously, so it runs the mock
// again until they have.
func cxDrive(t *testing.T, m *mock.Ring, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		require.NoError(t, m.Run(core.UntilDone))
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// cxMockDone records the outcome and closes a connected socket, as an
// owner of the fd must.
func (res *cxResult) mockDone(rt core.Runtime, fd int, err error) error {
	_ = res.done(rt, fd, err)
	if fd >= 0 {
		_, cerr := rt.CloseFd(fd, core.Ctx{})
		return cerr
	}
	return nil
}

// connecting reports whether r has a connect in flight on fd.
func (r *racer) connecting(fd int) bool { return r.busy && r.fd == fd }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestMockResolveRefusedThenConnected(t *testing.T) {
	m := mock.New(t)
	var asked atomic.Value
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		asked.Store(host)
		return []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}, nil
	}
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	m.Script(5, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
	m.Script(6, core.OpConnect, mock.OK())
	var res cxResult
	_, err := ConnectToHost(context.Background(), m, "example.test", 443, &Config{Lookup: lookup}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 })
	require.Equal(t, "example.test", asked.Load())
	require.NoError(t, res.err)
	require.Equal(t, 6, res.fd)
	require.Equal(t, 0, m.Active())
	require.NoError(t, m.Verify()) // fd 5 was closed by the attempt, fd 6 by its owner
}

func TestMockAllRefusedFirstError(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	m.Script(5, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
	m.Script(6, core.OpConnect, mock.Errno(syscall.ENETUNREACH))
	var res cxResult
	_, err := ConnectToHost(context.Background(), m, "example.test", 80,
		&Config{Lookup: staticLookup("192.0.2.1", "192.0.2.2")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 })
	oe := cxRequireDialErr(t, res.err, ap("192.0.2.1:80"))
	var se *os.SyscallError
	require.ErrorAs(t, oe.Err, &se)
	require.Equal(t, "connect", se.Syscall)
	require.ErrorIs(t, res.err, syscall.ECONNREFUSED)
	require.Equal(t, 0, m.Active())
}

func TestMockSocketFailure(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Errno(syscall.EMFILE), mock.Res(6))
	m.Script(6, core.OpConnect, mock.OK())
	var res cxResult
	_, err := ConnectToHost(context.Background(), m, "example.test", 80,
		&Config{Lookup: staticLookup("192.0.2.1", "192.0.2.2")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 })
	require.NoError(t, res.err)
	require.Equal(t, 6, res.fd)

	// When it is the only address, the socket error is the result.
	m.Script(mock.NoFd, core.OpSocket, mock.Errno(syscall.EMFILE))
	res = cxResult{}
	_, err = ConnectToAddr(context.Background(), m, ap("192.0.2.1:80"), nil, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 })
	var se *os.SyscallError
	require.ErrorAs(t, res.err, &se)
	require.Equal(t, "socket", se.Syscall)
	require.ErrorIs(t, res.err, syscall.EMFILE)
}

func TestMockLookupError(t *testing.T) {
	m := mock.New(t)
	boom := errors.New("resolver exploded")
	lookup := func(context.Context, string) ([]netip.Addr, error) { return nil, boom }
	var res cxResult
	_, err := ConnectToHost(context.Background(), m, "example.test", 80, &Config{Lookup: lookup}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 })
	cxRequireDialErr(t, res.err, netip.AddrPort{})
	var de *net.DNSError
	require.ErrorAs(t, res.err, &de)
	require.Equal(t, "example.test", de.Name)
	require.ErrorIs(t, res.err, boom)
	require.EqualError(t, res.err, "dial tcp: lookup example.test: resolver exploded")

	// A *net.DNSError is passed on as it is.
	nx := &net.DNSError{Err: "no such host", Name: "example.test", IsNotFound: true}
	res = cxResult{}
	lookup = func(context.Context, string) ([]netip.Addr, error) { return nil, nx }
	_, err = ConnectToHost(context.Background(), m, "example.test", 80, &Config{Lookup: lookup}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 })
	require.ErrorAs(t, res.err, &de)
	require.Same(t, nx, de)
}

func TestMockTimeoutWhileConnecting(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5)) // its connect never answers
	var res cxResult
	a, err := ConnectToAddr(context.Background(), m, ap("192.0.2.1:443"), &Config{Timeout: 5 * time.Second}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	require.Zero(t, res.calls)
	m.Advance(4 * time.Second)
	require.NoError(t, m.Run(core.UntilDone))
	require.Zero(t, res.calls, "not yet timed out")
	m.Advance(time.Second)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	oe := cxRequireDialErr(t, res.err, ap("192.0.2.1:443"))
	require.True(t, oe.Timeout())
	require.ErrorIs(t, res.err, context.DeadlineExceeded)
	require.Equal(t, 0, m.Active(), "the connect was cancelled")
	require.NoError(t, m.Verify(), "fd 5 was closed")
}

func TestMockTimeoutWhileResolving(t *testing.T) {
	m := mock.New(t)
	var res cxResult
	_, err := ConnectToHost(context.Background(), m, "slow.example", 443,
		&Config{Timeout: time.Second, Lookup: blockingLookup}, res.mockDone)
	require.NoError(t, err)
	require.NoError(t, m.Run(core.UntilDone))
	m.Advance(time.Second)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	var de *net.DNSError
	require.ErrorAs(t, res.err, &de)
	require.True(t, de.IsTimeout)
	// The resolver goroutine, told to stop, posts its answer; it is ignored.
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
}

func TestMockPartialDeadline(t *testing.T) {
	// With a timeout and two addresses, the first gets half the time; when
	// its deadline passes the second is tried.
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	m.Script(6, core.OpConnect, mock.OK())
	var res cxResult
	a, err := ConnectToHost(context.Background(), m, "example.test", 443,
		&Config{Timeout: 10 * time.Second, Lookup: staticLookup("192.0.2.1", "192.0.2.2")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	m.Advance(4 * time.Second)
	require.NoError(t, m.Run(core.UntilDone))
	require.True(t, a.primary.connecting(5), "within its share of the time")
	m.Advance(1100 * time.Millisecond) // past 5s from the real clock's start
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	require.NoError(t, res.err)
	require.Equal(t, 6, res.fd)
	require.Equal(t, 0, m.Active())
}

func TestMockPartialDeadlineAllFail(t *testing.T) {
	// The first address's own timeout is the first error and is returned.
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	m.Script(6, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
	var res cxResult
	a, err := ConnectToHost(context.Background(), m, "example.test", 443,
		&Config{Timeout: 10 * time.Second, Lookup: staticLookup("192.0.2.1", "192.0.2.2")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	require.Equal(t, 1, m.ExpireDeadlines())
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	oe := cxRequireDialErr(t, res.err, ap("192.0.2.1:443"))
	require.True(t, oe.Timeout())
	require.Equal(t, 0, m.Active())
}

func TestMockFallbackAfterDelay(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	m.Script(6, core.OpConnect, mock.OK()) // fd 5, IPv6, never answers
	var res cxResult
	a, err := ConnectToHost(context.Background(), m, "dual.example", 443,
		&Config{Lookup: staticLookup("2001:db8::1", "192.0.2.1")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	require.False(t, a.fallback.started)
	m.Advance(DefaultFallbackDelay - time.Millisecond)
	require.NoError(t, m.Run(core.UntilDone))
	require.False(t, a.fallback.started, "the primary keeps its head start")
	m.Advance(time.Millisecond)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	require.NoError(t, res.err)
	require.Equal(t, 6, res.fd)
	require.Equal(t, 0, m.Active(), "the primary's connect was cancelled")
	require.NoError(t, m.Verify(), "and its socket closed")
}

func TestMockFallbackAtOnceWhenPrimaryFails(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	m.Script(5, core.OpConnect, mock.Errno(syscall.ENETUNREACH))
	m.Script(6, core.OpConnect, mock.OK())
	var res cxResult
	_, err := ConnectToHost(context.Background(), m, "dual.example", 443,
		&Config{Lookup: staticLookup("2001:db8::1", "192.0.2.1")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 }) // no clock movement
	require.NoError(t, res.err)
	require.Equal(t, 6, res.fd)
	require.Equal(t, 0, m.Active(), "the fallback timer was cancelled")
}

func TestMockBothFamiliesFailPrimaryError(t *testing.T) {
	// The fallback fails first, the primary later: the primary's error is
	// returned, as net.Dialer returns it.
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	m.Script(6, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
	var res cxResult
	a, err := ConnectToHost(context.Background(), m, "dual.example", 443,
		&Config{FallbackDelay: time.Millisecond, Lookup: staticLookup("2001:db8::1", "192.0.2.1")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	m.Advance(time.Millisecond)
	require.NoError(t, m.Run(core.UntilDone))
	require.True(t, a.fallback.failed)
	require.Zero(t, res.calls, "the primary is still connecting")
	m.Script(5, core.OpConnect, mock.Errno(syscall.ETIMEDOUT))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	oe := cxRequireDialErr(t, res.err, ap("[2001:db8::1]:443"))
	require.ErrorIs(t, res.err, syscall.ETIMEDOUT)
	require.True(t, oe.Timeout(), "ETIMEDOUT is a timeout, as in net")
}

func TestMockNoRacingWhenDisabled(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6), mock.Res(7))
	m.Script(5, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
	m.Script(6, core.OpConnect, mock.Errno(syscall.ECONNREFUSED))
	m.Script(7, core.OpConnect, mock.OK())
	var res cxResult
	a, err := ConnectToHost(context.Background(), m, "dual.example", 443,
		&Config{FallbackDelay: -1, Lookup: staticLookup("2001:db8::1", "192.0.2.1", "2001:db8::2")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return res.calls > 0 })
	require.NoError(t, res.err)
	require.Equal(t, 7, res.fd)
	require.Len(t, a.primary.targets, 3, "one serial list in the given order")
	require.Equal(t, ap("[2001:db8::2]:443"), a.primary.targets[2].ap)
}

func TestMockContextCancelWhileConnecting(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var res cxResult
	a, err := ConnectToAddr(ctx, m, ap("192.0.2.1:443"), nil, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	cancel()
	cxDrive(t, m, func() bool { return res.calls > 0 })
	cxRequireDialErr(t, res.err, ap("192.0.2.1:443"))
	require.ErrorIs(t, res.err, context.Canceled)
	require.Equal(t, 0, m.Active())
	require.NoError(t, m.Verify())
}

func TestMockAttemptCancel(t *testing.T) {
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5))
	var res cxResult
	a, err := ConnectToAddr(context.Background(), m, ap("192.0.2.1:443"), &Config{Timeout: time.Minute}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	a.Cancel()
	require.Zero(t, res.calls)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	require.ErrorIs(t, res.err, context.Canceled)
	require.Equal(t, 0, m.Active(), "connect and timer cancelled")
	require.NoError(t, m.Verify())
}

func TestMockCancelWhileCreatingSocket(t *testing.T) {
	m := mock.New(t)
	var res cxResult
	a, err := ConnectToAddr(context.Background(), m, ap("192.0.2.1:443"), nil, res.mockDone)
	require.NoError(t, err)
	require.NoError(t, m.Run(core.UntilDone)) // the socket has no result yet
	require.True(t, a.primary.busy)
	a.Cancel()
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	require.ErrorIs(t, res.err, context.Canceled)
	require.Equal(t, 0, m.Active())
}

func TestMockLoserSocketArrivesAfterWin(t *testing.T) {
	// The fallback's socket completes in the same batch as, but after, the
	// primary's winning connect: it is closed, not leaked.
	m := mock.New(t)
	m.Script(mock.NoFd, core.OpSocket, mock.Res(5), mock.Res(6))
	var res cxResult
	a, err := ConnectToHost(context.Background(), m, "dual.example", 443,
		&Config{Lookup: staticLookup("2001:db8::1", "192.0.2.1")}, res.mockDone)
	require.NoError(t, err)
	cxDrive(t, m, func() bool { return a.primary.connecting(5) })
	m.Advance(DefaultFallbackDelay)
	// Answer the primary's connect only once the fallback's socket is on
	// its way.
	_, err = m.Nop(core.Ctx{Callback: func(core.Runtime, *core.Task) error {
		m.Script(5, core.OpConnect, mock.OK())
		return nil
	}})
	require.NoError(t, err)
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, res.calls)
	require.NoError(t, res.err)
	require.Equal(t, 5, res.fd)
	require.True(t, a.fallback.started)
	require.Equal(t, 0, m.Active())
	require.NoError(t, m.Verify(), "fd 6 was closed")
}
