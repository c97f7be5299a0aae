// Command echoserver is the TCP echo server that the bench command starts as a
// separate process, so its CPU time is measured apart from the load
// generator. -impl picks the transport:
//
//	net       package net, a goroutine per connection
//	uringnet  the same code on a uringnet listener
//	callback  core's callback API on one ring, no goroutine per connection
//	callback-epoll  the callback server on core's epoll backend
//	callback-epoll-rings  callback-rings on core's epoll backend
//	callback-rings  the same on a ring per CPU (-rings, as uringnet), each on its own
//	          locked OS thread, an acceptor ring handing connections over
//	gnet      github.com/panjf2000/gnet/v2, an epoll event loop per CPU
//	netpoll   github.com/cloudwego/netpoll, epoll pollers and a goroutine pool
//
// gnet and netpoll are the event-loop peers the benchmark compares Ourio
// against; only this command imports them.
//
// Once listening it prints "listening on ADDR" on stdout, then serves until
// killed (gnet and netpoll also stop cleanly on SIGTERM or SIGINT).
//
//	go run -C bench ./echoserver -impl callback -addr 127.0.0.1:7007
//
// -trace FILE writes a runtime trace of a window of the run (-trace-after,
// -trace-for), for reading where goroutines waited under load:
//
//	go tool trace -pprof=sched FILE > sched.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/ourio-go/ourio/bench/internal/echoserver"
	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/uringnet"
)

// udpAddrPortConn is what *net.UDPConn and *uringnet.UDPConn both have.
type udpAddrPortConn interface {
	ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort([]byte, netip.AddrPort) (int, error)
}

func main() {
	impl := flag.String("impl", "net", "net, uringnet, callback, callback-epoll, callback-rings, callback-epoll-rings, gnet or netpoll; udp-net, udp-uringnet or udp-callback for UDP")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (port 0 picks one)")
	bufSize := flag.Int("buf", 4096, "read buffer size per connection")
	rings := flag.Int("rings", 0, "serving rings for callback-rings and uringnet (0: one per CPU)")
	tracePath := flag.String("trace", "", "write a runtime trace of the server to this file (-trace-after, -trace-for)")
	traceAfter := flag.Duration("trace-after", 2*time.Second, "with -trace: start tracing this long after listening")
	traceFor := flag.Duration("trace-for", 2*time.Second, "with -trace: how long to trace")
	flag.Parse()
	if *tracePath != "" {
		go traceWindow(*tracePath, *traceAfter, *traceFor)
	}
	log.SetFlags(0)
	log.SetPrefix("echoserver: ")

	var ln net.Listener
	var err error
	switch *impl {
	case "net":
		ln, err = net.Listen("tcp", *addr)
	case "uringnet":
		if *rings > 0 {
			if err := uringnet.SetRings(*rings); err != nil {
				log.Fatal(err)
			}
		}
		ln, err = (&uringnet.ListenConfig{NoFallback: true}).Listen(context.Background(), "tcp", *addr)
	case "callback":
		fd, bound, err := echoserver.ListenFd(*addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("listening on %s\n", bound)
		log.Fatal(echoserver.Callback(fd, -1, *bufSize))
	case "callback-epoll":
		fd, bound, err := echoserver.ListenFd(*addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("listening on %s\n", bound)
		log.Fatal(echoserver.CallbackOn(core.BackendEpoll, fd, -1, *bufSize))
	case "callback-epoll-rings":
		fd, bound, err := echoserver.ListenFd(*addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("listening on %s\n", bound)
		log.Fatal(echoserver.CallbackRingsOn(core.BackendEpoll, fd, -1, *bufSize, *rings))
	case "callback-rings":
		fd, bound, err := echoserver.ListenFd(*addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("listening on %s\n", bound)
		log.Fatal(echoserver.CallbackRings(fd, -1, *bufSize, *rings))
	case "gnet":
		if err := serveGnet(*addr, *bufSize); err != nil {
			log.Fatal(err)
		}
		return
	case "netpoll":
		if err := serveNetpoll(*addr); err != nil {
			log.Fatal(err)
		}
		return
	case "udp-net", "udp-uringnet":
		var pc net.PacketConn
		if *impl == "udp-net" {
			pc, err = net.ListenPacket("udp", *addr)
		} else {
			pc, err = (&uringnet.ListenConfig{NoFallback: true}).ListenPacket(context.Background(), "udp", *addr)
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("listening on %s\n", pc.LocalAddr())
		log.Fatal(echoserver.UDPGoroutine(pc.(udpAddrPortConn), *bufSize))
	case "udp-callback":
		fd, bound, err := echoserver.ListenUDPFd(*addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("listening on %s\n", bound)
		log.Fatal(echoserver.UDPCallback(fd, *bufSize))
	default:
		log.Fatalf("unknown -impl %q (want net, uringnet, callback, callback-epoll, callback-rings, callback-epoll-rings, gnet or netpoll)", *impl)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Fatal(echoserver.Goroutines(ln, *bufSize))
}
