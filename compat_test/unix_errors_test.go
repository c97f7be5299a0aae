package compat_test

import (
	"context"
	"errors"
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

// TestUnixControlAndContext checks the Control hooks of a unix dial and
// listen (the network and address they are given, the socket's type, an
// error they return) and a dial whose context has ended or whose deadline
// has passed, which fails before connecting.
func TestUnixControlAndContext(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				path := sockDir(t) + "/s"
				wantType := map[string]int{"unix": syscall.SOCK_STREAM, "unixpacket": syscall.SOCK_SEQPACKET}[network]
				var seen []string
				control := func(nw, address string, c syscall.RawConn) error {
					typ := -1
					c.Control(func(fd uintptr) { typ, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TYPE) })
					seen = append(seen, nw+" "+address+" "+strconv.Itoa(typ))
					return nil
				}
				boom := errors.New("boom")
				failing := func(string, string, syscall.RawConn) error { return boom }
				ctx := context.Background()
				want := network + " " + path + " " + strconv.Itoa(wantType)

				ln, err := s.listenWith(ctx, control, network, path)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				c, err := s.dialWith(ctx, dialOpts{control: control}, network, path)
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				if len(seen) != 2 || seen[0] != want || seen[1] != want {
					t.Errorf("Control saw %q, want %q for the listen and the dial", seen, want)
				}

				_, err = s.listenWith(ctx, failing, network, path+"2")
				checkErr(t, "listen whose Control fails", err, opErr{
					text: "listen " + network + " " + path + "2: boom",
					op:   "listen", net: network, source: "nil", addr: unixAddr(network, path+"2"),
				})
				if fileExists(t, path+"2") {
					t.Errorf("the failed listen left %s", path+"2")
				}
				laddr := &net.UnixAddr{Name: abstractName(s.name + "-ctl-" + network), Net: network}
				_, err = s.dialWith(ctx, dialOpts{laddr: laddr, control: failing}, network, path)
				checkErr(t, "dial whose Control fails", err, opErr{
					text: "dial " + network + " " + laddr.Name + "->" + path + ": boom",
					op:   "dial", net: network, source: addrDesc(laddr), addr: unixAddr(network, path),
				})

				cancelled, cancel := context.WithCancel(ctx)
				cancel()
				_, err = s.dialWith(cancelled, dialOpts{laddr: laddr}, network, path)
				checkErr(t, "dial with a cancelled context", err, opErr{
					text: "dial " + network + " " + laddr.Name + "->" + path + ": operation was canceled",
					op:   "dial", net: network, source: addrDesc(laddr), addr: unixAddr(network, path),
				})
				if !errors.Is(err, context.Canceled) {
					t.Errorf("the cancelled dial's error %v is not context.Canceled", err)
				}
				_, err = s.dialWith(ctx, dialOpts{deadline: time.Now().Add(-time.Second)}, network, path)
				if err == nil {
					t.Fatal("dial past its deadline succeeded")
				}
				// Package net's dial timeout matches context.DeadlineExceeded
				// but not os.ErrDeadlineExceeded; uringnet's, which TCP dials
				// share (internal/neterr), matches both, a question of the
				// dialer as a whole that this unix suite leaves out.
				got := describe(t, err)
				got.timeout = false
				if want := (opErr{
					text: "dial " + network + " " + path + ": i/o timeout",
					op:   "dial", net: network, source: "nil", addr: unixAddr(network, path),
				}); got != want {
					t.Errorf("dial past its deadline:\n got  %+v\n want %+v", got, want)
				}
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("dial past its deadline: %v is not a timeout matching context.DeadlineExceeded", err)
				}
			})
		})
	}
}
