//go:build linux

package uringnet_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/sys/unix"
)

// fileInputs are descriptors for FileConn and FileListener, each made fresh
// by its function: ours are adopted onto a ring, the other sockets go to
// package net, and the rest are rejected.
var fileInputs = []struct {
	name string
	ours bool
	make func(t *testing.T) *os.File
}{
	{"regular file", false, func(t *testing.T) *os.File {
		f, err := os.CreateTemp(t.TempDir(), "regular")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}},
	{"closed file", false, func(t *testing.T) *os.File {
		f, err := os.CreateTemp(t.TempDir(), "closed")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		return f
	}},
	{"directory", false, func(t *testing.T) *os.File {
		f, err := os.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return f
	}},
	{"pipe", false, func(t *testing.T) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		return r
	}},
	{"netlink socket", false, func(t *testing.T) *os.File {
		return socketFile(t, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	}},
	{"udp socket", false, func(t *testing.T) *os.File {
		f := socketFile(t, unix.AF_INET, unix.SOCK_DGRAM, 0)
		bindLoopback(t, f)
		return f
	}},
	{"unixgram pair", false, func(t *testing.T) *os.File { return socketpairFile(t, unix.SOCK_DGRAM) }},
	{"unixpacket pair", false, func(t *testing.T) *os.File { return socketpairFile(t, unix.SOCK_SEQPACKET) }},
	{"unbound tcp socket", true, func(t *testing.T) *os.File { return socketFile(t, unix.AF_INET, unix.SOCK_STREAM, 0) }},
	{"unix stream pair", true, func(t *testing.T) *os.File { return socketpairFile(t, unix.SOCK_STREAM) }},
}

func socketFile(t *testing.T, family, sotype, proto int) *os.File {
	t.Helper()
	fd, err := unix.Socket(family, sotype|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		t.Fatalf("socket(%d, %d, %d): %v", family, sotype, proto, err)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("socket-%d-%d", family, sotype))
}

func bindLoopback(t *testing.T, f *os.File) {
	t.Helper()
	if err := unix.Bind(sockFd(t, f), &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
}

func socketpairFile(t *testing.T, sotype int) *os.File {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, sotype|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	other := os.NewFile(uintptr(fds[1]), "pair-peer")
	t.Cleanup(func() { other.Close() })
	return os.NewFile(uintptr(fds[0]), "pair")
}

// TestFileConnAndListenerInputs gives both implementations the same
// descriptors: each must fail with the same error, or return a conn or
// listener of the same type.
func TestFileConnAndListenerInputs(t *testing.T) {
	for _, in := range fileInputs {
		t.Run(in.name, func(t *testing.T) {
			f := in.make(t)
			defer f.Close()
			stdC, stdErr := net.FileConn(f)
			urC, urErr := uringnet.FileConn(f)
			conn, listener := "", ""
			if in.ours {
				conn, listener = "*uringnet.Conn", "*uringnet.Listener"
			}
			sameOutcome(t, "FileConn", stdC, stdErr, urC, urErr, conn)
			stdL, stdErr := net.FileListener(f)
			urL, urErr := uringnet.FileListener(f)
			sameOutcome(t, "FileListener", stdL, stdErr, urL, urErr, listener)
		})
	}
	t.Run("nil", func(t *testing.T) {
		if c, err := uringnet.FileConn(nil); err == nil {
			c.Close()
			t.Error("FileConn(nil) succeeded")
		}
		if l, err := uringnet.FileListener(nil); err == nil {
			l.Close()
			t.Error("FileListener(nil) succeeded")
		}
	})
}

// sameOutcome compares what net and uringnet returned for one input, then
// closes what they returned.
// oursType, if set, is the type uringnet must return where net returns its
// own.
func sameOutcome[T interface{ Close() error }](t *testing.T, what string, std T, stdErr error, ur T, urErr error, oursType string) {
	t.Helper()
	if stdErr == nil {
		defer std.Close()
	}
	if urErr == nil {
		defer ur.Close()
	}
	switch {
	case stdErr != nil && urErr != nil:
		// The address is package net's unexported fileAddr there and
		// uringnet's here: compare what it says.
		stdShape, urShape := shapeOf(stdErr, nil), shapeOf(urErr, nil)
		stdShape.Addr, urShape.Addr = opAddr(stdErr), opAddr(urErr)
		sameShape(t, what, stdShape, urShape)
		if stdErr.Error() != urErr.Error() {
			t.Errorf("%s: net says %q, uringnet %q", what, stdErr, urErr)
		}
	case stdErr == nil && urErr == nil:
		got, want := fmt.Sprintf("%T", ur), fmt.Sprintf("%T", std)
		if oursType != "" {
			want = oursType
		}
		if got != want {
			t.Errorf("%s: net returned %T, uringnet %s, want %s", what, std, got, want)
		}
	default:
		t.Errorf("%s: net returned %v, uringnet %v", what, stdErr, urErr)
	}
}

// opAddr shows the Addr of err's *net.OpError by its network and text.
func opAddr(err error) string {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Addr == nil {
		return "nil"
	}
	return oe.Addr.Network() + " " + oe.Addr.String()
}

// TestFileOfWrongKind adopts a listening socket as a conn and a connected
// one as a listener: both succeed, as in package net, and the first
// operation fails as net's does.
func TestFileOfWrongKind(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			compare(t, "Read of an adopted listening socket", func(t *testing.T, im impl) errShape {
				ln := listen(t, im, network, loopback(t, network))
				c, err := fileFuncs(im).conn(fileOf(t, ln))
				if err != nil {
					t.Fatalf("FileConn of a listening socket: %v", err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Read(make([]byte, 8))
				return shapeOf(err, addrRoles(c))
			})
			compare(t, "Write of an adopted listening socket", func(t *testing.T, im impl) errShape {
				ln := listen(t, im, network, loopback(t, network))
				c, err := fileFuncs(im).conn(fileOf(t, ln))
				if err != nil {
					t.Fatalf("FileConn of a listening socket: %v", err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Write([]byte("x"))
				return shapeOf(err, addrRoles(c))
			})
			compare(t, "Accept of an adopted connected socket", func(t *testing.T, im impl) errShape {
				client, _ := pair(t, im, network)
				ln, err := fileFuncs(im).listener(fileOf(t, client))
				if err != nil {
					t.Fatalf("FileListener of a connected socket: %v", err)
				}
				defer ln.Close()
				ln.(deadliner).SetDeadline(time.Now().Add(5 * time.Second))
				_, err = ln.Accept()
				return shapeOf(err, roles{ln.Addr().String(): "listener"})
			})
		})
	}
}

// addrRoles is connRoles for a conn that may have no remote address.
func addrRoles(c net.Conn) roles {
	r := roles{}
	if a := c.LocalAddr(); a != nil {
		r[a.String()] = "local"
	}
	if a := c.RemoteAddr(); a != nil {
		r[a.String()] = "remote"
	}
	return r
}
