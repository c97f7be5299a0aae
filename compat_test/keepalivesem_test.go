package compat_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpOptions reads the options package net sets on a new TCP connection.
func tcpOptions(t *testing.T, c net.Conn) string {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	err = rc.Control(func(fd uintptr) {
		for _, o := range []struct {
			name       string
			level, opt int
		}{
			{"nodelay", unix.IPPROTO_TCP, unix.TCP_NODELAY},
			{"keepalive", unix.SOL_SOCKET, unix.SO_KEEPALIVE},
			{"idle", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE},
			{"interval", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL},
			{"count", unix.IPPROTO_TCP, unix.TCP_KEEPCNT},
		} {
			v, err := unix.GetsockoptInt(int(fd), o.level, o.opt)
			if err != nil {
				fmt.Fprintf(&b, "%s=%v ", o.name, err)
				continue
			}
			fmt.Fprintf(&b, "%s=%d ", o.name, v)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}

// keepAliveCases are the Dialer's or ListenConfig's keep-alive settings
// and the options package net gives the connection for each (the
// kernel's own defaults are idle 7200s, interval 75s, 9 probes).
var keepAliveCases = []struct {
	name   string
	period time.Duration
	cfg    net.KeepAliveConfig
	want   string
}{
	{"default", 0, net.KeepAliveConfig{}, "nodelay=1 keepalive=1 idle=15 interval=15 count=9"},
	{"disabled", -1, net.KeepAliveConfig{}, "nodelay=1 keepalive=0 idle=7200 interval=75 count=9"},
	{"period 3s", 3 * time.Second, net.KeepAliveConfig{}, "nodelay=1 keepalive=1 idle=3 interval=15 count=9"},
	{"period 1.5s", 1500 * time.Millisecond, net.KeepAliveConfig{}, "nodelay=1 keepalive=1 idle=2 interval=15 count=9"},
	{"config", 0, net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 7 * time.Second, Count: 3}, "nodelay=1 keepalive=1 idle=5 interval=7 count=3"},
	{"config over period", -1, net.KeepAliveConfig{Enable: true, Idle: 4 * time.Second}, "nodelay=1 keepalive=1 idle=4 interval=15 count=9"},
	{"config negatives kept", 0, net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}, "nodelay=1 keepalive=1 idle=7200 interval=75 count=9"},
	{"config not enabled", 2 * time.Second, net.KeepAliveConfig{Idle: 9 * time.Second}, "nodelay=1 keepalive=1 idle=2 interval=15 count=9"},
}

// TestKeepAliveDialed: a dialed connection's keep-alive follows the
// Dialer's KeepAlive and KeepAliveConfig as in package net.
func TestKeepAliveDialed(t *testing.T) {
	v4 := serveLoopback(t, "tcp4", "127.0.0.1:0")
	for _, c := range keepAliveCases {
		t.Run(c.name, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				conn, err := s.dial(ctx, dialConfig{KeepAlive: c.period, KeepAliveConfig: c.cfg}, "tcp", v4.Addr().String())
				if err != nil {
					return errOutcome(err, roles{})
				}
				defer conn.Close()
				return outcome{Text: tcpOptions(t, conn), Chain: "ok"}
			})
			sameOutcome(t, "dial with "+c.name, got, outcome{Text: c.want, Chain: "ok"})
		})
	}
}

// TestKeepAliveAccepted: an accepted connection's keep-alive follows the
// ListenConfig's KeepAlive and KeepAliveConfig as in package net.
func TestKeepAliveAccepted(t *testing.T) {
	for _, c := range keepAliveCases {
		t.Run(c.name, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				ln, err := s.listen(ctx, listenConfig{KeepAlive: c.period, KeepAliveConfig: c.cfg}, "tcp", "127.0.0.1:0")
				if err != nil {
					return errOutcome(err, roles{})
				}
				defer ln.Close()
				client, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer client.Close()
				ln.(deadliner).SetDeadline(time.Now().Add(10 * time.Second))
				conn, err := ln.Accept()
				if err != nil {
					return errOutcome(err, roles{})
				}
				defer conn.Close()
				return outcome{Text: tcpOptions(t, conn), Chain: "ok"}
			})
			sameOutcome(t, "accept with "+c.name, got, outcome{Text: c.want, Chain: "ok"})
		})
	}
}
