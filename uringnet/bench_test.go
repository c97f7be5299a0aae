package uringnet_test

import (
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/ourio-go/ourio/internal/echotest"
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
	echotest.Serve(ln, 64)
	clients := echotest.Clients(b, ln.Addr().String(), conns)
	echotest.PingPong(clients, 1000, 64)
	cpu0 := echotest.CPUTime()
	b.ResetTimer()
	echotest.PingPong(clients, b.N, 64)
	b.StopTimer()
	b.ReportMetric(float64(echotest.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
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
