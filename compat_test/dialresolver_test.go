package compat_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestDialResolvedAddresses dials names that resolve, through the
// Dialer's Resolver, to several addresses of both families: the order
// they are tried in, Happy Eyeballs (FallbackDelay), the error of the
// address that counts when all fail, and the LocalAddr's family filter
// are package net's.
func TestDialResolvedAddresses(t *testing.T) {
	// port: ::1 stalls, 127.0.0.1 accepts. refused: nothing on either.
	// other: 127.0.0.1 accepts, 127.0.0.2 refuses.
	stalled6 := stalledOn(t, netip.MustParseAddr("::1"), 0)
	_, p, _ := net.SplitHostPort(stalled6)
	ok4 := serveLoopback(t, "tcp4", net.JoinHostPort("127.0.0.1", p))
	other := serveLoopback(t, "tcp4", "127.0.0.1:0")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := port(closed.Addr())
	closed.Close()
	dns := &fakeDNS{hosts: map[string][]netip.Addr{
		"both.ourio.test":  {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		"two4.ourio.test":  {netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")},
		"only6.ourio.test": {netip.MustParseAddr("::1")},
	}}
	r := roles{}.port(ok4.Addr(), "{port}").port(other.Addr(), "{other}")
	r[":"+refused] = ":{refused}"
	res := dns.resolver()
	cases := []struct {
		name, network, address string
		cfg                    dialConfig
		want                   outcome
		took                   time.Duration // at least
	}{
		// ::1 sorts first (RFC 6724) and stalls; 127.0.0.1 races it after
		// FallbackDelay and wins.
		{"fallback wins", "tcp", "both.ourio.test:" + p, dialConfig{FallbackDelay: 150 * time.Millisecond}, connected("127.0.0.1:{port}", "127.0.0.1"), 150 * time.Millisecond},
		// Without Happy Eyeballs ::1 has all of the time, being given at
		// least two seconds; see below for the outcome.
		{"no fallback", "tcp", "both.ourio.test:" + p, dialConfig{FallbackDelay: -1, Timeout: 500 * time.Millisecond}, outcome{}, 500 * time.Millisecond},
		// DualStack, deprecated, changes nothing.
		{"no fallback, DualStack", "tcp", "both.ourio.test:" + p, dialConfig{DualStack: true, FallbackDelay: -1, Timeout: 500 * time.Millisecond}, outcome{}, 500 * time.Millisecond},
		{"fallback wins, DualStack", "tcp", "both.ourio.test:" + p, dialConfig{DualStack: true, FallbackDelay: 150 * time.Millisecond}, connected("127.0.0.1:{port}", "127.0.0.1"), 150 * time.Millisecond},
		{"both refused", "tcp", "both.ourio.test:" + refused, dialConfig{}, outcome{Text: "dial tcp [::1]:{refused}: connect: connection refused", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(ECONNREFUSED)"}, 0},
		{"both refused, serial", "tcp", "both.ourio.test:" + refused, dialConfig{FallbackDelay: -1}, outcome{Text: "dial tcp [::1]:{refused}: connect: connection refused", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(ECONNREFUSED)"}, 0},
		{"tcp4 of both", "tcp4", "both.ourio.test:" + p, dialConfig{}, connected("127.0.0.1:{port}", "127.0.0.1"), 0},
		{"tcp6 of both", "tcp6", "both.ourio.test:" + refused, dialConfig{}, outcome{Text: "dial tcp6 [::1]:{refused}: connect: connection refused", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(ECONNREFUSED)"}, 0},
		{"local address filters", "tcp", "both.ourio.test:" + p, dialConfig{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}, connected("127.0.0.1:{port}", "127.0.0.1"), 0},
		{"local address filters all", "tcp", "only6.ourio.test:" + p, dialConfig{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}, outcome{Text: "dial tcp: address 127.0.0.1:0: no suitable address found", Chain: "*net.OpError > *net.AddrError"}, 0},
		// The first refuses, the next is tried.
		{"second of two", "tcp", "two4.ourio.test:" + port(other.Addr()), dialConfig{}, connected("127.0.0.1:{other}", "127.0.0.1"), 0},
		{"tcp4 of only6", "tcp4", "only6.ourio.test:" + p, dialConfig{}, outcome{Text: "dial tcp4: lookup only6.ourio.test on {dns}: no such host", Chain: "*net.OpError > *net.DNSError"}, 0},
		{"unknown name", "tcp", "nowhere.ourio.test:" + p, dialConfig{}, outcome{Text: "dial tcp: lookup nowhere.ourio.test on {dns}: no such host", Chain: "*net.OpError > *net.DNSError"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Resolver = res
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				start := time.Now()
				o := dialCase(t, s, cfg, c.network, c.address, r)
				if took := time.Since(start); took < c.took || took > c.took+5*time.Second {
					t.Errorf("%s: the dial took %v, want %v or a little more", s.name, took, c.took)
				}
				return o
			})
			if server := dns.serverAddr(); server != "" {
				for i := range got {
					got[i].Text = roles{server: "{dns}"}.apply(got[i].Text)
				}
			}
			if strings.HasPrefix(c.name, "no fallback") {
				// In package net, when the socket's deadline fires
				// first the dial fails on ::1 with the socket's
				// timeout; when the context's fires first, the dial
				// fails as it moves on to 127.0.0.1, with the
				// context's.
				eachOneOf(t, c.name, got,
					outcome{Text: "dial tcp [::1]:{port}: i/o timeout", Chain: "*net.OpError > *poll.DeadlineExceededError", Flags: "timeout deadline"},
					outcome{Text: "dial tcp 127.0.0.1:{port}: i/o timeout", Chain: "*net.OpError > unexported", Flags: "timeout ctx-deadline"})
				return
			}
			sameOutcome(t, c.name, got, c.want)
		})
	}
}
