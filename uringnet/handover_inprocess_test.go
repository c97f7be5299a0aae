//go:build linux

package uringnet_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCloseWhileSharedSocketAccepts closes one of two listeners on the same
// socket (the original and one adopted from its File) while clients keep
// connecting, many times over: every connection must be answered by one
// listener or the other, and promptly: a connection the closing
// listener's accept took from the socket as it was cancelled must be
// handed out, not dropped, and one it was woken for but had not taken must
// not wait for the next arrival to wake the other listener.
func TestCloseWhileSharedSocketAccepts(t *testing.T) {
	forBoth(t, func(t *testing.T, im impl) {
		var answered, dialed atomic.Int64
		for round := range 30 {
			if err := closeWhileSharedAccepts(t, im, round, &dialed, &answered); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		t.Logf("%d connections, %d answered", dialed.Load(), answered.Load())
	})
}

func closeWhileSharedAccepts(t *testing.T, im impl, round int, dialed, answered *atomic.Int64) error {
	first := listen(t, im, "tcp", "127.0.0.1:0")
	f := fileOf(t, first)
	second, err := fileFuncs(im).listener(f)
	if err != nil {
		return err
	}
	f.Close()
	defer second.Close()
	addr := first.Addr().String()

	var servers sync.WaitGroup
	serve := func(ln net.Listener, tag byte) {
		defer servers.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte{tag})
			c.Close()
		}
	}
	servers.Add(2)
	go serve(first, '1')
	go serve(second, '2')

	var clients sync.WaitGroup
	errs := make(chan error, 16)
	stop := make(chan struct{})
	for range 4 {
		clients.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := dialForAnswer(addr); err != nil {
					errs <- err
					return
				}
				dialed.Add(1)
				answered.Add(1)
			}
		})
	}
	// Close the first listener at a moment that varies from round to
	// round, with connections arriving.
	time.Sleep(time.Duration(2+round%7) * time.Millisecond)
	first.Close()
	time.Sleep(10 * time.Millisecond)
	close(stop)
	clients.Wait()
	second.Close()
	servers.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// dialForAnswer connects to addr and reads the one byte a listener answers.
func dialForAnswer(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		return fmt.Errorf("a connection got no answer: %w", err)
	}
	if b[0] != '1' && b[0] != '2' {
		return errors.New("a connection got a stray answer")
	}
	return nil
}
