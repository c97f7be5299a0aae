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

// dialWant is one dial case and the outcome both stacks must give.
type dialWant struct {
	network, address string // address may name {v4} and {v6}, the targets
	cfg              dialConfig
	want             outcome
}

// runDialCases dials every case with both stacks against a package net
// listener on 127.0.0.1 and one on ::1, which accept and close.
func runDialCases(t *testing.T, cases []dialWant) {
	t.Helper()
	v4 := serveLoopback(t, "tcp4", "127.0.0.1:0")
	v6 := serveLoopback(t, "tcp6", "[::1]:0")
	r := roles{}
	r.port(v4.Addr(), "{v4}").port(v6.Addr(), "{v6}")
	expand := strings.NewReplacer("{v4}", port(v4.Addr()), "{v6}", port(v6.Addr()))
	for _, c := range cases {
		address := expand.Replace(c.address)
		what := fmt.Sprintf("dial %s %s (local %v)", c.network, c.address, c.cfg.LocalAddr)
		t.Run(c.network+" "+c.address, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				return dialCase(t, s, c.cfg, c.network, address, r)
			})
			sameOutcome(t, what, got, c.want)
		})
	}
}

// port is a's port, as a string.
func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// connected is the outcome of a dial that connects to remote from a local
// address on ip.
func connected(remote, ip string) outcome {
	return outcome{Text: "to " + remote + " from " + ip, Chain: "ok"}
}

// TestDialNegativeTimeout: a negative Timeout is a deadline already past,
// so the dial fails at once with a timeout, before any connect. A dial's
// timeout matches context.DeadlineExceeded, not os.ErrDeadlineExceeded,
// in package net.
func TestDialNegativeTimeout(t *testing.T) {
	timeout := outcome{Text: "dial tcp 127.0.0.1:{v4}: i/o timeout", Chain: "*net.OpError > unexported", Flags: "timeout ctx-deadline"}
	runDialCases(t, []dialWant{
		{"tcp", "127.0.0.1:{v4}", dialConfig{Timeout: -1}, timeout},
		{"tcp", "127.0.0.1:{v4}", dialConfig{Timeout: -time.Hour}, timeout},
		{"tcp", "127.0.0.1:{v4}", dialConfig{Deadline: time.Now().Add(-time.Second)}, timeout},
		// A negative Timeout wins over a Deadline in the future.
		{"tcp", "127.0.0.1:{v4}", dialConfig{Timeout: -1, Deadline: time.Now().Add(time.Hour)}, timeout},
		{"tcp", "127.0.0.1:{v4}", dialConfig{Timeout: time.Hour}, connected("127.0.0.1:{v4}", "127.0.0.1")},
	})
}

