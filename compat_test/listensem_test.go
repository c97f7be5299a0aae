package compat_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// reaches reports whether a package net dial of network to host on ln's
// port connects.
func reaches(ln net.Listener, network, host string) bool {
	c, err := net.DialTimeout(network, net.JoinHostPort(host, port(ln.Addr())), 5*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// listenCase listens with s and describes the listener: its address with
// the port named {port}, the network and address its Control saw, and
// which loopback addresses reach it.
func listenCase(t *testing.T, s stack, network, address string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ctl string
	cfg := listenConfig{Control: func(network, address string, _ syscall.RawConn) error {
		ctl = network + " " + address
		return nil
	}}
	ln, err := s.listen(ctx, cfg, network, address)
	if err != nil {
		return errOutcome(err, roles{})
	}
	defer ln.Close()
	r := roles{}.port(ln.Addr(), "{port}")
	return outcome{
		Text: fmt.Sprintf("%s on %s, Control(%s), from 127.0.0.1 %v, from ::1 %v",
			ln.Addr().Network(), r.apply(ln.Addr().String()), ctl, reaches(ln, "tcp4", "127.0.0.1"), reaches(ln, "tcp6", "::1")),
		Chain: "ok",
	}
}

func listening(network, addr, ctl string, v4, v6 bool) outcome {
	return outcome{Text: fmt.Sprintf("tcp on %s, Control(%s %s), from 127.0.0.1 %v, from ::1 %v", addr, network, ctl, v4, v6), Chain: "ok"}
}

// TestListenAddresses: what each network and address listens on, as
// package net decides: a wildcard for tcp is dual-stack, tcp6 is IPv6
// only, an IPv4-mapped or IPv4 address is refused by tcp6, :: stands for
// 0.0.0.0 too, and Control sees the address before binding as net
// writes it.
func TestListenAddresses(t *testing.T) {
	noSuitable := func(nw, addr string) outcome {
		return outcome{Text: "listen " + nw + ": address " + addr + ": no suitable address found", Chain: "*net.OpError > *net.AddrError"}
	}
	cases := []struct {
		network, address string
		want             outcome
	}{
		{"tcp", ":0", listening("tcp6", "[::]:{port}", ":0", true, true)},
		{"tcp", "", listening("tcp6", "[::]:{port}", ":0", true, true)},
		{"tcp", "0.0.0.0:0", listening("tcp6", "[::]:{port}", "0.0.0.0:0", true, true)},
		{"tcp", "[::]:0", listening("tcp6", "[::]:{port}", "0.0.0.0:0", true, true)},
		{"tcp", "127.0.0.1:0", listening("tcp4", "127.0.0.1:{port}", "127.0.0.1:0", true, false)},
		{"tcp", "[::1]:0", listening("tcp6", "[::1]:{port}", "[::1]:0", false, true)},
		{"tcp", "[::ffff:127.0.0.1]:0", listening("tcp4", "127.0.0.1:{port}", "127.0.0.1:0", true, false)},
		{"tcp", "localhost:0", listening("tcp4", "127.0.0.1:{port}", "127.0.0.1:0", true, false)},
		{"tcp4", ":0", listening("tcp4", "0.0.0.0:{port}", ":0", true, false)},
		{"tcp4", "[::]:0", listening("tcp4", "0.0.0.0:{port}", "0.0.0.0:0", true, false)},
		{"tcp4", "[::ffff:127.0.0.1]:0", listening("tcp4", "127.0.0.1:{port}", "127.0.0.1:0", true, false)},
		{"tcp6", ":0", listening("tcp6", "[::]:{port}", ":0", false, true)},
		{"tcp6", "[::]:0", listening("tcp6", "[::]:{port}", "[::]:0", false, true)},
		{"tcp6", "[::1]:0", listening("tcp6", "[::1]:{port}", "[::1]:0", false, true)},
		{"tcp6", "[::ffff:127.0.0.1]:0", noSuitable("tcp6", "::ffff:127.0.0.1")},
		{"tcp6", "0.0.0.0:0", noSuitable("tcp6", "0.0.0.0")},
		{"tcp6", "127.0.0.1:0", noSuitable("tcp6", "127.0.0.1")},
		{"tcp4", "[::1]:0", noSuitable("tcp4", "::1")},
		{"tcp6", "[::1%lo]:0", listening("tcp6", "[::1]:{port}", "[::1%lo]:0", false, true)},
		{"tcp6", "[fe80::1%lo]:0", outcome{Text: "listen tcp6 [fe80::1%lo]:0: bind: cannot assign requested address", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EADDRNOTAVAIL)"}},
	}
	for _, c := range cases {
		t.Run(c.network+" "+c.address, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				return listenCase(t, s, c.network, c.address)
			})
			sameOutcome(t, "listen "+c.network+" "+c.address, got, c.want)
		})
	}
}

