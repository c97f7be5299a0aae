package compat_test

import (
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestUnixAddresses checks the addresses of a listener and of both ends of
// a connection for every kind of unix name: a path, an abstract name and
// an autobound listener, and a client that is unnamed (no LocalAddr, or
// one with an empty name, which is not bound at all), abstract or bound to
// a path; for unix and unixpacket, whose addresses say which they are.
func TestUnixAddresses(t *testing.T) {
	autobound := regexp.MustCompile(`^@[0-9a-f]{5}$`)
	for _, network := range []string{"unix", "unixpacket"} {
		for _, server := range []string{"path", "abstract", "autobound"} {
			for _, client := range []string{"none", "empty", "abstract", "path"} {
				t.Run(network+"/"+server+"/"+client, func(t *testing.T) {
					forEachStack(t, func(t *testing.T, s unixStack) {
						dir := sockDir(t)
						var address string
						switch server {
						case "path":
							address = dir + "/s"
						case "abstract":
							address = abstractName(s.name + "-addr-srv-" + network)
						}
						var laddr net.Addr
						clientName := "@" // an unnamed socket reads as '@'
						switch client {
						case "empty":
							laddr = &net.UnixAddr{Name: "", Net: network}
						case "abstract":
							clientName = abstractName(s.name + "-addr-cli-" + network + "-" + server)
							laddr = &net.UnixAddr{Name: clientName, Net: network}
						case "path":
							clientName = dir + "/c"
							laddr = &net.UnixAddr{Name: clientName, Net: network}
						}
						ln, c, sc := s.pair(t, network, address, laddr)
						serverName := ln.Addr().String()
						switch server {
						case "autobound":
							if !autobound.MatchString(serverName) {
								t.Errorf("autobound listener's name %q, want '@' and five hex digits", serverName)
							}
						default:
							checkAddr(t, "listener", ln.Addr(), unixAddr(network, address))
						}
						checkAddr(t, "client local", c.LocalAddr(), unixAddr(network, clientName))
						checkAddr(t, "client remote", c.RemoteAddr(), unixAddr(network, serverName))
						checkAddr(t, "server local", sc.LocalAddr(), unixAddr(network, serverName))
						checkAddr(t, "server remote", sc.RemoteAddr(), unixAddr(network, clientName))
						if client == "empty" {
							// Nothing was bound: the kernel has no name for
							// the client either.
							raw, _ := c.(syscall.Conn).SyscallConn()
							var sa syscall.Sockaddr
							var err error
							raw.Control(func(fd uintptr) { sa, err = syscall.Getsockname(int(fd)) })
							if err != nil || sa.(*syscall.SockaddrUnix).Name != "@" {
								t.Errorf("client's kernel name %+v (%v), want unnamed", sa, err)
							}
						}
						echoOnce(t, c, sc)
					})
				})
			}
		}
	}
}

// echoOnce sends a few bytes each way between two ends of a connection.
func echoOnce(t *testing.T, a, b net.Conn) {
	t.Helper()
	for _, p := range [][2]net.Conn{{a, b}, {b, a}} {
		if _, err := p[0].Write([]byte("ping")); err != nil {
			t.Fatalf("write: %v", err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(p[1], buf); err != nil || string(buf) != "ping" {
			t.Fatalf("read %q, %v", buf, err)
		}
	}
}

// TestUnixNameLengths checks the limits of sun_path's 108 bytes: an
// abstract name may fill them all (no NUL ends it), a path needs one for
// its NUL, and a name that does not fit fails listen and dial with EINVAL,
// whether given with '@' or a leading NUL.
func TestUnixNameLengths(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		dir := sockDir(t)
		pathOf := func(n int) string { return dir + "/" + strings.Repeat("p", n-len(dir)-1) }
		abstractOf := func(n int) string {
			name := abstractName(s.name + "-len-")
			return name + strings.Repeat("a", n-len(name))
		}
		for _, network := range []string{"unix", "unixpacket"} {
			for _, name := range []string{abstractOf(108), pathOf(107), "\x00" + abstractOf(108)[1:]} {
				ln, c, sc := s.pair(t, network, name, nil)
				want := name
				if name[0] == 0 {
					want = "@" + name[1:]
				}
				checkAddr(t, "listener", ln.Addr(), unixAddr(network, want))
				checkAddr(t, "client remote", c.RemoteAddr(), unixAddr(network, want))
				checkAddr(t, "server local", sc.LocalAddr(), unixAddr(network, want))
				echoOnce(t, c, sc)
				ln.Close()
			}
			for _, name := range []string{abstractOf(109), pathOf(108), pathOf(200), "\x00" + abstractOf(109)[1:]} {
				shown := (&net.UnixAddr{Name: name, Net: network}).String()
				_, err := s.listen(network, name)
				checkErr(t, "listen "+shown, err, opErr{
					text: "listen " + network + " " + shown + ": bind: invalid argument",
					op:   "listen", net: network, source: "nil", addr: unixAddr(network, name),
					errno: syscall.EINVAL,
				})
				_, err = s.dial(nil, network, name)
				checkErr(t, "dial "+shown, err, opErr{
					text: "dial " + network + " " + shown + ": connect: invalid argument",
					op:   "dial", net: network, source: "nil", addr: unixAddr(network, name),
					errno: syscall.EINVAL,
				})
			}
		}
	})
}

// TestUnixRelativePath listens and dials on a path relative to the working
// directory: the addresses keep it relative, and Close removes the file
// there.
func TestUnixRelativePath(t *testing.T) {
	t.Chdir(sockDir(t))
	forEachStack(t, func(t *testing.T, s unixStack) {
		name := "rel-" + s.name
		ln, c, sc := s.pair(t, "unix", name, nil)
		checkAddr(t, "listener", ln.Addr(), unixAddr("unix", name))
		checkAddr(t, "client remote", c.RemoteAddr(), unixAddr("unix", name))
		checkAddr(t, "server local", sc.LocalAddr(), unixAddr("unix", name))
		echoOnce(t, c, sc)
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if fileExists(t, name) {
			t.Errorf("%s still exists after Close", name)
		}
	})
}

// TestUnixAbstractEmbeddedNUL uses an abstract name with a NUL inside it:
// the kernel keeps all its bytes, so a dial must give them all to reach
// it, while addresses, read up to the first NUL as in package net, show
// only the part before it (so the listener's Addr is not dialable).
func TestUnixAbstractEmbeddedNUL(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		head := abstractName(s.name + "-nul")
		name := head + "\x00tail"
		ln := s.mustListen(t, "unix", name)
		c := s.mustDial(t, nil, "unix", name)
		sc := s.mustAccept(t, ln)
		checkAddr(t, "listener", ln.Addr(), unixAddr("unix", head))
		checkAddr(t, "server local", sc.LocalAddr(), unixAddr("unix", head))
		checkAddr(t, "client remote", c.RemoteAddr(), unixAddr("unix", head))
		echoOnce(t, c, sc)
		_, err := s.dial(nil, "unix", head)
		checkErr(t, "dial the name cut at its NUL", err, opErr{
			text: "dial unix " + head + ": connect: connection refused",
			op:   "dial", net: "unix", source: "nil", addr: unixAddr("unix", head),
			errno: syscall.ECONNREFUSED,
		})
	})
}

// TestUnixAbstractEmpty listens on the empty abstract name, "@" alone (a
// sun_path of one NUL, not the unnamed address): it is a name like any
// other, dialable and reported as "@", and only one socket may hold it.
// There is one such name per network namespace, so no other test of the
// module binds it.
func TestUnixAbstractEmpty(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		ln, c, sc := s.pair(t, "unix", "@", nil)
		checkAddr(t, "listener", ln.Addr(), unixAddr("unix", "@"))
		checkAddr(t, "client remote", c.RemoteAddr(), unixAddr("unix", "@"))
		echoOnce(t, c, sc)
		for _, name := range []string{"@", "\x00"} {
			_, err := s.listen("unix", name)
			checkErr(t, "a second listener on "+name, err, opErr{
				text: "listen unix " + (&net.UnixAddr{Name: name}).String() + ": bind: address already in use",
				op:   "listen", net: "unix", source: "nil", addr: unixAddr("unix", name),
				errno: syscall.EADDRINUSE,
			})
		}
		ln.Close()
	})
}
