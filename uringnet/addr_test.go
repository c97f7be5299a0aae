//go:build linux

package uringnet_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// describeAddr describes a with the listener's port replaced by LPORT and
// any other port by PORT, so that runs on different ports compare.
func describeAddr(a net.Addr, lport int) string {
	if a == nil {
		return "nil"
	}
	switch a := a.(type) {
	case *net.TCPAddr:
		port := "PORT"
		if a.Port == lport {
			port = "LPORT"
		} else if a.Port == 0 {
			port = "0"
		}
		return fmt.Sprintf("*net.TCPAddr{IP:%v Port:%s Zone:%q}", a.IP, port, a.Zone)
	case *net.UnixAddr:
		return fmt.Sprintf("*net.UnixAddr{Name:%q Net:%q}", a.Name, a.Net)
	}
	return fmt.Sprintf("%T(%v)", a, a)
}

func portOf(a net.Addr) int {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port
	}
	return -1
}

// TestAddrs compares every address a listener and both ends of a
// connection report with what package net reports for the same setup.
func TestAddrs(t *testing.T) {
	type dialCase struct{ network, host string }
	cases := []struct {
		network, address string
		dials            []dialCase
	}{
		{"tcp", "127.0.0.1:0", []dialCase{{"tcp", "127.0.0.1"}, {"tcp4", "127.0.0.1"}, {"tcp6", "127.0.0.1"}, {"tcp", "localhost"}, {"tcp", ""}, {"tcp", "::ffff:127.0.0.1"}}},
		{"tcp4", "127.0.0.1:0", []dialCase{{"tcp", "127.0.0.1"}}},
		{"tcp6", "[::1]:0", []dialCase{{"tcp", "::1"}, {"tcp6", "::1"}, {"tcp4", "::1"}}},
		{"tcp", "[::1]:0", []dialCase{{"tcp", "::1"}}},
		{"tcp", ":0", []dialCase{{"tcp", "127.0.0.1"}, {"tcp", "::1"}, {"tcp4", "127.0.0.1"}, {"tcp6", "::1"}, {"tcp", ""}}},
		{"tcp", "0.0.0.0:0", []dialCase{{"tcp", "127.0.0.1"}, {"tcp", "::1"}}},
		{"tcp", "[::]:0", []dialCase{{"tcp", "127.0.0.1"}, {"tcp", "::1"}}},
		{"tcp4", ":0", []dialCase{{"tcp", "127.0.0.1"}, {"tcp", "::1"}}},
		{"tcp4", "0.0.0.0:0", []dialCase{{"tcp", "127.0.0.1"}}},
		{"tcp6", ":0", []dialCase{{"tcp", "::1"}, {"tcp", "127.0.0.1"}}},
		{"tcp6", "[::]:0", []dialCase{{"tcp", "::1"}, {"tcp", "127.0.0.1"}}},
		{"tcp", "localhost:0", []dialCase{{"tcp", "127.0.0.1"}}},
	}
	for _, c := range cases {
		t.Run(c.network+"_"+c.address, func(t *testing.T) {
			var got [2][]string
			for i, im := range impls {
				ln := listen(t, im, c.network, c.address)
				lport := portOf(ln.Addr())
				got[i] = append(got[i], "listener "+describeAddr(ln.Addr(), lport))
				for _, d := range c.dials {
					addr := net.JoinHostPort(d.host, strconv.Itoa(lport))
					type res struct {
						c   net.Conn
						err error
					}
					ch := make(chan res, 1)
					go func() { c, err := ln.Accept(); ch <- res{c, err} }()
					client, err := im.Dial(d.network, addr)
					if err != nil {
						got[i] = append(got[i], fmt.Sprintf("dial %s %s:LPORT: error %v", d.network, d.host, shapeOf(err, roles{addr: "target"})))
						ln.Close()
						<-ch
						host, _, _ := net.SplitHostPort(c.address)
						ln = listen(t, im, c.network, net.JoinHostPort(host, strconv.Itoa(lport)))
						continue
					}
					r := <-ch
					if r.err != nil {
						t.Fatal(r.err)
					}
					server := r.c
					line := fmt.Sprintf("dial %s %s:LPORT: client local %s remote %s; server local %s remote %s; server.remote==client.local %v",
						d.network, d.host,
						describeAddr(client.LocalAddr(), lport), describeAddr(client.RemoteAddr(), lport),
						describeAddr(server.LocalAddr(), lport), describeAddr(server.RemoteAddr(), lport),
						server.RemoteAddr().String() == client.LocalAddr().String())
					got[i] = append(got[i], line)
					client.Close()
					server.Close()
				}
			}
			for j := range max(len(got[0]), len(got[1])) {
				var a, b string
				if j < len(got[0]) {
					a = got[0][j]
				}
				if j < len(got[1]) {
					b = got[1][j]
				}
				if a != b {
					t.Errorf("addresses differ\n net:      %s\n uringnet: %s", a, b)
				}
			}
		})
	}
}