// TestDialIPv4MappedAddress: an IPv4-mapped IPv6 address is an IPv4
// address to package net, which tcp6 refuses and tcp and tcp4 dial over
// IPv4.
func TestDialIPv4MappedAddress(t *testing.T) {
	runDialCases(t, []dialWant{
		{"tcp6", "[::ffff:127.0.0.1]:{v4}", dialConfig{}, outcome{Text: "dial tcp6: address ::ffff:127.0.0.1: no suitable address found", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp4", "[::ffff:127.0.0.1]:{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp", "[::ffff:127.0.0.1]:{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp6", "0.0.0.0:{v6}", dialConfig{}, outcome{Text: "dial tcp6: address 0.0.0.0: no suitable address found", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp6", "127.0.0.1:{v4}", dialConfig{}, outcome{Text: "dial tcp6: address 127.0.0.1: no suitable address found", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp4", "[::1]:{v6}", dialConfig{}, outcome{Text: "dial tcp4: address ::1: no suitable address found", Chain: "*net.OpError > *net.AddrError"}},
	})
}

// TestDialUnspecifiedHost: an unspecified host, of either family, means
// the local system for every network (go.dev/issue/18806).
func TestDialUnspecifiedHost(t *testing.T) {
	runDialCases(t, []dialWant{
		{"tcp4", "[::]:{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp4", "0.0.0.0:{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp4", ":{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp", ":{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp", "0.0.0.0:{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		// [::] first, refused on ::1, then 0.0.0.0.
		{"tcp", "[::]:{v4}", dialConfig{}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp", "[::]:{v6}", dialConfig{}, connected("[::1]:{v6}", "::1")},
		{"tcp6", "[::]:{v6}", dialConfig{}, connected("[::1]:{v6}", "::1")},
		{"tcp6", ":{v6}", dialConfig{}, connected("[::1]:{v6}", "::1")},
	})
}

// TestDialLocalAddrFamily: a Dialer's LocalAddr filters the targets by
// family unless it is unspecified, and is then converted to the socket's
// family as package net converts it: 0.0.0.0 serves an IPv6 socket, ::
// does not serve an IPv4 one.
func TestDialLocalAddrFamily(t *testing.T) {
	v4any := &net.TCPAddr{IP: net.IPv4zero}
	v6any := &net.TCPAddr{IP: net.IPv6zero}
	noIP := &net.TCPAddr{}
	v4lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	v4lo4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1).To4()}
	v6lo := &net.TCPAddr{IP: net.IPv6loopback}
	noSuitable := func(nw, local string) outcome {
		return outcome{Text: "dial " + nw + ": address " + local + ": no suitable address found", Chain: "*net.OpError > *net.AddrError"}
	}
	runDialCases(t, []dialWant{
		{"tcp4", "127.0.0.1:{v4}", dialConfig{LocalAddr: v6any}, outcome{Text: "dial tcp4 [::]:0->127.0.0.1:{v4}: address ::: non-IPv4 address", Chain: "*net.OpError > *net.AddrError"}},
		{"tcp4", "127.0.0.1:{v4}", dialConfig{LocalAddr: v4any}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp4", "127.0.0.1:{v4}", dialConfig{LocalAddr: noIP}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp6", "[::1]:{v6}", dialConfig{LocalAddr: v4any}, connected("[::1]:{v6}", "::1")},
		{"tcp", "[::1]:{v6}", dialConfig{LocalAddr: v4any}, connected("[::1]:{v6}", "::1")},
		{"tcp", "[::1]:{v6}", dialConfig{LocalAddr: noIP}, connected("[::1]:{v6}", "::1")},
		// An IPv4 socket for tcp; :: binds an IPv6 socket, which reaches
		// 127.0.0.1 as a mapped address (reported as 127.0.0.1).
		{"tcp", "127.0.0.1:{v4}", dialConfig{LocalAddr: v4any}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp", "127.0.0.1:{v4}", dialConfig{LocalAddr: v6any}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp6", "[::1]:{v6}", dialConfig{LocalAddr: v6any}, connected("[::1]:{v6}", "::1")},
		{"tcp", "127.0.0.1:{v4}", dialConfig{LocalAddr: v4lo}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp", "127.0.0.1:{v4}", dialConfig{LocalAddr: v4lo4}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		{"tcp", "[::1]:{v6}", dialConfig{LocalAddr: v4lo}, noSuitable("tcp", "127.0.0.1:0")},
		{"tcp4", "127.0.0.1:{v4}", dialConfig{LocalAddr: v6lo}, noSuitable("tcp4", "[::1]:0")},
		{"tcp6", "[::1]:{v6}", dialConfig{LocalAddr: v4lo}, noSuitable("tcp6", "127.0.0.1:0")},
		{"tcp", "[::ffff:127.0.0.1]:{v4}", dialConfig{LocalAddr: v6lo}, noSuitable("tcp", "[::1]:0")},
		// An unspecified target passes any local address's filter.
		{"tcp", ":{v4}", dialConfig{LocalAddr: v4lo}, connected("127.0.0.1:{v4}", "127.0.0.1")},
		// A local address of another network.
		{"tcp", "127.0.0.1:{v4}", dialConfig{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}}, outcome{Text: "dial tcp: address 127.0.0.1:0: mismatched local address type", Chain: "*net.OpError > *net.AddrError"}},
	})
}

// TestDialLocalAddrInError: a dial that fails after resolution names the
// Dialer's LocalAddr, as it was given, as the OpError's Source.
func TestDialLocalAddrInError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	busy := serveLoopback(t, "tcp4", "127.0.0.1:0")
	r := roles{}.port(ln.Addr(), "{refused}").port(busy.Addr(), "{busy}")
	refusedErr := "*net.OpError > *os.SyscallError > syscall.Errno(ECONNREFUSED)"
	for _, c := range []struct {
		local net.Addr
		want  outcome
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, outcome{Text: "dial tcp 127.0.0.1:0->127.0.0.1:{refused}: connect: connection refused", Chain: refusedErr}},
		{&net.TCPAddr{}, outcome{Text: "dial tcp :0->127.0.0.1:{refused}: connect: connection refused", Chain: refusedErr}},
		{(*net.TCPAddr)(nil), outcome{Text: "dial tcp <nil>->127.0.0.1:{refused}: connect: connection refused", Chain: refusedErr}},
		{busy.Addr(), outcome{Text: "dial tcp 127.0.0.1:{busy}->127.0.0.1:{refused}: bind: address already in use", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EADDRINUSE)"}},
	} {
		got := bothStacks(t, func(t *testing.T, s stack) outcome {
			return dialCase(t, s, dialConfig{LocalAddr: c.local}, "tcp", refused, r)
		})
		sameOutcome(t, fmt.Sprintf("refused dial from %v", c.local), got, c.want)
	}
}

// TestDialZone: an IPv6 address's zone, an interface name or index, is
// passed to the kernel, as in package net.
func TestDialZone(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	runDialCases(t, []dialWant{
		{"tcp", "[::1%lo]:{v6}", dialConfig{}, connected("[::1]:{v6}", "::1")},
		{"tcp6", fmt.Sprintf("[::1%%%d]:{v6}", lo.Index), dialConfig{}, connected("[::1]:{v6}", "::1")},
		{"tcp6", "[fe80::1%lo]:{v6}", dialConfig{}, outcome{Text: "dial tcp6 [fe80::1%lo]:{v6}: connect: network is unreachable", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(ENETUNREACH)"}},
		{"tcp6", "[fe80::1%no-such-if]:{v6}", dialConfig{}, outcome{Text: "dial tcp6 [fe80::1%no-such-if]:{v6}: connect: invalid argument", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EINVAL)"}},
	})
}

// ctxKey marks the context a dial was given, to see it reach
// ControlContext.
type ctxKey struct{}

// TestDialControlContext: ControlContext gets the dial's context and the
// network and address package net passes, it wins over Control when both
// are set, and its error fails the dial.
func TestDialControlContext(t *testing.T) {
	v4 := serveLoopback(t, "tcp4", "127.0.0.1:0")
	v6 := serveLoopback(t, "tcp6", "[::1]:0")
	r := roles{}
	r.port(v4.Addr(), "{v4}").port(v6.Addr(), "{v6}")
	for _, c := range []struct{ network, address string }{
		{"tcp", v4.Addr().String()},
		{"tcp", v6.Addr().String()},
		{"tcp4", v4.Addr().String()},
		{"tcp6", v6.Addr().String()},
		{"tcp", ":" + port(v4.Addr())},
	} {
		t.Run(c.network+" "+c.address, func(t *testing.T) {
			var calls [2]string
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				i := 0
				if s.name != "net" {
					i = 1
				}
				cfg := dialConfig{
					Control: func(network, address string, _ syscall.RawConn) error {
						calls[i] += fmt.Sprintf("Control(%s, %s); ", network, r.apply(address))
						return nil
					},
					ControlContext: func(ctx context.Context, network, address string, rc syscall.RawConn) error {
						var fdOK bool
						if err := rc.Control(func(fd uintptr) { fdOK = fd > 2 }); err != nil {
							return err
						}
						calls[i] += fmt.Sprintf("ControlContext(%v, %s, %s, fd %v); ", ctx.Value(ctxKey{}), network, r.apply(address), fdOK)
						return nil
					},
				}
				ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "marked"), 10*time.Second)
				defer cancel()
				conn, err := s.dial(ctx, cfg, c.network, c.address)
				if err != nil {
					return errOutcome(err, r)
				}
				conn.Close()
				// Now one that fails.
				boom := errors.New("refused by ControlContext")
				cfg.ControlContext = func(context.Context, string, string, syscall.RawConn) error { return boom }
				_, err = s.dial(ctx, cfg, c.network, c.address)
				if !errors.Is(err, boom) {
					t.Errorf("%s: the dial's error %v does not wrap ControlContext's", s.name, err)
				}
				return errOutcome(err, r)
			})
			fam := "tcp4"
			if strings.HasPrefix(c.address, "[") {
				fam = "tcp6"
			}
			want := fmt.Sprintf("ControlContext(marked, %s, %s, fd true); ", fam, r.apply(c.address))
			for i, call := range calls {
				if call != want {
					t.Errorf("%s: calls %q, want %q", stacks[i].name, call, want)
				}
			}
			sameOutcome(t, "dial with a failing ControlContext", got, outcome{
				Text:  "dial " + c.network + " " + r.apply(c.address) + ": refused by ControlContext",
				Chain: "*net.OpError > unexported",
			})
		})
	}
}

// TestDialControlError: Control's error fails the dial, as ControlContext's
// does, when ControlContext is not set.
func TestDialControlError(t *testing.T) {
	v4 := serveLoopback(t, "tcp4", "127.0.0.1:0")
	r := roles{}.port(v4.Addr(), "{v4}")
	boom := errors.New("refused by Control")
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		cfg := dialConfig{Control: func(string, string, syscall.RawConn) error { return boom }}
		return dialCase(t, s, cfg, "tcp", v4.Addr().String(), r)
	})
	sameOutcome(t, "dial with a failing Control", got, outcome{Text: "dial tcp 127.0.0.1:{v4}: refused by Control", Chain: "*net.OpError > unexported"})
}