// TestListenBadAddress: malformed addresses, ports and networks fail
// Listen with package net's errors.
func TestListenBadAddress(t *testing.T) {
	cases := []struct {
		network, address string
		want             outcome
	}{
		{"tcp", "127.0.0.1", outcome{Text: "listen tcp: address 127.0.0.1: missing port in address", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp", "127.0.0.1:99999", outcome{Text: "listen tcp: address 99999: invalid port", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp", "127.0.0.1:-1", outcome{Text: "listen tcp: address -1: invalid port", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp", "127.0.0.1:nope-no-such-service", outcome{Text: "listen tcp: lookup tcp/nope-no-such-service: unknown port", Chain: "*net.OpError > *net.DNSError"}},
		{"tcp", "[::1", outcome{Text: "listen tcp: address [::1: missing ']' in address", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp", "::1:0", outcome{Text: "listen tcp: address ::1:0: too many colons in address", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp7", "127.0.0.1:0", outcome{Text: "listen tcp7: unknown network tcp7", Chain: "*net.OpError > net.UnknownNetworkError"}},
		{"", "127.0.0.1:0", outcome{Text: "listen: unknown network ", Chain: "*net.OpError > net.UnknownNetworkError"}},
		{"TCP", "127.0.0.1:0", outcome{Text: "listen TCP: unknown network TCP", Chain: "*net.OpError > net.UnknownNetworkError"}},
		{"tcp", "192.0.2.1:0", outcome{Text: "listen tcp 192.0.2.1:0: bind: cannot assign requested address", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EADDRNOTAVAIL)"}},
	}
	for _, c := range cases {
		t.Run(c.network+" "+c.address, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				ln, err := s.listen(context.Background(), listenConfig{}, c.network, c.address)
				if ln != nil {
					ln.Close()
				}
				return errOutcome(err, roles{})
			})
			sameOutcome(t, "listen "+c.network+" "+c.address, got, c.want)
		})
	}
}

// TestListenAddrInUse: a second listener on a port in use fails with the
// address as it was asked for in the OpError.
func TestListenAddrInUse(t *testing.T) {
	for _, c := range []struct{ network, first, host, want string }{
		{"tcp", "127.0.0.1:0", "127.0.0.1", "listen tcp 127.0.0.1:{port}: bind: address already in use"},
		{"tcp", ":0", "", "listen tcp :{port}: bind: address already in use"},
		{"tcp4", ":0", "", "listen tcp4 :{port}: bind: address already in use"},
		{"tcp6", "[::1]:0", "::1", "listen tcp6 [::1]:{port}: bind: address already in use"},
		{"tcp6", ":0", "", "listen tcp6 :{port}: bind: address already in use"},
		{"tcp", "[::]:0", "::", "listen tcp 0.0.0.0:{port}: bind: address already in use"},
	} {
		t.Run(c.network+" "+c.first, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				ln, err := s.listen(context.Background(), listenConfig{}, c.network, c.first)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				ln2, err := s.listen(context.Background(), listenConfig{}, c.network, net.JoinHostPort(c.host, port(ln.Addr())))
				if ln2 != nil {
					ln2.Close()
				}
				return errOutcome(err, roles{}.port(ln.Addr(), "{port}"))
			})
			sameOutcome(t, "second listen", got, outcome{Text: c.want, Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EADDRINUSE)"})
		})
	}
}

