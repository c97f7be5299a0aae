package compat_test

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// unlinker is the unix listener's SetUnlinkOnClose, which both stacks
// have.
type unlinker interface {
	SetUnlinkOnClose(bool)
}

// TestUnixListenerUnlinkOnClose checks that Close removes the socket file
// Listen made, keeps it after SetUnlinkOnClose(false), removes it again
// after SetUnlinkOnClose(true), and that a second Close removes nothing:
// not even a file made at the path in between.
func TestUnixListenerUnlinkOnClose(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				dir := sockDir(t)
				for _, tc := range []struct {
					name    string
					set     []bool
					removed bool
				}{
					{"default", nil, true},
					{"false", []bool{false}, false},
					{"false-then-true", []bool{false, true}, true},
					{"true", []bool{true}, true},
				} {
					path := dir + "/" + tc.name
					ln := s.mustListen(t, network, path)
					if !fileExists(t, path) {
						t.Fatalf("%s: Listen made no file at %s", tc.name, path)
					}
					for _, v := range tc.set {
						ln.(unlinker).SetUnlinkOnClose(v)
					}
					if err := ln.Close(); err != nil {
						t.Fatalf("%s: Close: %v", tc.name, err)
					}
					if got := !fileExists(t, path); got != tc.removed {
						t.Errorf("%s: file removed by Close: %v, want %v", tc.name, got, tc.removed)
					}
				}

				path := dir + "/twice"
				ln := s.mustListen(t, network, path)
				if err := ln.Close(); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				checkErr(t, "second Close", ln.Close(), opErr{
					text: "close " + network + " " + path + ": use of closed network connection",
					op:   "close", net: network, source: "nil", addr: unixAddr(network, path),
					closed: true,
				})
				if !fileExists(t, path) {
					t.Errorf("the second Close removed a file made after the first")
				}
			})
		})
	}
}

// TestUnixListenerAbstractLeavesFiles closes abstract and autobound
// listeners in a directory that holds files spelt like their names: an
// abstract name has no file, so Close must not remove one.
func TestUnixListenerAbstractLeavesFiles(t *testing.T) {
	dir := sockDir(t)
	t.Chdir(dir)
	forEachStack(t, func(t *testing.T, s unixStack) {
		name := abstractName(s.name + "-nofile")
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		ln := s.mustListen(t, "unix", name)
		checkAddr(t, "abstract listener", ln.Addr(), unixAddr("unix", name))
		ln.(unlinker).SetUnlinkOnClose(true)
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		auto := s.mustListen(t, "unix", "")
		autoName := auto.Addr().String()
		if err := os.WriteFile(autoName, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := auto.Close(); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{name, autoName} {
			if !fileExists(t, n) {
				t.Errorf("closing the listener on %s removed the file ./%s", n, n)
			}
			os.Remove(n)
		}
	})
}

// TestUnixListenInUse listens where a name is taken: by a listening
// socket (path or abstract), by a stale socket file, by a regular file;
// each fails with EADDRINUSE and leaves the file alone. A path in a
// missing directory fails with ENOENT.
func TestUnixListenInUse(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				dir := sockDir(t)
				live := dir + "/live"
				s.mustListen(t, network, live)
				abstract := abstractName(s.name + "-inuse-" + network)
				s.mustListen(t, network, abstract)
				stale := dir + "/stale"
				old := s.mustListen(t, network, stale)
				old.(unlinker).SetUnlinkOnClose(false)
				old.Close()
				regular := dir + "/regular"
				if err := os.WriteFile(regular, []byte("data"), 0o600); err != nil {
					t.Fatal(err)
				}
				for _, name := range []string{live, abstract, stale, regular} {
					_, err := s.listen(network, name)
					checkErr(t, "listen on "+name, err, opErr{
						text: "listen " + network + " " + name + ": bind: address already in use",
						op:   "listen", net: network, source: "nil", addr: unixAddr(network, name),
						errno: syscall.EADDRINUSE,
					})
					if name[0] != '@' && !fileExists(t, name) {
						t.Errorf("the failed Listen removed %s", name)
					}
				}
				missing := dir + "/no/such/dir"
				_, err := s.listen(network, missing)
				checkErr(t, "listen in a missing directory", err, opErr{
					text: "listen " + network + " " + missing + ": bind: no such file or directory",
					op:   "listen", net: network, source: "nil", addr: unixAddr(network, missing),
					errno: syscall.ENOENT,
				})
			})
		})
	}
}

// TestUnixAcceptDeadlineAndClose checks a unix listener's Accept past its
// deadline, unblocked by Close, and after Close, and SetDeadline after
// Close.
func TestUnixAcceptDeadlineAndClose(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				path := sockDir(t) + "/s"
				ln := s.mustListen(t, network, path)
				dl := ln.(interface{ SetDeadline(time.Time) error })
				laddr := unixAddr(network, path)
				dl.SetDeadline(time.Now().Add(20 * time.Millisecond))
				_, err := ln.Accept()
				checkErr(t, "Accept past its deadline", err, opErr{
					text: "accept " + network + " " + path + ": i/o timeout",
					op:   "accept", net: network, source: "nil", addr: laddr, timeout: true,
				})
				dl.SetDeadline(time.Now().Add(testTimeout))
				done := make(chan error, 1)
				go func() {
					_, err := ln.Accept()
					done <- err
				}()
				time.Sleep(20 * time.Millisecond)
				ln.Close()
				select {
				case err = <-done:
				case <-time.After(testTimeout):
					t.Fatal("Close did not unblock Accept")
				}
				closed := opErr{
					text: "accept " + network + " " + path + ": use of closed network connection",
					op:   "accept", net: network, source: "nil", addr: laddr, closed: true,
				}
				checkErr(t, "Accept unblocked by Close", err, closed)
				_, err = ln.Accept()
				checkErr(t, "Accept after Close", err, closed)
				// Package net's listeners return the bare error here,
				// unlike its connections.
				if err := dl.SetDeadline(time.Now()); err != net.ErrClosed {
					t.Errorf("SetDeadline after Close: %v (%T), want net.ErrClosed itself", err, err)
				}
			})
		})
	}
}

// TestUnixClientFileStays checks that the socket file a dial's LocalAddr
// made outlives the connection: only a listener's Close removes a file,
// and a later dial from the same name finds it taken.
func TestUnixClientFileStays(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				dir := sockDir(t)
				path, local := dir+"/s", dir+"/c"
				laddr := &net.UnixAddr{Name: local, Net: network}
				_, c, sc := s.pair(t, network, path, laddr)
				if !fileExists(t, local) {
					t.Fatalf("the dial made no file at %s", local)
				}
				c.Close()
				sc.Close()
				if !fileExists(t, local) {
					t.Errorf("closing the connection removed %s", local)
				}
				_, err := s.dial(laddr, network, path)
				checkErr(t, "a second dial from "+local, err, opErr{
					text: "dial " + network + " " + local + "->" + path + ": bind: address already in use",
					op:   "dial", net: network, source: addrDesc(laddr), addr: unixAddr(network, path),
					errno: syscall.EADDRINUSE,
				})
			})
		})
	}
}
