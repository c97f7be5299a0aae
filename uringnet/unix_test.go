//go:build linux

package uringnet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// TestUnixDialNilUnixLocalAddr dials with a LocalAddr that is a nil
// *net.UnixAddr, on which package net panics: uringnet takes it for no
// address, as a nil *net.TCPAddr is for TCP, and dials unbound.
func TestUnixDialNilUnixLocalAddr(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		path := t.TempDir() + "/s"
		ln := listen(t, uringImpl, network, path)
		d := uringnet.Dialer{LocalAddr: (*net.UnixAddr)(nil), NoFallback: true, Timeout: 10 * time.Second}
		c, err := d.Dial(network, path)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if got := c.LocalAddr().String(); got != "@" || c.LocalAddr().Network() != network {
			t.Errorf("%s: LocalAddr %s on %s, want @ (unnamed) on %s", network, got, c.LocalAddr().Network(), network)
		}
		c.Close()
		ln.Close()
		// Nor does it name a Source in a dial's error.
		_, err = d.Dial(network, path)
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Source != nil {
			t.Errorf("%s: dial to a closed listener: %v, want an OpError with no Source", network, err)
		}
	}
}

// TestUnixUnlinkOnCloseRace calls SetUnlinkOnClose while other goroutines
// close the listener: under -race nothing may race or hang, and exactly one
// Close succeeds.
func TestUnixUnlinkOnCloseRace(t *testing.T) {
	dir := t.TempDir()
	for round := range 50 {
		path := fmt.Sprintf("%s/s%d", dir, round)
		ln, err := (&uringnet.ListenConfig{NoFallback: true}).Listen(context.Background(), "unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ul := ln.(*uringnet.Listener)
		var wg sync.WaitGroup
		var closedOK atomic.Int32
		for g := range 4 {
			wg.Go(func() {
				if g%2 == 0 {
					ul.SetUnlinkOnClose(g == 0)
					return
				}
				if ul.Close() == nil {
					closedOK.Add(1)
				}
			})
		}
		within(t, 5*time.Second, "Close and SetUnlinkOnClose", wg.Wait)
		if closedOK.Load() != 1 {
			t.Fatalf("round %d: %d Closes succeeded, want 1", round, closedOK.Load())
		}
	}
}

// TestUnixMsgConcurrentClose runs Read, ReadMsgUnix, Write, WriteMsgUnix
// and the deadline setters of one unix connection from many goroutines
// while one of them closes it: under -race nothing may race, panic or
// hang, and afterwards both message calls report net.ErrClosed.
func TestUnixMsgConcurrentClose(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		for round := range 10 {
			client, server := pair(t, uringImpl, network)
			go drain(server)
			go func() { // the peer talks back, so Reads have data too
				for {
					if _, err := server.Write([]byte("back")); err != nil {
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			mc := client.(*uringnet.Conn)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range 12 {
				wg.Go(func() {
					<-start
					buf, oob := make([]byte, 512), make([]byte, 64)
					for i := range 40 {
						var err error
						switch (g + i) % 7 {
						case 0:
							_, err = client.Read(buf)
						case 1:
							_, _, _, _, err = mc.ReadMsgUnix(buf, oob)
						case 2:
							_, err = client.Write(buf)
						case 3:
							_, _, err = mc.WriteMsgUnix(buf, nil, nil)
						case 4:
							err = client.SetReadDeadline(time.Now().Add(time.Millisecond))
						case 5:
							err = client.SetWriteDeadline(time.Now().Add(time.Millisecond))
						case 6:
							if g == round%12 && i > 15 {
								err = client.Close()
							}
						}
						if errors.Is(err, net.ErrClosed) {
							return
						}
					}
				})
			}
			close(start)
			within(t, 10*time.Second, "goroutines", wg.Wait)
			client.Close()
			if _, _, _, _, err := mc.ReadMsgUnix(make([]byte, 1), nil); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: ReadMsgUnix after Close: %v", network, err)
			}
			if _, _, err := mc.WriteMsgUnix([]byte("x"), nil, nil); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: WriteMsgUnix after Close: %v", network, err)
			}
			server.Close()
		}
	}
}