// TestListenControlError: Control's error fails Listen, wrapped with the
// address Control was given.
func TestListenControlError(t *testing.T) {
	boom := errors.New("refused by Control")
	for _, c := range []struct{ network, address, want string }{
		{"tcp", "127.0.0.1:0", "listen tcp 127.0.0.1:0: refused by Control"},
		{"tcp", ":0", "listen tcp :0: refused by Control"},
		{"tcp6", "[::1]:0", "listen tcp6 [::1]:0: refused by Control"},
	} {
		got := bothStacks(t, func(t *testing.T, s stack) outcome {
			cfg := listenConfig{Control: func(string, string, syscall.RawConn) error { return boom }}
			ln, err := s.listen(context.Background(), cfg, c.network, c.address)
			if ln != nil {
				ln.Close()
			}
			if !errors.Is(err, boom) {
				t.Errorf("%s: %v does not wrap Control's error", s.name, err)
			}
			return errOutcome(err, roles{})
		})
		sameOutcome(t, "listen with a failing Control", got, outcome{Text: c.want, Chain: "*net.OpError > unexported"})
	}
}

// deadliner is the listener side of SetDeadline.
type deadliner interface{ SetDeadline(time.Time) error }

// TestListenerLifecycle: Accept past the listener's deadline, Accept and
// SetDeadline after Close, a second Close, and Addr after Close, as in
// package net.
func TestListenerLifecycle(t *testing.T) {
	type step struct {
		name string
		run  func(ln net.Listener) error
		want outcome
	}
	accept := func(ln net.Listener) error {
		c, err := ln.Accept()
		if c != nil {
			c.Close()
		}
		return err
	}
	closedAccept := outcome{Text: "accept tcp 127.0.0.1:{port}: use of closed network connection", Chain: "*net.OpError > unexported", Flags: "closed"}
	steps := []step{
		{"SetDeadline past", func(ln net.Listener) error { return ln.(deadliner).SetDeadline(time.Now().Add(-time.Second)) }, outcome{Chain: "ok"}},
		{"Accept past the deadline", accept, outcome{Text: "accept tcp 127.0.0.1:{port}: i/o timeout", Chain: "*net.OpError > *poll.DeadlineExceededError", Flags: "timeout deadline"}},
		{"SetDeadline soon", func(ln net.Listener) error { return ln.(deadliner).SetDeadline(time.Now().Add(30 * time.Millisecond)) }, outcome{Chain: "ok"}},
		{"Accept until the deadline", accept, outcome{Text: "accept tcp 127.0.0.1:{port}: i/o timeout", Chain: "*net.OpError > *poll.DeadlineExceededError", Flags: "timeout deadline"}},
		{"SetDeadline none", func(ln net.Listener) error { return ln.(deadliner).SetDeadline(time.Time{}) }, outcome{Chain: "ok"}},
		{"Accept blocked by Close", func(ln net.Listener) error {
			time.AfterFunc(30*time.Millisecond, func() { ln.Close() })
			return accept(ln)
		}, closedAccept},
		{"Accept after Close", accept, closedAccept},
		{"Close again", func(ln net.Listener) error { return ln.Close() }, outcome{Text: "close tcp 127.0.0.1:{port}: use of closed network connection", Chain: "*net.OpError > unexported", Flags: "closed"}},
		// Package net returns this one bare.
		{"SetDeadline after Close", func(ln net.Listener) error { return ln.(deadliner).SetDeadline(time.Now()) }, outcome{Text: "use of closed network connection", Chain: "unexported", Flags: "closed"}},
		{"Addr after Close", func(ln net.Listener) error {
			if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") || ln.Addr().Network() != "tcp" {
				return fmt.Errorf("Addr %s %s", ln.Addr().Network(), ln.Addr())
			}
			return nil
		}, outcome{Chain: "ok"}},
	}
	var got [2][]outcome
	bothStacks(t, func(t *testing.T, s stack) outcome {
		ln, err := s.listen(context.Background(), listenConfig{}, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := roles{}.port(ln.Addr(), "{port}")
		i := 0
		if s.name != "net" {
			i = 1
		}
		for _, st := range steps {
			got[i] = append(got[i], errOutcome(st.run(ln), r))
		}
		return outcome{}
	})
	for j, st := range steps {
		sameOutcome(t, st.name, [2]outcome{got[0][j], got[1][j]}, st.want)
	}
}

// ipText is an address's IP with its length, which package net keeps at
// 16 bytes for an IPv4 peer of an IPv6 socket.
func ipText(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return fmt.Sprintf("%T", a)
	}
	return fmt.Sprintf("%v(%d)", ta.IP, len(ta.IP))
}

