package compat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// addrNotAvailChildEnv marks the child process TestDialAddrNotAvailRetried
// and TestDialSelfConnectRetried run in a network namespace of its own,
// and says what it is to do.
const addrNotAvailChildEnv = "OURIO_COMPAT_NETNS_CHILD"

// onlyPort is the one local port the child's kernel may choose.
const onlyPort = 40000

// TestDialAddrNotAvailRetried: when the kernel picks the local port and
// the connect or bind fails with EADDRNOTAVAIL, package net tries twice
// more before it reports the error; a dial from a port of its own is not
// retried. The child's network namespace has one ephemeral port, and a
// dial to that port on 127.0.0.1 finds no local port to use.
func TestDialAddrNotAvailRetried(t *testing.T) {
	if os.Getenv(addrNotAvailChildEnv) == "notavail" {
		addrNotAvailChild(t)
		return
	}
	out := inNetns(t, "TestDialAddrNotAvailRetried", "notavail")
	got := map[string]*[2]outcome{}
	for _, line := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "netns-result ")
		if !ok {
			continue
		}
		var res struct {
			Case  string
			Stack int
			Out   outcome
		}
		if err := json.Unmarshal([]byte(rest), &res); err != nil {
			t.Fatalf("child line %q: %v", line, err)
		}
		if got[res.Case] == nil {
			got[res.Case] = new([2]outcome)
		}
		got[res.Case][res.Stack] = res.Out
	}
	notAvail := func(source string, calls int) outcome {
		return outcome{Text: fmt.Sprintf("dial tcp %s127.0.0.1:{only}: connect: cannot assign requested address (Control called %d times)", source, calls), Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EADDRNOTAVAIL)"}
	}
	for _, c := range []struct {
		name string
		want outcome
	}{
		{"no local address", notAvail("", 3)},
		// Binding to port 0 takes the one ephemeral port, and finds it
		// taken: EADDRINUSE is not retried.
		{"local port 0", outcome{Text: "dial tcp 127.0.0.1:0->127.0.0.1:{only}: bind: address already in use (Control called 1 times)", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EADDRINUSE)"}},
		{"bind not available", outcome{Text: "dial tcp 192.0.2.1:0->127.0.0.1:{only}: bind: cannot assign requested address (Control called 3 times)", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EADDRNOTAVAIL)"}},
		{"local port given", outcome{Text: "dial tcp 127.0.0.1:{given}->127.0.0.1:{only}: connect: connection refused (Control called 1 times)", Chain: "*net.OpError > *os.SyscallError > syscall.Errno(ECONNREFUSED)"}},
	} {
		g := got[c.name]
		if g == nil {
			t.Errorf("%s: the child did not report it:\n%s", c.name, out)
			continue
		}
		sameOutcome(t, c.name, *g, c.want)
	}
}

// inNetns runs this test binary's test in a child process in a network
// namespace of its own, with the child env set to mode, and returns its
// output.
func inNetns(t *testing.T, test, mode string) []byte {
	t.Helper()
	requireUring(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), addrNotAvailChildEnv+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child in a new network namespace: %v\n%s", err, out)
	}
	return out
}

// addrNotAvailChild runs in the child's network namespace: it brings the
// loopback interface up, leaves the kernel one ephemeral port, and dials
// that port with each stack.
func addrNotAvailChild(t *testing.T) {
	if err := loopbackUp(); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	setPortRange(t, onlyPort, onlyPort)
	target := fmt.Sprintf("127.0.0.1:%d", onlyPort)
	given := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: onlyPort + 1}
	r := roles{fmt.Sprintf(":%d", onlyPort): ":{only}", fmt.Sprintf(":%d", onlyPort+1): ":{given}"}
	for _, c := range []struct {
		name  string
		local net.Addr
	}{
		{"no local address", nil},
		{"local port 0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}},
		{"bind not available", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)}},
		{"local port given", given},
	} {
		for i, s := range stacks {
			calls := 0
			cfg := dialConfig{LocalAddr: c.local, Control: func(string, string, syscall.RawConn) error { calls++; return nil }}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			conn, err := s.dial(ctx, cfg, "tcp", target)
			cancel()
			if conn != nil {
				conn.Close()
			}
			o := errOutcome(err, r)
			o.Text += fmt.Sprintf(" (Control called %d times)", calls)
			b, err := json.Marshal(struct {
				Case  string
				Stack int
				Out   outcome
			}{c.name, i, o})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("netns-result %s\n", b)
		}
	}
}

