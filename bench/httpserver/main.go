// Command httpserver serves a hello-world HTTP response on a uringnet or a
// package net listener, with net/http or fasthttp, so that the bench command
// (and wrk or h2load by hand) can compare the transports under the same
// server code. net/http also speaks HTTP/2 over cleartext (h2c, prior
// knowledge) on the same port; fasthttp speaks HTTP/1.1 only.
//
// Once listening it prints "listening on ADDR" on stdout, then serves until
// killed.
//
//	go run -C bench ./httpserver -listener uringnet -server nethttp -addr 127.0.0.1:8081
//
// fasthttp is the third column the benchmark compares; only this command
// imports it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/ourio-go/ourio/uringnet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (port 0 picks one)")
	listener := flag.String("listener", "uringnet", "uringnet or net")
	server := flag.String("server", "nethttp", "nethttp or fasthttp")
	rings := flag.Int("rings", 0, "uringnet's rings (0: one per CPU)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("httpserver: ")

	serve, ok := servers[*server]
	if !ok {
		log.Fatalf("unknown -server %q (want nethttp or fasthttp)", *server)
	}
	if *rings > 0 {
		if err := uringnet.SetRings(*rings); err != nil {
			log.Fatal(err)
		}
	}
	ln, err := listen(*listener, *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := serve(ln); err != nil {
		log.Fatal(err)
	}
	os.Exit(1) // Serve returns only with an error
}

// servers maps -server to the function that serves hello world on ln.
var servers = map[string]func(ln net.Listener) error{
	"nethttp":  serveNetHTTP,
	"fasthttp": serveFastHTTP,
}

// listen opens the listener -listener names; uringnet refuses to fall back to
// package net, so a benchmark of it never silently measures net.
func listen(which, addr string) (net.Listener, error) {
	switch which {
	case "uringnet":
		return (&uringnet.ListenConfig{NoFallback: true}).Listen(context.Background(), "tcp", addr)
	case "net":
		return net.Listen("tcp", addr)
	}
	return nil, fmt.Errorf("unknown -listener %q (want uringnet or net)", which)
}

// hello is the response body both servers send.
var hello = []byte("hello, world\n")
