package compat_test

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// TestUnixgram checks the unixgram network: Dial returns package net's
// *net.UnixConn, or on uringnet its *uringnet.UnixgramConn, with the same
// addresses, datagrams and errors; Listen is package net's on both (a
// *net.UnixListener on a datagram socket, whose Accept fails).
func TestUnixgram(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		dir := sockDir(t)
		srvPath := dir + "/srv"
		srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: srvPath, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		srv.SetDeadline(time.Now().Add(testTimeout))

		for _, la := range []*net.UnixAddr{nil, {Name: dir + "/cli", Net: "unixgram"}} {
			var laddr net.Addr
			from := "@"
			if la != nil {
				laddr, from = la, la.Name
			}
			c, err := s.dial(laddr, "unixgram", srvPath)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.(*uringnet.UnixgramConn); s.uring && !ok {
				t.Fatalf("unixgram Dial returned %T, want *uringnet.UnixgramConn", c)
			} else if _, ok := c.(*net.UnixConn); !s.uring && !ok {
				t.Fatalf("unixgram Dial returned %T, want *net.UnixConn", c)
			}
			checkAddr(t, "local", c.LocalAddr(), unixAddr("unixgram", from))
			checkAddr(t, "remote", c.RemoteAddr(), unixAddr("unixgram", srvPath))
			for _, m := range []string{"datagram", ""} {
				if n, err := c.Write([]byte(m)); n != len(m) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", m, n, err)
				}
				buf := make([]byte, 16)
				n, addr, err := srv.ReadFromUnix(buf)
				if err != nil || string(buf[:n]) != m {
					t.Fatalf("server read %q, %v; want %q", buf[:n], err, m)
				}
				if la != nil && addr.Name != from {
					t.Errorf("datagram from %v, want %s", addr, from)
				}
			}
			c.Close()
		}

		missing := dir + "/missing"
		_, err = s.dial(nil, "unixgram", missing)
		checkErr(t, "dial a missing path", err, opErr{
			text: "dial unixgram " + missing + ": connect: no such file or directory",
			op:   "dial", net: "unixgram", source: "nil", addr: unixAddr("unixgram", missing),
			errno: syscall.ENOENT,
		})

		lnPath := dir + "/ln"
		ln, err := s.listen("unixgram", lnPath)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ln.(*net.UnixListener); !ok {
			t.Fatalf("unixgram Listen returned %T, want *net.UnixListener", ln)
		}
		checkAddr(t, "listener", ln.Addr(), unixAddr("unixgram", lnPath))
		ln.(*net.UnixListener).SetDeadline(time.Now().Add(testTimeout))
		_, err = ln.Accept()
		checkErr(t, "Accept on a datagram socket", err, opErr{
			text: "accept unixgram " + lnPath + ": accept4: operation not supported",
			op:   "accept", net: "unixgram", source: "nil", addr: unixAddr("unixgram", lnPath),
			errno: syscall.EOPNOTSUPP,
		})
		ln.Close()
		if fileExists(t, lnPath) {
			t.Errorf("Close left %s", lnPath)
		}
		os.Remove(lnPath)
	})
}
