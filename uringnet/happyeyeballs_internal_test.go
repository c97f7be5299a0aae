//go:build linux

package uringnet

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// stalledListener listens on [::1] with a full accept queue, so a further
// connect to it hangs; it returns the port.
func stalledListener(t *testing.T) int {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}))
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	port := sa.(*unix.SockaddrInet6).Port
	// Fill the queue: connects that complete are never accepted.
	for i := 0; i < 4; i++ {
		c, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		require.NoError(t, err)
		t.Cleanup(func() { unix.Close(c) })
		unix.Connect(c, &unix.SockaddrInet6{Port: port, Addr: netip.IPv6Loopback().As16()})
	}
	time.Sleep(50 * time.Millisecond)
	return port
}

func happyTargets(t *testing.T, d *Dialer) *dialTargets {
	e, err := defaultEngine()
	require.NoError(t, err)
	return &dialTargets{d: d, e: e, network: "tcp"}
}

// loopbacks returns ::1 and 127.0.0.1 on port, as a dial resolves them.
func loopbacks(port int) (v6, v4 []*net.TCPAddr) {
	return []*net.TCPAddr{{IP: net.IPv6loopback, Port: port}}, []*net.TCPAddr{{IP: net.IPv4(127, 0, 0, 1), Port: port}}
}

// TestHappyEyeballsFallbackWins: the IPv6 primary hangs, so the IPv4
// fallback starts after FallbackDelay and wins.
func TestHappyEyeballsFallbackWins(t *testing.T) {
	// The IPv6 port the kernel picked may be taken on 127.0.0.1 by some
	// other process: pick again.
	var port int
	var ln net.Listener
	var err error
	for range 20 {
		port = stalledListener(t)
		if ln, err = net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	const delay = 100 * time.Millisecond
	tg := happyTargets(t, &Dialer{FallbackDelay: delay})
	v6, v4 := loopbacks(port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	c, err := tg.parallel(ctx, v6, v4)
	require.NoError(t, err)
	defer c.Close()
	require.GreaterOrEqual(t, time.Since(start), delay)
	require.Equal(t, "127.0.0.1", c.RemoteAddr().(*net.TCPAddr).IP.String())
}

// TestHappyEyeballsPrimaryRefused: a refused primary starts the fallback at
// once, without waiting out FallbackDelay.
func TestHappyEyeballsPrimaryRefused(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	tg := happyTargets(t, &Dialer{FallbackDelay: 5 * time.Second})
	v6, v4 := loopbacks(port)
	start := time.Now()
	c, err := tg.parallel(context.Background(), v6, v4)
	require.NoError(t, err)
	defer c.Close()
	require.Less(t, time.Since(start), time.Second)
}

// TestHappyEyeballsBothFail returns the primary's error, as net does.
func TestHappyEyeballsBothFail(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens on either family now
	tg := happyTargets(t, &Dialer{})
	v6, v4 := loopbacks(port)
	_, err = tg.parallel(context.Background(), v6, v4)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.ErrorIs(t, err, unix.ECONNREFUSED)
	require.Equal(t, "::1", oe.Addr.(*net.TCPAddr).IP.String())
}

func TestPartitionByFamily(t *testing.T) {
	var a []*net.TCPAddr
	for _, ip := range []string{"::1", "127.0.0.1", "::2", "::ffff:10.0.0.1"} {
		a = append(a, &net.TCPAddr{IP: net.ParseIP(ip)})
	}
	p, f := partitionByFamily(a)
	require.Equal(t, []*net.TCPAddr{a[0], a[2]}, p)
	require.Equal(t, []*net.TCPAddr{a[1], a[3]}, f)
}
