//go:build linux

package uringnet

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The close gate (wakeup.go) beside an op still finishing on the same
// side: a Write blocked on the ring, Close, and a ReadFrom(file) that
// starts once closed is set and fails without the write side's lock. It
// must neither panic (the gate and the Write's take shared a WaitGroup
// count) nor return before the descriptor is closed.
func TestCloseGateBesideFinishingOp(t *testing.T) {
	file, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	file.Write(make([]byte, 4096))
	var panics, early atomic.Int32
	rounds := 150
	for i := 0; i < rounds; i++ {
		lc := ListenConfig{NoFallback: true}
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d := Dialer{NoFallback: true}
		nc, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c := nc.(*Conn)
		c.SetWriteBuffer(4096)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // Y: a Write that blocks
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					panics.Add(1)
					t.Logf("Y panic: %v", r)
				}
			}()
			c.Write(make([]byte, 8<<20))
		}()
		time.Sleep(5 * time.Millisecond)
		fdnum := c.fd.fd
		var closeReturned atomic.Bool
		go func() { // X
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					panics.Add(1)
					t.Logf("X panic: %v", r)
				}
			}()
			for !c.fd.closed.Load() {
			}
			file.Seek(0, 0)
			_, err := c.ReadFrom(file)
			if err == nil {
				t.Errorf("ReadFrom: nil error")
			}
			if !closeReturned.Load() {
				if _, ferr := unix.FcntlInt(uintptr(fdnum), unix.F_GETFD, 0); ferr == nil {
					early.Add(1)
				}
			}
		}()
		time.Sleep(100 * time.Microsecond)
		c.Close()
		closeReturned.Store(true)
		wg.Wait()
		peer.Close()
		ln.Close()
	}
	if panics.Load() != 0 || early.Load() != 0 {
		t.Errorf("of %d rounds: %d panicked, %d ReadFroms returned with the descriptor open", rounds, panics.Load(), early.Load())
	}
}
