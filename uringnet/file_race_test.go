//go:build linux

package uringnet_test

import (
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// TestFileRacesClose takes Files of a conn and a listener, and adopts them,
// from several goroutines while another closes them: each File either
// works or fails with net.ErrClosed, and no descriptor is left behind.
func TestFileRacesClose(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Fatal(err) // the rings' own descriptors are not to count
	}
	before := countFDs(t)
	for round := range 20 {
		ln := listen(t, uringImpl, "tcp", "127.0.0.1:0")
		client, server := acceptDial(t, uringImpl, ln, "tcp", ln.Addr().String())
		var wg sync.WaitGroup
		for i := range 4 {
			x := any(client)
			if i%2 == 1 {
				x = ln
			}
			wg.Go(func() {
				for {
					f, err := x.(filer).File()
					if err != nil {
						if !errors.Is(err, net.ErrClosed) {
							t.Errorf("File racing Close: %v, want net.ErrClosed", err)
						}
						return
					}
					adoptAndClose(t, x, f)
				}
			})
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		client.Close()
		ln.Close()
		wg.Wait()
		server.Close()
	}
	// Closed sockets' descriptors go at once, but wait a little for the
	// count rather than race a finalizer of an *os.File.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n := countFDs(t); n <= before || time.Now().After(deadline) {
			if n > before {
				t.Errorf("%d descriptors open, %d before", n, before)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// adoptAndClose adopts f as x's kind, closes f, then what it adopted.
func adoptAndClose(t *testing.T, x any, f *os.File) {
	var c interface{ Close() error }
	var err error
	if _, ok := x.(net.Listener); ok {
		c, err = uringnet.FileListener(f)
	} else {
		c, err = uringnet.FileConn(f)
	}
	f.Close()
	if err != nil {
		t.Errorf("adopting a File: %v", err)
		return
	}
	if err := c.Close(); err != nil {
		t.Errorf("closing what was adopted: %v", err)
	}
}
