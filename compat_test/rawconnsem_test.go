package compat_test

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

// stackPair returns a client dialed with s to a listener of s on address,
// and the connection that listener accepted; all are closed when the test
// ends. r names the client's and the server's addresses.
func stackPair(t *testing.T, s stack, network, address string) (client, server net.Conn, r roles) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := s.listen(ctx, listenConfig{}, network, address)
	if err != nil {
		t.Fatalf("%s: listen %s %s: %v", s.name, network, address, err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("%s: accept: %v", s.name, err)
		}
		accepted <- c
	}()
	client, err = s.dial(ctx, dialConfig{}, network, ln.Addr().String())
	if err != nil {
		t.Fatalf("%s: dial %s: %v", s.name, ln.Addr(), err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-accepted:
	case <-ctx.Done():
		t.Fatalf("%s: accept did not return", s.name)
	}
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { server.Close() })
	r = roles{client.LocalAddr().String(): "{client}", server.LocalAddr().String(): "{server}"}
	return client, server, r
}

// TestRawConnPastDeadline: a RawConn's Read or Write whose deadline has
// passed fails with the timeout without calling f, as in package net; a
// closed connection's fails with net.ErrClosed, also without calling f.
func TestRawConnPastDeadline(t *testing.T) {
	type rawOp struct {
		name string
		op   func(c syscall.RawConn, f func(uintptr) bool) error
		set  func(c net.Conn, t time.Time) error
		verb string
	}
	ops := []rawOp{
		{"Read", syscall.RawConn.Read, net.Conn.SetReadDeadline, "raw-read"},
		{"Write", syscall.RawConn.Write, net.Conn.SetWriteDeadline, "raw-write"},
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				c, _, r := stackPair(t, s, "tcp", "127.0.0.1:0")
				rc, err := c.(syscall.Conn).SyscallConn()
				if err != nil {
					t.Fatal(err)
				}
				if err := o.set(c, time.Now().Add(-time.Second)); err != nil {
					t.Fatal(err)
				}
				calls := 0
				err = o.op(rc, func(uintptr) bool { calls++; return true })
				res := errOutcome(err, r)
				res.Text += fmt.Sprintf(" (f called %d times)", calls)
				return res
			})
			sameOutcome(t, "raw "+o.name+" past its deadline", got, outcome{
				Text:  o.verb + " tcp {client}->{server}: i/o timeout (f called 0 times)",
				Chain: "*net.OpError > *poll.DeadlineExceededError",
				Flags: "timeout deadline",
			})
		})
		t.Run(o.name+"Closed", func(t *testing.T) {
			got := bothStacks(t, func(t *testing.T, s stack) outcome {
				c, _, r := stackPair(t, s, "tcp", "127.0.0.1:0")
				rc, err := c.(syscall.Conn).SyscallConn()
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				calls := 0
				err = o.op(rc, func(uintptr) bool { calls++; return true })
				res := errOutcome(err, r)
				res.Text += fmt.Sprintf(" (f called %d times)", calls)
				return res
			})
			sameOutcome(t, "raw "+o.name+" after Close", got, outcome{
				Text:  o.verb + " tcp {client}->{server}: use of closed network connection (f called 0 times)",
				Chain: "*net.OpError > unexported",
				Flags: "closed",
			})
		})
	}
}

// TestRawConnDeadlineWhileWaiting: a raw Read whose f asks to wait is
// ended by the read deadline, after f was called once, as in package net.
func TestRawConnDeadlineWhileWaiting(t *testing.T) {
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		c, _, r := stackPair(t, s, "tcp", "127.0.0.1:0")
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		calls := 0
		err = rc.Read(func(uintptr) bool { calls++; return false })
		res := errOutcome(err, r)
		res.Text += fmt.Sprintf(" (f called %d times)", calls)
		return res
	})
	sameOutcome(t, "raw Read waiting past its deadline", got, outcome{
		Text:  "raw-read tcp {client}->{server}: i/o timeout (f called 1 times)",
		Chain: "*net.OpError > *poll.DeadlineExceededError",
		Flags: "timeout deadline",
	})
}

// TestSyscallConnAfterClose: a closed connection still gives its RawConn,
// whose calls then fail with net.ErrClosed, as in package net.
func TestSyscallConnAfterClose(t *testing.T) {
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		c, _, r := stackPair(t, s, "tcp", "127.0.0.1:0")
		c.Close()
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			return errOutcome(err, r)
		}
		calls := 0
		res := errOutcome(rc.Control(func(uintptr) { calls++ }), r)
		res.Text += fmt.Sprintf(" (f called %d times)", calls)
		return res
	})
	sameOutcome(t, "SyscallConn after Close", got, outcome{
		Text:  "raw-control tcp {client}: use of closed network connection (f called 0 times)",
		Chain: "*net.OpError > unexported",
		Flags: "closed",
	})
}
