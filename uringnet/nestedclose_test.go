//go:build linux

package uringnet_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// A socket option set inside RawConn.Control while another goroutine
// closes the conn fails with net.ErrClosed, as in package net, rather than
// waiting behind the Close that waits for the Control.
func TestSockoptInsideControlDuringClose(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		c, _ := pair(t, im, "tcp")
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go rc.Control(func(uintptr) {
			go c.Close()
			time.Sleep(50 * time.Millisecond) // Close is under way
			done <- c.(interface{ SetNoDelay(bool) error }).SetNoDelay(true)
		})
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("SetNoDelay inside Control during Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("SetNoDelay inside Control during Close still blocked after 5s")
		}
	})
}
