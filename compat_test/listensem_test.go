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
