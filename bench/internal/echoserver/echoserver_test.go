package echoserver

import (
	"bytes"
	"context"
	"github.com/ourio-go/ourio/core"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/sys/unix"
)

// pingPong checks that every connection gets back exactly what it sent, for
// messages smaller and larger than the server's buffer.
func pingPong(t *testing.T, addr string) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second)) // a broken server fails, not hangs
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for _, size := range []int{1, 64, 4096, 3 * 4096} {
				msg := bytes.Repeat([]byte{byte('a' + i)}, size)
				got := make([]byte, size)
				for range 20 {
					if _, err := c.Write(msg); err != nil {
						t.Error(err)
						return
					}
					if _, err := io.ReadFull(c, got); err != nil {
						t.Error(err)
						return
					}
					if !bytes.Equal(got, msg) {
						t.Errorf("conn %d size %d: echo differs", i, size)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestGoroutinesNet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Goroutines(ln, 4096) }()
	pingPong(t, ln.Addr().String())
	ln.Close()
	if err := <-done; err == nil {
		t.Fatal("Goroutines returned nil after the listener closed")
	}
}

func TestGoroutinesUringnet(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	ln, err := (&uringnet.ListenConfig{NoFallback: true}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Goroutines(ln, 4096) }()
	pingPong(t, ln.Addr().String())
	ln.Close()
	<-done
}

func TestCallback(t *testing.T) {
	testStoppable(t, func(ln, stop int) error { return Callback(ln, stop, 4096) })
}

func TestCallbackEpoll(t *testing.T) {
	testStoppable(t, func(ln, stop int) error { return CallbackOn(core.BackendEpoll, ln, stop, 4096) })
	testStoppable(t, func(ln, stop int) error { return CallbackRingsOn(core.BackendEpoll, ln, stop, 4096, 3) })
}

// TestCallbackRings runs three serving rings, more than this machine may
// have CPUs, so that the handover goes round more than once among the
// pingPong's connections.
func TestCallbackRings(t *testing.T) {
	testStoppable(t, func(ln, stop int) error { return CallbackRings(ln, stop, 4096, 3) })
	testStoppable(t, func(ln, stop int) error { return CallbackRings(ln, stop, 4096, 0) })
}

// testStoppable runs a callback server on a fresh listener, checks its
// echo, and stops it through an eventfd while a connection is open, which
// the server must then close.
func testStoppable(t *testing.T, serve func(ln, stop int) error) {
	t.Helper()
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	ln, addr, err := ListenFd("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(stop)
	done := make(chan error, 1)
	go func() { done <- serve(ln, stop) }()

	pingPong(t, addr.String())
	// A connection still open at the stop is closed by the server.
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	unix.Write(stop, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop within 10s")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after stop = %d, %v; want EOF", n, err)
	}
}

func TestListenFdIPv6(t *testing.T) {
	fd, addr, err := ListenFd("[::1]:0")
	if err != nil {
		t.Skip(err) // no IPv6 loopback here
	}
	defer unix.Close(fd)
	if !addr.Addr().Is6() || addr.Port() == 0 {
		t.Fatalf("bound address %v", addr)
	}
}
