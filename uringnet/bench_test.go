//go:build linux

package uringnet_test

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

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

// BenchmarkAbortRead measures what net/http does once per request: a Read
// waiting for data is interrupted by a read deadline in the past, and the
// deadline is cleared again. cpu-ns/op is the process's CPU per abort.
func BenchmarkAbortRead(b *testing.B) {
	for _, impl := range []string{"uringnet", "stdnet"} {
		b.Run(impl, func(b *testing.B) {
			listen := net.Listen
			if impl == "uringnet" {
				listen = uringnet.Listen
			}
			ln, err := listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			server, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			defer server.Close()
			done := make(chan error)
			buf := make([]byte, 1)
			read := func() {
				_, err := server.Read(buf)
				done <- err
			}
			cpu0 := echotest.CPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				go read()
				// Let the Read reach its wait, as net/http's background
				// read has by the time the response is written.
				runtime.Gosched()
				server.SetReadDeadline(aLongTimeAgo)
				if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
					b.Fatalf("Read after a past deadline: %v", err)
				}
				server.SetReadDeadline(time.Time{})
			}
			b.StopTimer()
			b.ReportMetric(float64(echotest.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

var aLongTimeAgo = time.Unix(1, 0)
