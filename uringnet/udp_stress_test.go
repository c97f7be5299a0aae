//go:build linux

package uringnet_test

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
)

func TestUDPAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	srv := udpListen(t, udpImpls[1], "udp4", "127.0.0.1:0")
	cl := udpListen(t, udpImpls[1], "udp4", "127.0.0.1:0")
	to := srv.LocalAddr().(*net.UDPAddr).AddrPort()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if _, err := srv.WriteToUDPAddrPort(buf[:n], from); err != nil {
				return
			}
		}
	}()
	msg, got := make([]byte, 64), make([]byte, 64)
	var failed error
	round := func() {
		if _, err := cl.WriteToUDPAddrPort(msg, to); err != nil {
			failed = err
		}
		if _, from, err := cl.ReadFromUDPAddrPort(got); err != nil || from != to {
			failed = errors.Join(failed, err)
		}
	}
	for i := 0; i < 200; i++ {
		round()
	}
	require.NoError(t, failed)
	require.Zero(t, testing.AllocsPerRun(1000, round), "allocations per WriteToUDPAddrPort and ReadFromUDPAddrPort")
	require.NoError(t, failed)
}

// TestUDPConcurrentClose runs readers and writers on one socket from many
// goroutines, beside CPU burners, with deadlines moving and Close racing
// them: every call returns, with data, a timeout or net.ErrClosed.
func TestUDPConcurrentClose(t *testing.T) {
	if err := startBurners(t, 2, 1); err != nil {
		t.Fatalf("starting CPU burners: %v", err)
	}
	for round := 0; round < 30; round++ {
		pc, err := uringnet.ListenPacket("udp4", "127.0.0.1:0")
		require.NoError(t, err)
		c := pc.(*uringnet.UDPConn)
		to := c.LocalAddr().(*net.UDPAddr).AddrPort()
		var wg sync.WaitGroup
		var unexpected atomic.Value
		check := func(err error) bool {
			if err == nil {
				return true
			}
			var ne net.Error
			if errors.Is(err, net.ErrClosed) || errors.As(err, &ne) && ne.Timeout() {
				return false
			}
			unexpected.Store(err)
			return false
		}
		for g := 0; g < 4; g++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				buf := make([]byte, 128)
				for {
					if _, _, err := c.ReadFromUDPAddrPort(buf); !check(err) && c.SetReadDeadline(time.Time{}) != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if _, err := c.WriteToUDPAddrPort([]byte("datagram"), to); !check(err) {
						return
					}
					if i%16 == 0 {
						c.SetReadDeadline(time.Now().Add(time.Duration(i%3) * time.Millisecond))
					}
				}
			}()
		}
		time.Sleep(time.Duration(1+round%5) * time.Millisecond)
		require.NoError(t, c.Close())
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: a call did not return after Close", round)
		}
		if err := unexpected.Load(); err != nil {
			t.Fatalf("round %d: unexpected error %v", round, err)
		}
		_, err = c.WriteToUDPAddrPort([]byte("x"), to)
		require.ErrorIs(t, err, net.ErrClosed)
	}
}
