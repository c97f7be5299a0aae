//go:build linux

package uringnet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/sys/unix"
)

// tcpConn is the *net.TCPConn method set that uringnet's Conn shares.
type tcpConn interface {
	net.Conn
	CloseRead() error
	CloseWrite() error
	SetNoDelay(bool) error
	SetKeepAlive(bool) error
	SetKeepAlivePeriod(time.Duration) error
	SetKeepAliveConfig(net.KeepAliveConfig) error
	SetLinger(int) error
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
	SyscallConn() (syscall.RawConn, error)
}

// sockopts reads the options package net sets or changes, through
// SyscallConn().Control.
func sockopts(t *testing.T, c any) string {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	err = rc.Control(func(fd uintptr) {
		get := func(name string, level, opt int) {
			v, err := unix.GetsockoptInt(int(fd), level, opt)
			if err != nil {
				fmt.Fprintf(&b, "%s=err(%v) ", name, err)
				return
			}
			fmt.Fprintf(&b, "%s=%d ", name, v)
		}
		get("nodelay", unix.IPPROTO_TCP, unix.TCP_NODELAY)
		get("keepalive", unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		get("keepidle", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
		get("keepintvl", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL)
		get("keepcnt", unix.IPPROTO_TCP, unix.TCP_KEEPCNT)
		get("reuseaddr", unix.SOL_SOCKET, unix.SO_REUSEADDR)
		get("rcvbuf", unix.SOL_SOCKET, unix.SO_RCVBUF)
		get("sndbuf", unix.SOL_SOCKET, unix.SO_SNDBUF)
		l, err := unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER)
		if err == nil {
			fmt.Fprintf(&b, "linger=%d/%d ", l.Onoff, l.Linger)
		}
		fl, _ := unix.FcntlInt(fd, unix.F_GETFL, 0)
		fd2, _ := unix.FcntlInt(fd, unix.F_GETFD, 0)
		fmt.Fprintf(&b, "nonblock=%v cloexec=%v", fl&unix.O_NONBLOCK != 0, fd2&unix.FD_CLOEXEC != 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSockoptsMatchNet applies the same setters to a net conn and a
// uringnet conn and compares what getsockopt reads back.
func TestSockoptsMatchNet(t *testing.T) {
	steps := []struct {
		name string
		set  func(c tcpConn) error
	}{
		{"defaults", func(tcpConn) error { return nil }},
		{"SetNoDelay(false)", func(c tcpConn) error { return c.SetNoDelay(false) }},
		{"SetNoDelay(true)", func(c tcpConn) error { return c.SetNoDelay(true) }},
		{"SetKeepAlive(false)", func(c tcpConn) error { return c.SetKeepAlive(false) }},
		{"SetKeepAlive(true)", func(c tcpConn) error { return c.SetKeepAlive(true) }},
		{"SetKeepAlivePeriod(7s)", func(c tcpConn) error { return c.SetKeepAlivePeriod(7 * time.Second) }},
		{"SetKeepAlivePeriod(1500ms)", func(c tcpConn) error { return c.SetKeepAlivePeriod(1500 * time.Millisecond) }},
		{"SetKeepAlivePeriod(0)", func(c tcpConn) error { return c.SetKeepAlivePeriod(0) }},
		{"SetKeepAlivePeriod(-1)", func(c tcpConn) error { return c.SetKeepAlivePeriod(-1) }},
		{"SetKeepAliveConfig(3s,4s,5)", func(c tcpConn) error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 3 * time.Second, Interval: 4 * time.Second, Count: 5})
		}},
		{"SetKeepAliveConfig(-1,0,-1)", func(c tcpConn) error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: -1, Count: -1})
		}},
		{"SetKeepAliveConfig(off)", func(c tcpConn) error { return c.SetKeepAliveConfig(net.KeepAliveConfig{}) }},
		{"SetLinger(5)", func(c tcpConn) error { return c.SetLinger(5) }},
		{"SetLinger(-1)", func(c tcpConn) error { return c.SetLinger(-1) }},
		{"SetLinger(0)", func(c tcpConn) error { return c.SetLinger(0) }},
		{"SetReadBuffer(65536)", func(c tcpConn) error { return c.SetReadBuffer(65536) }},
		{"SetWriteBuffer(32768)", func(c tcpConn) error { return c.SetWriteBuffer(32768) }},
		{"SetReadBuffer(-1)", func(c tcpConn) error { return c.SetReadBuffer(-1) }},
	}
	var got [2][]string
	for i, im := range impls {
		client, server := pair(t, im, "tcp")
		for _, s := range steps {
			for side, c := range []net.Conn{client, server} {
				err := s.set(c.(tcpConn))
				got[i] = append(got[i], fmt.Sprintf("%s side %d: err %+v: %s", s.name, side, shapeOf(err, connRoles(c)), sockopts(t, c)))
			}
		}
	}
	for j := range got[0] {
		if got[0][j] != got[1][j] {
			t.Errorf("socket options differ\n net:      %s\n uringnet: %s", got[0][j], got[1][j])
		}
	}
}