// TestAcceptedAddresses: the local and remote addresses of accepted and
// dialed connections, for each kind of listener and client family.
func TestAcceptedAddresses(t *testing.T) {
	cases := []struct {
		network, address, client, want string
	}{
		{"tcp", ":0", "127.0.0.1", "server 127.0.0.1(16) <- 127.0.0.1(16), client 127.0.0.1(4) -> 127.0.0.1(4)"},
		{"tcp", ":0", "::1", "server ::1(16) <- ::1(16), client ::1(16) -> ::1(16)"},
		{"tcp", "127.0.0.1:0", "127.0.0.1", "server 127.0.0.1(4) <- 127.0.0.1(4), client 127.0.0.1(4) -> 127.0.0.1(4)"},
		{"tcp4", ":0", "127.0.0.1", "server 127.0.0.1(4) <- 127.0.0.1(4), client 127.0.0.1(4) -> 127.0.0.1(4)"},
		{"tcp6", "[::1]:0", "::1", "server ::1(16) <- ::1(16), client ::1(16) -> ::1(16)"},
	}
	for _, c := range cases {
		t.Run(c.network+" "+c.address+" from "+c.client, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				ln, err := s.listen(ctx, listenConfig{}, c.network, c.address)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				client, err := s.dial(ctx, dialConfig{}, "tcp", net.JoinHostPort(c.client, port(ln.Addr())))
				if err != nil {
					t.Fatal(err)
				}
				defer client.Close()
				ln.(deadliner).SetDeadline(time.Now().Add(10 * time.Second))
				server, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				defer server.Close()
				if server.LocalAddr().String() != client.RemoteAddr().String() || server.RemoteAddr().String() != client.LocalAddr().String() {
					t.Errorf("%s: server %v <- %v, client %v -> %v", s.name, server.LocalAddr(), server.RemoteAddr(), client.LocalAddr(), client.RemoteAddr())
				}
				return outcome{Text: fmt.Sprintf("server %s <- %s, client %s -> %s", ipText(server.LocalAddr()), ipText(server.RemoteAddr()), ipText(client.LocalAddr()), ipText(client.RemoteAddr())), Chain: "ok"}
			})
			sameOutcome(t, "addresses", got, outcome{Text: c.want, Chain: "ok"})
		})
	}
}

// TestListenerSyscallConn: a listener's RawConn controls the socket, even
// past Accept's deadline, refuses Read and Write with a bare EINVAL
// without calling f, and fails Control once the listener is closed.
func TestListenerSyscallConn(t *testing.T) {
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		ln, err := s.listen(context.Background(), listenConfig{}, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := roles{}.port(ln.Addr(), "{port}")
		rc, err := ln.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		calls := 0
		f := func(uintptr) bool { calls++; return true }
		ln.(deadliner).SetDeadline(time.Now().Add(-time.Second))
		var acceptConn int
		err = rc.Control(func(fd uintptr) {
			acceptConn, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
		})
		fmt.Fprintf(&b, "control: %v listening=%d; ", errOutcome(err, r), acceptConn)
		fmt.Fprintf(&b, "read: %v; ", errOutcome(rc.Read(f), r))
		fmt.Fprintf(&b, "write: %v; ", errOutcome(rc.Write(f), r))
		ln.Close()
		fmt.Fprintf(&b, "control after close: %v; ", errOutcome(rc.Control(func(uintptr) { calls++ }), r))
		if _, err := ln.(syscall.Conn).SyscallConn(); err != nil {
			fmt.Fprintf(&b, "SyscallConn after close: %v; ", err)
		}
		fmt.Fprintf(&b, "f called %d times", calls)
		return outcome{Text: b.String(), Chain: "ok"}
	})
	sameOutcome(t, "listener RawConn", got, outcome{Text: `control: "" [ok] {} listening=1; ` +
		`read: "invalid argument" [syscall.Errno(EINVAL)] {}; ` +
		`write: "invalid argument" [syscall.Errno(EINVAL)] {}; ` +
		`control after close: "raw-control tcp 127.0.0.1:{port}: use of closed network connection" [*net.OpError > unexported] {closed}; ` +
		`f called 0 times`, Chain: "ok"})
}

// TestListenContext: Listen uses its context to resolve the address only;
// a literal address listens even under a context already canceled.
func TestListenContext(t *testing.T) {
	for _, c := range []struct{ address, want string }{
		{"127.0.0.1:0", "listening"},
		{":0", "listening"},
		{"localhost:0", "listen tcp: lookup localhost: operation was canceled"},
	} {
		got := bothStacks(t, func(t *testing.T, s stack) outcome {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			ln, err := s.listen(ctx, listenConfig{}, "tcp", c.address)
			if err != nil {
				return outcome{Text: err.Error(), Chain: "error"}
			}
			ln.Close()
			return outcome{Text: "listening", Chain: "error"}
		})
		sameOutcome(t, "listen "+c.address+" canceled", got, outcome{Text: c.want, Chain: "error"})
	}
}

