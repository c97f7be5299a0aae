//go:build linux

package uringnet_test

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"go.uber.org/goleak"
	"golang.org/x/net/ipv4"
)

// reaper is the engine's goroutine, which lives as long as the process.
var reaper = goleak.IgnoreAnyFunction("github.com/ourio-go/ourio/uringnet.(*engine).reap")

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// TestLeakNone runs every kind of connection life, happy and not, and
// requires the process to come back to the goroutines and descriptors it
// started with.
func TestLeakNone(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	before := countFDs(t)
	ignore := goleak.IgnoreCurrent()
	func() {
		var wg sync.WaitGroup
		for _, network := range []string{"tcp", "tcp6", "unix"} {
			ln, err := uringImpl.listen(network, loopback(t, network))
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			wg.Go(func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					wg.Go(func() {
						defer c.Close()
						io.Copy(c, c)
					})
				}
			})
			for i := range 20 {
				c, err := uringImpl.Dial(network, addr)
				if err != nil {
					t.Fatal(err)
				}
				switch i % 5 {
				case 0: // echo, then close
					c.Write([]byte("ping"))
					io.ReadFull(c, make([]byte, 4))
				case 1: // a read that times out
					c.SetReadDeadline(time.Now().Add(time.Millisecond))
					c.Read(make([]byte, 4))
				case 2: // a read pending at Close
					go c.Read(make([]byte, 4))
					time.Sleep(time.Millisecond)
				case 3: // half close
					c.(interface{ CloseWrite() error }).CloseWrite()
					io.Copy(io.Discard, c)
				case 4: // reset
					if l, ok := c.(linger); ok && network != "unix" {
						l.SetLinger(0)
					}
				}
				c.Close()
			}
			// A listener closed under a pending Accept, and a Listener
			// closed twice.
			ln2, err := uringImpl.listen(network, loopback(t, network))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { ln2.Accept(); close(done) }()
			time.Sleep(time.Millisecond)
			ln2.Close()
			ln2.Close()
			<-done
			ln.Close()
		}
		// UDP: echoes, a read pending at Close, a read that times out,
		// a ReadBatch (with its buffer ring) pending at Close, and a
		// connected socket refused.
		for i := range 20 {
			pc, err := uringnet.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c := pc.(*uringnet.UDPConn)
			switch i % 4 {
			case 0:
				c.WriteTo([]byte("x"), c.LocalAddr())
				c.ReadFrom(make([]byte, 4))
			case 1:
				go c.ReadFrom(make([]byte, 4))
				time.Sleep(time.Millisecond)
			case 2:
				c.SetReadDeadline(time.Now().Add(time.Millisecond))
				c.ReadFrom(make([]byte, 4))
			case 3:
				go c.ReadBatch([]ipv4.Message{{Buffers: [][]byte{make([]byte, 8)}}}, 0)
				time.Sleep(time.Millisecond)
			}
			if i%5 == 0 {
				if d, err := uringnet.Dial("udp", c.LocalAddr().String()); err == nil {
					c.Close()
					d.Write([]byte("gone"))
					d.SetReadDeadline(time.Now().Add(time.Second))
					d.Read(make([]byte, 4))
					d.Close()
				}
			}
			c.Close()
		}
		// Failing dials: refused, canceled, timed out, bad Control.
		refused := closedPort(t, "tcp")
		for range 10 {
			if c, err := uringImpl.Dial("tcp", refused); err == nil {
				c.Close()
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		uringImpl.dial(ctx, dialOpts{}, "tcp", refused)
		uringImpl.dial(context.Background(), dialOpts{Control: func(string, string, syscall.RawConn) error { return errors.New("no") }}, "tcp", refused)
		// Failing listens.
		ln, err := uringImpl.listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		uringImpl.listen("tcp", ln.Addr().String())
		ln.Close()
		wg.Wait()
	}()
	if err := goleak.Find(ignore, reaper); err != nil {
		t.Error(err)
	}
	// Descriptors are closed synchronously, but give the runtime's own
	// pollers a moment.
	var after int
	for range 50 {
		if after = countFDs(t); after <= before {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after > before {
		t.Errorf("descriptors: %d before, %d after", before, after)
	}
}
