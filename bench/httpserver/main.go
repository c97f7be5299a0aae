// Command httpserver serves a small net/http response on a uringnet or a
// package net listener, so a load generator such as wrk can compare the two
// transports with the same server code.
//
//	go run ./bench/httpserver -listener uringnet -addr 127.0.0.1:8081
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"

	"github.com/ourio-go/ourio/uringnet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	which := flag.String("listener", "uringnet", "uringnet or net")
	flag.Parse()

	var ln net.Listener
	var err error
	switch *which {
	case "uringnet":
		ln, err = (&uringnet.ListenConfig{NoFallback: true}).Listen(context.Background(), "tcp", *addr)
	case "net":
		ln, err = net.Listen("tcp", *addr)
	default:
		log.Fatalf("unknown listener %q", *which)
	}
	if err != nil {
		log.Fatal(err)
	}
	hello := []byte("hello, world\n")
	log.Printf("serving on %s (%s)", ln.Addr(), *which)
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})))
}
