//go:build unix

// Package echotest is the echo workload the benchmarks share: a
// goroutine-per-connection echo server on any net.Listener, and package net
// clients that ping-pong fixed-size messages with it.
package echotest

import (
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
)

// Serve echoes every connection ln accepts, one goroutine each, reading up
// to size bytes at a time, until ln is closed.
func Serve(ln net.Listener, size int) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, size)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// Clients dials n package net connections to addr, closed when b ends.
func Clients(b testing.TB, addr string, n int) []net.Conn {
	clients := make([]net.Conn, n)
	for i := range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		clients[i] = c
	}
	return clients
}

// PingPong sends total messages of size bytes spread over clients, each
// client waiting for the echo of one message before sending the next.
func PingPong(clients []net.Conn, total, size int) {
	var wg sync.WaitGroup
	per := (total + len(clients) - 1) / len(clients)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, buf := make([]byte, size), make([]byte, size)
			for range per {
				if _, err := c.Write(msg); err != nil {
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// CPUTime returns the process's user plus system time in nanoseconds.
func CPUTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
