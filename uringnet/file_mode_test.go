//go:build linux

package uringnet_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/sys/unix"
)

// A File shares its socket's blocking mode with the conn or listener it
// came from. Package net's File switches it to blocking mode when its Fd is
// called (as os/exec does for ExtraFiles); uringnet's does not, and its
// sockets keep their deadlines and Close when another holder of the
// description switches it anyway.

func TestFileFdBlockingMode(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			forBoth(t, func(t *testing.T, im impl) {
				client, _ := pair(t, im, network)
				f := fileOf(t, client)
				f.Fd()
				_, nonblock := fdModes(t, sockFd(t, client))
				// What package net does is the reason for the difference,
				// so it is checked too.
				if want := im.name == uringImpl.name; nonblock != want {
					t.Errorf("after the File's Fd the conn's socket is non-blocking: %v, want %v", nonblock, want)
				}
			})
		})
	}
}

// blockingHolder clears O_NONBLOCK on the description x's socket shares
// with f, as a process handed f might.
func blockingHolder(t *testing.T, x any, f *os.File) {
	t.Helper()
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		t.Fatal(err)
	}
	if _, nonblock := fdModes(t, sockFd(t, x)); nonblock {
		t.Fatal("the socket is still non-blocking: the description is not shared")
	}
}

func TestConnSurvivesBlockingMode(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			client, server := pair(t, uringImpl, network)
			blockingHolder(t, client, fileOf(t, client))
			exchange(t, "to the conn in blocking mode", server, client, "in")
			exchange(t, "from the conn in blocking mode", client, server, "out")
			within(t, 5*time.Second, "Read past its deadline in blocking mode", func() {
				client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				_, err := client.Read(make([]byte, 8))
				checkTimeout(t, "Read in blocking mode", err)
			})
			client.SetReadDeadline(time.Time{})
			ch, _ := blocked(t, func() error { _, err := client.Read(make([]byte, 8)); return err })
			client.Close()
			if err := wait(t, ch, 5*time.Second, "Read in blocking mode after Close"); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read in blocking mode after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}

func TestListenerSurvivesBlockingMode(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			t.Run("File", func(t *testing.T) {
				ln := listen(t, uringImpl, network, loopback(t, network))
				blockingHolder(t, ln, fileOf(t, ln))
				acceptInBlockingMode(t, network, ln, ln.Addr().String())
			})
			t.Run("FileListener", func(t *testing.T) {
				// A file from package net's File, adopted, and then
				// switched to blocking mode by its Fd. Nothing accepts
				// on net's listener, which stays open.
				std := listen(t, stdImpl, network, loopback(t, network))
				f := fileOf(t, std)
				ln, err := uringnet.FileListener(f)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				f.Fd()
				if _, nonblock := fdModes(t, sockFd(t, ln)); nonblock {
					t.Fatal("net's File's Fd left the shared socket non-blocking: nothing to test")
				}
				acceptInBlockingMode(t, network, ln, ln.Addr().String())
			})
		})
	}
}

// acceptInBlockingMode checks that ln accepts, times out and closes while
// its socket is in blocking mode. An Accept stuck in the kernel is freed by
// a connection, so that the failure is reported, not a hang.
func acceptInBlockingMode(t *testing.T, network string, ln net.Listener, addr string) {
	t.Helper()
	client, server := acceptDial(t, uringImpl, ln, network, addr)
	exchange(t, "accepted in blocking mode", client, server, "hi")
	unstick := func(ch <-chan error, what string) error {
		select {
		case err := <-ch:
			return err
		case <-time.After(5 * time.Second):
		}
		t.Errorf("%s: still blocked after 5s", what)
		if c, err := net.DialTimeout(network, addr, 5*time.Second); err == nil {
			defer c.Close()
		}
		select {
		case err := <-ch:
			return err
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: a connection did not free it either", what)
		}
		return nil
	}
	accept := func() <-chan error {
		ch := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if c != nil {
				c.Close()
			}
			ch <- err
		}()
		return ch
	}
	ln.(deadliner).SetDeadline(time.Now().Add(50 * time.Millisecond))
	checkTimeout(t, "Accept in blocking mode", unstick(accept(), "Accept past its deadline"))
	ln.(deadliner).SetDeadline(time.Time{})
	ch := accept()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- ln.Close() }() // Close waits for a stuck Accept
	if err := unstick(ch, "Accept after Close"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept in blocking mode after Close: %v, want net.ErrClosed", err)
	}
	if err := unstick(closed, "Close"); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestFileConnOfBlockingSocket adopts a socket made in blocking mode, as
// one inherited from a service manager may be: both put it in non-blocking
// mode, and its deadlines work.
func TestFileConnOfBlockingSocket(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fds[0]), "blocking")
		peer := os.NewFile(uintptr(fds[1]), "peer")
		defer peer.Close()
		c, err := fileFuncs(im).conn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, nonblock := fdModes(t, sockFd(t, c)); !nonblock {
			t.Error("the adopted socket is still in blocking mode")
		}
		wantConnType(t, im, "unix", c)
		within(t, 5*time.Second, "Read past its deadline", func() {
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, err := c.Read(make([]byte, 8))
			checkTimeout(t, "Read of the adopted blocking socket", err)
		})
		exchange(t, "to the adopted socket", peer, c, "abc")
	})
}