// socketOptions describes the socket under c as the kernel holds it: its
// family and, for IPv6, whether it is IPv6 only; for a listener, whether
// SO_REUSEADDR is set.
func socketOptions(t *testing.T, c syscall.Conn, listener bool) string {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	err = rc.Control(func(fd uintptr) {
		domain, _ := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_DOMAIN)
		switch domain {
		case syscall.AF_INET:
			b.WriteString("AF_INET")
		case syscall.AF_INET6:
			v6only, err := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY)
			fmt.Fprintf(&b, "AF_INET6 v6only=%d%v", v6only, errText(err))
		default:
			fmt.Fprintf(&b, "family %d", domain)
		}
		if listener {
			reuse, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR)
			fmt.Fprintf(&b, " reuseaddr=%d%v", reuse, errText(err))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// rawSyscallConn hands a RawConn Control already has to socketOptions.
type rawSyscallConn struct{ rc syscall.RawConn }

func (r rawSyscallConn) SyscallConn() (syscall.RawConn, error) { return r.rc, nil }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

// TestSocketFamilies: the family and IPV6_V6ONLY of the sockets package
// net makes for each network and address, listening (as set before bind)
// and dialing.
func TestSocketFamilies(t *testing.T) {
	v4 := serveLoopback(t, "tcp4", "127.0.0.1:0")
	v6 := serveLoopback(t, "tcp6", "[::1]:0")
	for _, c := range []struct{ network, address, want string }{
		{"tcp", ":0", "AF_INET6 v6only=0 reuseaddr=1"},
		{"tcp", "127.0.0.1:0", "AF_INET reuseaddr=1"},
		{"tcp", "[::1]:0", "AF_INET6 v6only=0 reuseaddr=1"},
		{"tcp4", ":0", "AF_INET reuseaddr=1"},
		{"tcp6", ":0", "AF_INET6 v6only=1 reuseaddr=1"},
		{"tcp6", "[::1]:0", "AF_INET6 v6only=1 reuseaddr=1"},
	} {
		got := bothStacks(t, func(t *testing.T, s stack) outcome {
			// Read before bind: binding to an IPv6 address makes the
			// kernel set IPV6_V6ONLY on a TCP socket, and package net's
			// listeners are MPTCP sockets where the kernel has MPTCP.
			var opts string
			cfg := listenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
				opts = socketOptions(t, rawSyscallConn{rc}, true)
				return nil
			}}
			ln, err := s.listen(context.Background(), cfg, c.network, c.address)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			return outcome{Text: opts, Chain: "ok"}
		})
		sameOutcome(t, "listen "+c.network+" "+c.address, got, outcome{Text: c.want, Chain: "ok"})
	}
	for _, c := range []struct {
		network, address string
		local            net.Addr
		want             string
	}{
		{"tcp", v4.Addr().String(), nil, "AF_INET"},
		{"tcp", v6.Addr().String(), nil, "AF_INET6 v6only=0"},
		{"tcp", ":" + port(v4.Addr()), nil, "AF_INET"},
		{"tcp", v4.Addr().String(), &net.TCPAddr{IP: net.IPv6zero}, "AF_INET6 v6only=0"},
		{"tcp4", v4.Addr().String(), nil, "AF_INET"},
		{"tcp6", v6.Addr().String(), nil, "AF_INET6 v6only=1"},
		{"tcp6", v6.Addr().String(), &net.TCPAddr{IP: net.IPv4zero}, "AF_INET6 v6only=1"},
	} {
		got := bothStacks(t, func(t *testing.T, s stack) outcome {
			conn, err := s.dial(context.Background(), dialConfig{LocalAddr: c.local}, c.network, c.address)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			return outcome{Text: socketOptions(t, conn.(syscall.Conn), false), Chain: "ok"}
		})
		sameOutcome(t, fmt.Sprintf("dial %s %s from %v", c.network, c.address, c.local), got, outcome{Text: c.want, Chain: "ok"})
	}
}