// loopbackUp sets the IFF_UP flag of lo, which a new network namespace
// starts without.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// setPortRange sets the ephemeral ports of the child's namespace.
func setPortRange(t *testing.T, low, high int) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_local_port_range", fmt.Appendf(nil, "%d %d", low, high), 0); err != nil {
		t.Fatal(err)
	}
}

// TestDialSelfConnectRetried: with the kernel left two ephemeral ports, a
// dial to the first on 127.0.0.1, where nothing listens, may get that port
// and connect to itself; package net closes such a connection and tries
// again, getting the other port and ECONNREFUSED. Each stack dials in a
// namespace of its own until the kernel has chosen the dialed port once,
// as the self-connection left in TIME_WAIT shows; no dial may return a
// connection.
func TestDialSelfConnectRetried(t *testing.T) {
	if mode := os.Getenv(addrNotAvailChildEnv); strings.HasPrefix(mode, "self") {
		selfConnectChild(t, mode == "self-uringnet")
		return
	}
	var got [2]outcome
	for i, mode := range []string{"self-net", "self-uringnet"} {
		out := inNetns(t, "TestDialSelfConnectRetried", mode)
		found := false
		for _, line := range strings.Split(string(out), "\n") {
			rest, ok := strings.CutPrefix(strings.TrimSpace(line), "netns-result ")
			if !ok {
				continue
			}
			if err := json.Unmarshal([]byte(rest), &got[i]); err != nil {
				t.Fatalf("child line %q: %v", line, err)
			}
			found = true
		}
		if !found {
			t.Fatalf("%s: no result from the child:\n%s", stacks[i].name, out)
		}
	}
	sameOutcome(t, "dials that may connect to themselves", got, outcome{
		Text:  "every dial refused, one more attempt than dials, self-connection in TIME_WAIT",
		Chain: "ok",
	})
}

// selfConnectChild dials 127.0.0.1:onlyPort with one stack until the
// kernel has used the dialed port as the local one (at most eight dials),
// and prints what it saw.
func selfConnectChild(t *testing.T, uring bool) {
	if err := loopbackUp(); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	setPortRange(t, onlyPort, onlyPort+1)
	s := stacks[0]
	if uring {
		s = stacks[1]
	}
	target := fmt.Sprintf("127.0.0.1:%d", onlyPort)
	calls, dials := 0, 0
	var problems []string
	cfg := dialConfig{Control: func(string, string, syscall.RawConn) error { calls++; return nil }}
	for dials < 8 && !selfTimeWait(t) {
		dials++
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := s.dial(ctx, cfg, "tcp", target)
		cancel()
		if conn != nil {
			problems = append(problems, fmt.Sprintf("dial %d returned a connection %v -> %v", dials, conn.LocalAddr(), conn.RemoteAddr()))
			conn.Close()
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			problems = append(problems, fmt.Sprintf("dial %d: %v", dials, err))
		}
	}
	text := "every dial refused"
	if len(problems) > 0 {
		text = strings.Join(problems, "; ")
	}
	if calls == dials+1 {
		text += ", one more attempt than dials"
	} else {
		text += fmt.Sprintf(", %d attempts for %d dials", calls, dials)
	}
	if selfTimeWait(t) {
		text += ", self-connection in TIME_WAIT"
	} else {
		text += ", no self-connection seen"
	}
	b, err := json.Marshal(outcome{Text: text, Chain: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("netns-result %s\n", b)
}

// selfTimeWait reports whether /proc/net/tcp holds a socket in TIME_WAIT
// from 127.0.0.1:onlyPort to itself: what a self-connection leaves once
// closed.
func selfTimeWait(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	self := fmt.Sprintf("0100007F:%04X", onlyPort)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == self && f[2] == self && f[3] == "06" {
			return true
		}
	}
	return false
}
