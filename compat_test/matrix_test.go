package compat_test

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
)

// The matrix tests below run every combination of network, host, port and
// local address through both stacks and require the same outcome. They
// guard the combinations the exact tests (dialsem_test.go,
// listensem_test.go) do not name; hosts are literals or in the hosts file,
// so that no lookup leaves the machine.

// matrixHosts are literal hosts of every kind, and the hosts file's
// localhost; all are on this machine, so that no dial leaves it.
var matrixHosts = []string{"", "127.0.0.1", "::1", "::", "0.0.0.0", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "localhost", "LOCALHOST", "fe80::1%lo", "::1%lo", "::1%1"}

// TestDialMatrix dials each combination with both stacks.
func TestDialMatrix(t *testing.T) {
	requireUring(t)
	v4 := serveLoopback(t, "tcp4", "127.0.0.1:0")
	v6 := serveLoopback(t, "tcp6", "[::1]:0")
	dual := serveLoopback(t, "tcp", ":0")
	r := roles{}
	r.port(v4.Addr(), "{v4}").port(v6.Addr(), "{v6}").port(dual.Addr(), "{dual}")
	ports := []string{port(v4.Addr()), port(v6.Addr()), port(dual.Addr()), "0", "99999", "-1", ""}
	locals := []net.Addr{nil, (*net.TCPAddr)(nil), &net.TCPAddr{},
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1).To4()}, &net.TCPAddr{IP: net.IPv6loopback},
		&net.TCPAddr{IP: net.IPv4zero}, &net.TCPAddr{IP: net.IPv6zero}, &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1")},
		&net.UDPAddr{}, &net.UnixAddr{Name: "/nowhere", Net: "unix"}}
	for _, network := range []string{"tcp", "tcp4", "tcp6"} {
		for _, h := range matrixHosts {
			for _, p := range ports {
				for _, la := range locals {
					address := net.JoinHostPort(h, p)
					var got [2]outcome
					for i, s := range stacks {
						got[i] = dialCase(t, s, dialConfig{LocalAddr: la}, network, address, r)
					}
					if got[0] != got[1] {
						t.Errorf("dial %s %q from %v:\n net:      %v %s\n uringnet: %v %s", network, address, la, got[0], got[0].Fields, got[1], got[1].Fields)
					}
				}
			}
		}
	}
}

// TestListenMatrix listens on each combination with both stacks and
// compares the outcome, the address Control saw and the listener's.
func TestListenMatrix(t *testing.T) {
	requireUring(t)
	busy := serveLoopback(t, "tcp", ":0")
	ports := []string{"0", "99999", "-1", "", port(busy.Addr()), "no-such-service"}
	for _, network := range []string{"tcp", "tcp4", "tcp6"} {
		// 192.0.2.1 is no local address: binding to it fails.
		for _, h := range append(matrixHosts, "192.0.2.1") {
			for _, p := range ports {
				address := net.JoinHostPort(h, p)
				var got [2]string
				for i, s := range stacks {
					var ctl string
					cfg := listenConfig{Control: func(network, address string, _ syscall.RawConn) error {
						ctl = network + " " + address
						return nil
					}}
					ln, err := s.listen(context.Background(), cfg, network, address)
					o := errOutcome(err, roles{}.port(busy.Addr(), "{busy}"))
					addr := ""
					if ln != nil {
						r := roles{}.port(ln.Addr(), "{port}")
						addr, ctl = r.apply(ln.Addr().String()), r.apply(ctl)
						ln.Close()
					}
					got[i] = fmt.Sprintf("%v %s Control(%s) Addr(%s)", o, o.Fields, ctl, addr)
				}
				if got[0] != got[1] {
					t.Errorf("listen %s %q:\n net:      %v\n uringnet: %v", network, address, got[0], got[1])
				}
			}
		}
	}
}
