package uringnet_test

import (
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/uringnet"
)

// BenchmarkEcho runs the same goroutine-per-connection echo server on a
// uringnet listener and on a package net listener, side by side, with
// package net clients doing 64-byte ping-pong. cpu-ns/op is the whole
// process's user+system time per message (clients included).
func BenchmarkEcho(b *testing.B) {
	for _, conns := range []int{1, 64} {
		for _, impl := range []string{"uringnet", "stdnet"} {
			b.Run(impl+"/conns="+strconv.Itoa(conns), func(b *testing.B) {
				listen := net.Listen
				if impl == "uringnet" {
					listen = uringnet.Listen
				}
				benchmarkEcho(b, listen, conns)
			})
		}
	}
}

func benchmarkEcho(b *testing.B, listen func(string, string) (net.Listener, error), conns int) {
	ln, err := listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
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
	clients := make([]net.Conn, conns)
	for i := range clients {
		if clients[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			b.Fatal(err)
		}
		defer clients[i].Close()
	}
	run := func(total int) {
		var wg sync.WaitGroup
		per := (total + conns - 1) / conns
		for _, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg, buf := make([]byte, 64), make([]byte, 64)
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
	run(1000)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	run(b.N)
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := (ru1.Utime.Nano() + ru1.Stime.Nano()) - (ru0.Utime.Nano() + ru0.Stime.Nano())
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReadWrite measures one Write and one Read on a uringnet
// connection against an echoing peer: allocs/op is per Write+Read pair.
func BenchmarkReadWrite(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := uringnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, buf := make([]byte, 64), make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}