// TestAddrIPLength checks the IP slices themselves, not only their text:
// package net gives 4-byte IPs for IPv4 sockets.
func TestAddrIPLength(t *testing.T) {
	for _, c := range []struct{ network, address, host string }{
		{"tcp", "127.0.0.1:0", "127.0.0.1"},
		{"tcp", ":0", "127.0.0.1"}, // dual stack: IPv4-mapped
		{"tcp6", "[::1]:0", "::1"},
	} {
		var got [2]string
		for i, im := range impls {
			ln := listen(t, im, c.network, c.address)
			client, server := acceptDial(t, im, ln, "tcp", net.JoinHostPort(c.host, strconv.Itoa(portOf(ln.Addr()))))
			got[i] = fmt.Sprintf("%d %d %d %d %d", len(ln.Addr().(*net.TCPAddr).IP),
				len(client.LocalAddr().(*net.TCPAddr).IP), len(client.RemoteAddr().(*net.TCPAddr).IP),
				len(server.LocalAddr().(*net.TCPAddr).IP), len(server.RemoteAddr().(*net.TCPAddr).IP))
		}
		if got[0] != got[1] {
			t.Errorf("%s %s: IP lengths (listener, client local, remote, server local, remote): net %s, uringnet %s", c.network, c.address, got[0], got[1])
		}
	}
}

func TestAddrUnix(t *testing.T) {
	var got [2]string
	for i, im := range impls {
		path := filepath.Join(t.TempDir(), "sock")
		ln := listen(t, im, "unix", path)
		client, server := acceptDial(t, im, ln, "unix", path)
		norm := func(a net.Addr) string { return strings.ReplaceAll(describeAddr(a, 0), path, "PATH") }
		got[i] = fmt.Sprintf("listener %s client local %s remote %s server local %s remote %s",
			norm(ln.Addr()), norm(client.LocalAddr()), norm(client.RemoteAddr()), norm(server.LocalAddr()), norm(server.RemoteAddr()))
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: socket file missing while listening: %v", im.name, err)
		}
		client.Close()
		server.Close()
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: socket file still there after Listener.Close: %v", im.name, err)
		}
	}
	if got[0] != got[1] {
		t.Errorf("unix addresses differ\n net:      %s\n uringnet: %s", got[0], got[1])
	}
}

func TestAddrUnixAbstract(t *testing.T) {
	var got [2]string
	for i, im := range impls {
		name := fmt.Sprintf("@uringnet-test-%d-%d", os.Getpid(), i)
		ln := listen(t, im, "unix", name)
		client, server := acceptDial(t, im, ln, "unix", name)
		norm := func(a net.Addr) string { return strings.ReplaceAll(describeAddr(a, 0), name, "NAME") }
		got[i] = fmt.Sprintf("listener %s client local %s remote %s server local %s remote %s",
			norm(ln.Addr()), norm(client.LocalAddr()), norm(client.RemoteAddr()), norm(server.LocalAddr()), norm(server.RemoteAddr()))
	}
	if got[0] != got[1] {
		t.Errorf("abstract unix addresses differ\n net:      %s\n uringnet: %s", got[0], got[1])
	}
}

// TestAcceptQueuedAndWaiting gives Accept a connection already queued on
// the listener (taken at once, without the ring) and one that arrives while
// Accept waits (an accept on the ring), and checks that both report the
// addresses package net reports and carry data.
func TestAcceptQueuedAndWaiting(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		for _, mode := range []string{"queued", "waiting"} {
			t.Run(network+"_"+mode, func(t *testing.T) {
				var got [2]string
				for i, im := range impls {
					address := "127.0.0.1:0"
					if network == "unix" {
						address = filepath.Join(t.TempDir(), "s")
					}
					ln := listen(t, im, network, address)
					accepted := make(chan net.Conn, 1)
					accept := func() {
						c, err := ln.Accept()
						if err != nil {
							t.Error(err)
						}
						accepted <- c
					}
					var client net.Conn
					var err error
					if mode == "queued" {
						client, err = im.Dial(network, ln.Addr().String())
						if err != nil {
							t.Fatal(err)
						}
						time.Sleep(20 * time.Millisecond) // the handshake completes into the queue
						accept()
					} else {
						go accept()
						time.Sleep(50 * time.Millisecond) // Accept is waiting by now
						client, err = im.Dial(network, ln.Addr().String())
						if err != nil {
							t.Fatal(err)
						}
					}
					server := <-accepted
					if server == nil {
						t.FailNow()
					}
					if _, err := client.Write([]byte("ping")); err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, 4)
					if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "ping" {
						t.Fatalf("read %q, %v", buf, err)
					}
					lport := portOf(ln.Addr())
					got[i] = fmt.Sprintf("server local %s remote %s; remote is the client's local address: %v",
						describeAddr(server.LocalAddr(), lport), describeAddr(server.RemoteAddr(), lport),
						server.RemoteAddr().String() == client.LocalAddr().String())
					got[i] = strings.ReplaceAll(got[i], address, "PATH") // each run has its own socket path
					client.Close()
					server.Close()
				}
				if got[0] != got[1] {
					t.Errorf("addresses differ\n net:      %s\n uringnet: %s", got[0], got[1])
				}
			})
		}
	}
}
