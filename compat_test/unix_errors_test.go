package compat_test

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnixDialErrors checks what dialing each kind of dead end reports: a
// missing path (ENOENT), a socket file nobody listens on, a regular file,
// a directory and an abstract name nobody has (ECONNREFUSED); with and
// without a LocalAddr, which package net reports as the error's Source
// whatever it names.
func TestUnixDialErrors(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				dir := sockDir(t)
				stale := dir + "/stale"
				old := s.mustListen(t, network, stale)
				old.(unlinker).SetUnlinkOnClose(false)
				old.Close()
				regular := dir + "/regular"
				if err := os.WriteFile(regular, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				sub := dir + "/dir"
				if err := os.Mkdir(sub, 0o700); err != nil {
					t.Fatal(err)
				}
				targets := []struct {
					name  string
					errno syscall.Errno
					text  string
				}{
					{dir + "/missing", syscall.ENOENT, "no such file or directory"},
					{dir + "/no/such/dir", syscall.ENOENT, "no such file or directory"},
					{stale, syscall.ECONNREFUSED, "connection refused"},
					{regular, syscall.ECONNREFUSED, "connection refused"},
					{sub, syscall.ECONNREFUSED, "connection refused"},
					{abstractName(s.name + "-nobody-" + network), syscall.ECONNREFUSED, "connection refused"},
				}
				for _, la := range []struct {
					name  string
					addr  net.Addr
					shown string // how the error's text shows it
				}{
					{"none", nil, ""},
					{"empty", &net.UnixAddr{Name: "", Net: network}, " "},
					{"abstract", &net.UnixAddr{Name: abstractName(s.name + "-src-" + network), Net: network}, " " + abstractName(s.name+"-src-"+network)},
				} {
					for _, tg := range targets {
						_, err := s.dial(la.addr, network, tg.name)
						sep := " "
						if la.addr != nil {
							sep = "->"
						}
						checkErr(t, la.name+" LocalAddr, dial "+tg.name, err, opErr{
							text: "dial " + network + la.shown + sep + tg.name + ": connect: " + tg.text,
							op:   "dial", net: network, source: addrDesc(la.addr), addr: unixAddr(network, tg.name),
							errno: tg.errno,
						})
					}
				}
			})
		})
	}
}

// TestUnixDialBadInput checks dials refused before any socket: no address,
// a LocalAddr of another network, an unknown network; and a LocalAddr the
// kernel cannot bind.
func TestUnixDialBadInput(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		dir := sockDir(t)
		path := dir + "/s"
		s.mustListen(t, "unix", path)
		for _, network := range []string{"unix", "unixpacket"} {
			_, err := s.dial(nil, network, "")
			checkErr(t, network+" dial with no address", err, opErr{
				text: "dial " + network + ": missing address",
				op:   "dial", net: network, source: "nil", addr: "nil",
			})
		}
		for _, la := range []net.Addr{&net.TCPAddr{}, &net.UnixAddr{Name: "@x", Net: "unixpacket"}, &net.UnixAddr{Name: "@x", Net: "unixgram"}} {
			_, err := s.dial(la, "unix", path)
			checkErr(t, "LocalAddr "+addrDesc(la), err, opErr{
				text: "dial unix: address " + la.String() + ": mismatched local address type",
				op:   "dial", net: "unix", source: "nil", addr: "nil",
			})
		}
		_, err := s.dial(nil, "unixfoo", path)
		checkErr(t, "dial unixfoo", err, opErr{
			text: "dial unixfoo: unknown network unixfoo",
			op:   "dial", net: "unixfoo", source: "nil", addr: "nil",
		})
		_, err = s.listen("unixfoo", path)
		checkErr(t, "listen unixfoo", err, opErr{
			text: "listen unixfoo: unknown network unixfoo",
			op:   "listen", net: "unixfoo", source: "nil", addr: "nil",
		})

		taken := &net.UnixAddr{Name: path, Net: "unix"}
		_, err = s.dial(taken, "unix", path)
		checkErr(t, "LocalAddr in use", err, opErr{
			text: "dial unix " + path + "->" + path + ": bind: address already in use",
			op:   "dial", net: "unix", source: addrDesc(taken), addr: unixAddr("unix", path),
			errno: syscall.EADDRINUSE,
		})
		long := &net.UnixAddr{Name: "@" + string(make([]byte, 108)), Net: "unix"}
		_, err = s.dial(long, "unix", path)
		checkErr(t, "LocalAddr too long", err, opErr{
			text: "dial unix " + long.String() + "->" + path + ": bind: invalid argument",
			op:   "dial", net: "unix", source: addrDesc(long), addr: unixAddr("unix", path),
			errno: syscall.EINVAL,
		})
	})
}

// TestUnixDialBacklogFull dials a listener that accepts nothing until its
// backlog (net.core.somaxconn, which both stacks ask for) is full: the
// kernel takes one connection more than the backlog, and the next dial
// fails at once with EAGAIN rather than waiting, as in package net.
func TestUnixDialBacklogFull(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	backlog, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if need := uint64(backlog + 1000); lim.Cur < need {
		lim.Cur = min(need, lim.Max)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		if lim.Cur < need {
			t.Fatalf("RLIMIT_NOFILE allows %d descriptors; filling a backlog of %d needs %d", lim.Cur, backlog, need)
		}
	}
	forEachStack(t, func(t *testing.T, s unixStack) {
		path := sockDir(t) + "/s"
		s.mustListen(t, "unix", path)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for len(conns) <= backlog {
			c, err := s.dial(nil, "unix", path)
			if err != nil {
				t.Fatalf("dial %d of a backlog of %d: %v", len(conns)+1, backlog, err)
			}
			conns = append(conns, c)
		}
		start := time.Now()
		_, err := s.dial(nil, "unix", path)
		checkErr(t, "dial past the backlog", err, opErr{
			text: "dial unix " + path + ": connect: resource temporarily unavailable",
			op:   "dial", net: "unix", source: "nil", addr: unixAddr("unix", path),
			errno: syscall.EAGAIN,
		})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the dial past the backlog took %v, want an immediate failure", d)
		}
	})
}
