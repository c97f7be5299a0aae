package compat_test

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/sys/unix"
)

// Socket options as the kernel holds them, read back with getsockopt: the
// defaults a dialed and an accepted connection start with, what the
// keep-alive fields of Dialer and ListenConfig set, and what the setters
// leave, on package net and uringnet side by side.

// sockopts reads the options a caller can set through either package.
func sockopts(t *testing.T, c net.Conn) string {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var out string
	rc.Control(func(fd uintptr) {
		get := func(level, opt int) int {
			v, err := unix.GetsockoptInt(int(fd), level, opt)
			if err != nil {
				return -1
			}
			return v
		}
		l, err := unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER)
		linger := "?"
		if err == nil {
			linger = fmt.Sprintf("%d/%d", l.Onoff, l.Linger)
		}
		out = fmt.Sprintf("nodelay=%d keepalive=%d idle=%d intvl=%d cnt=%d linger=%s",
			get(unix.IPPROTO_TCP, unix.TCP_NODELAY), get(unix.SOL_SOCKET, unix.SO_KEEPALIVE),
			get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE), get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL),
			get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT), linger)
	})
	return out
}

// keepAliveSettings are the keep-alive fields Dialer and ListenConfig share.
type keepAliveSettings struct {
	period time.Duration
	cfg    net.KeepAliveConfig
}

// optPair dials and accepts with the given settings on the dialer and on
// the listener, through package net or uringnet.
func optPair(t *testing.T, uring bool, dial, listen keepAliveSettings) (dialed, accepted net.Conn) {
	t.Helper()
	ctx := testCtx(t)
	var ln net.Listener
	var err error
	if uring {
		lc := uringnet.ListenConfig{NoFallback: true, KeepAlive: listen.period, KeepAliveConfig: listen.cfg}
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	} else {
		lc := net.ListenConfig{KeepAlive: listen.period, KeepAliveConfig: listen.cfg}
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	var d func(context.Context, string, string) (net.Conn, error)
	if uring {
		d = (&uringnet.Dialer{NoFallback: true, KeepAlive: dial.period, KeepAliveConfig: dial.cfg}).DialContext
	} else {
		d = (&net.Dialer{KeepAlive: dial.period, KeepAliveConfig: dial.cfg}).DialContext
	}
	dialed, err = d(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted = <-ch
	if accepted == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	return dialed, accepted
}

func TestSockoptContract(t *testing.T) {
	requireUring(t)
	custom := net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 3 * time.Second, Count: 4}
	partial := net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 7 * time.Second}
	cases := []struct {
		name         string
		dial, listen keepAliveSettings
		set          func(c tcpConn)
	}{
		{name: "defaults"},
		{name: "keep-alive off", dial: keepAliveSettings{period: -1}, listen: keepAliveSettings{period: -1}},
		{name: "keep-alive period", dial: keepAliveSettings{period: 42 * time.Second}, listen: keepAliveSettings{period: 1500 * time.Millisecond}},
		{name: "keep-alive config", dial: keepAliveSettings{cfg: custom}, listen: keepAliveSettings{cfg: custom}},
		{name: "keep-alive config with negative and zero fields", dial: keepAliveSettings{cfg: partial}, listen: keepAliveSettings{cfg: partial}},
		{name: "keep-alive config disabled, period set", dial: keepAliveSettings{period: 9 * time.Second, cfg: net.KeepAliveConfig{Enable: false}}, listen: keepAliveSettings{period: 9 * time.Second}},
		{name: "setters", set: func(c tcpConn) {
			c.SetNoDelay(false)
			c.SetKeepAlive(false)
			c.SetKeepAlivePeriod(61 * time.Second)
			c.SetLinger(3)
		}},
		{name: "SetKeepAliveConfig", set: func(c tcpConn) {
			c.(interface {
				SetKeepAliveConfig(net.KeepAliveConfig) error
			}).SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 11 * time.Second, Interval: -1, Count: 2})
		}},
		{name: "SetLinger negative, then zero", set: func(c tcpConn) {
			c.SetLinger(5)
			c.SetLinger(-1)
		}},
		{name: "SetKeepAlivePeriod rounding", set: func(c tcpConn) {
			c.SetKeepAlivePeriod(1500 * time.Millisecond)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[bool]string{}
			for _, uring := range []bool{false, true} {
				d, a := optPair(t, uring, tc.dial, tc.listen)
				if tc.set != nil {
					tc.set(d.(tcpConn))
					tc.set(a.(tcpConn))
				}
				got[uring] = "dialed " + sockopts(t, d) + "\naccepted " + sockopts(t, a)
			}
			if got[true] != got[false] {
				t.Errorf("uringnet:\n%s\npackage net:\n%s", got[true], got[false])
			}
		})
	}
}