func TestSockoptsListener(t *testing.T) {
	var got [2]string
	for i, im := range impls {
		ln := listen(t, im, "tcp", "127.0.0.1:0")
		got[i] = sockopts(t, ln)
	}
	if got[0] != got[1] {
		t.Errorf("listener options differ\n net:      %s\n uringnet: %s", got[0], got[1])
	}
}

// TestCloseWrite: after CloseWrite the peer reads EOF and can still send
// back; after CloseRead, reads return EOF.
func TestCloseWrite(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				client, server := pair(t, im, network)
				cw := client.(interface{ CloseWrite() error })
				client.Write([]byte("request"))
				if err := cw.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				server.SetReadDeadline(time.Now().Add(5 * time.Second))
				req, err := io.ReadAll(server)
				if err != nil || string(req) != "request" {
					t.Fatalf("server ReadAll = %q, %v", req, err)
				}
				if _, err := server.Write([]byte("response")); err != nil {
					t.Fatalf("server Write after peer CloseWrite: %v", err)
				}
				server.Close()
				client.SetReadDeadline(time.Now().Add(5 * time.Second))
				resp, err := io.ReadAll(client)
				if err != nil || string(resp) != "response" {
					t.Fatalf("client ReadAll = %q, %v", resp, err)
				}
				// Writing after CloseWrite fails with EPIPE, as in net.
				_, err = client.Write([]byte("x"))
				if !errors.Is(err, syscall.EPIPE) {
					t.Errorf("Write after CloseWrite: %v, want EPIPE", err)
				}
			})
		})
	}
}

func TestCloseRead(t *testing.T) {
	compare(t, "read after CloseRead", func(t *testing.T, im impl) errShape {
		client, server := pair(t, im, "tcp")
		if err := client.(interface{ CloseRead() error }).CloseRead(); err != nil {
			t.Fatal(err)
		}
		var err error
		within(t, 5*time.Second, "Read after CloseRead", func() { _, err = client.Read(make([]byte, 4)) })
		if err != io.EOF {
			t.Errorf("Read after CloseRead: %v, want io.EOF", err)
		}
		// The other direction still works.
		if _, err := client.Write([]byte("ok")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 2)
		server.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(server, b); err != nil || string(b) != "ok" {
			t.Errorf("peer Read = %q, %v", b, err)
		}
		return shapeOf(err, connRoles(client))
	})
}

// TestSyscallConnReadWrite uses the raw conn's Read and Write with
// non-blocking system calls, waiting for readiness in between.
func TestSyscallConnReadWrite(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		rc, err := client.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 16)
			var n int
			calls := 0
			err := rc.Read(func(fd uintptr) bool {
				calls++
				var err error
				n, err = unix.Read(int(fd), buf)
				return err != unix.EAGAIN
			})
			if err != nil {
				t.Error(err)
			}
			if calls < 2 {
				t.Errorf("raw Read's function was called %d times; it should have waited for data", calls)
			}
			got <- string(buf[:max(n, 0)])
		}()
		time.Sleep(50 * time.Millisecond)
		server.Write([]byte("raw hello"))
		select {
		case s := <-got:
			if s != "raw hello" {
				t.Errorf("raw Read got %q", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("raw Read hung")
		}

		err = rc.Write(func(fd uintptr) bool {
			_, err := unix.Write(int(fd), []byte("raw back"))
			return err != unix.EAGAIN
		})
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 8)
		server.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(server, b); err != nil || string(b) != "raw back" {
			t.Errorf("peer got %q, %v", b, err)
		}

		// The read deadline applies to the raw Read too.
		client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		err = rc.Read(func(fd uintptr) bool {
			_, err := unix.Read(int(fd), make([]byte, 1))
			return err != unix.EAGAIN
		})
		checkTimeout(t, "raw Read", err)
	})
}

// TestKeepAliveConfigDialListen sets keep-alive through Dialer and
// ListenConfig on both packages and compares what the sockets carry.
func TestKeepAliveConfigDialListen(t *testing.T) {
	cfg := net.KeepAliveConfig{Enable: true, Idle: 2 * time.Second, Interval: 3 * time.Second, Count: 4}
	type result struct{ dialed, accepted string }
	run := func(listen func() (net.Listener, error), dial func(addr string) (net.Conn, error)) result {
		ln, err := listen()
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return result{sockopts(t, c), sockopts(t, s)}
	}
	std := run(func() (net.Listener, error) {
		return (&net.ListenConfig{KeepAliveConfig: cfg}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	}, func(addr string) (net.Conn, error) {
		return (&net.Dialer{KeepAliveConfig: cfg}).Dial("tcp", addr)
	})
	ring := run(func() (net.Listener, error) {
		return (&uringnet.ListenConfig{KeepAliveConfig: cfg, NoFallback: true}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	}, func(addr string) (net.Conn, error) {
		return (&uringnet.Dialer{KeepAliveConfig: cfg, NoFallback: true}).Dial("tcp", addr)
	})
	if std != ring {
		t.Errorf("keep-alive options differ\n net:      %+v\n uringnet: %+v", std, ring)
	}
	if !strings.Contains(ring.dialed, "keepidle=2 keepintvl=3 keepcnt=4") {
		t.Errorf("dialed socket: %s", ring.dialed)
	}
}
