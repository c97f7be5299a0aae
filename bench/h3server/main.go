// Command h3server serves HTTP/3 with quic-go on a uringnet or a package net
// UDP socket, so that the bench command's h3 family can compare the two
// transports under the same server code: a 64-byte response at /small, N
// bytes of a deterministic pattern at /bytes?n=N, and at /transport what
// the socket really is. Its TLS certificate is self-signed, made at
// start-up.
//
// Once listening it prints "listening on ADDR" on stdout and what it runs
// on on stderr, then serves until killed. uringnet never falls back to
// package net: where io_uring is refused the command fails.
//
//	go run -C bench ./h3server -transport uringnet -addr 127.0.0.1:8443
//
// -cpuprofile FILE writes a CPU profile of a window of the run
// (-profile-after, -profile-for), for reading where the server's time goes.
//
// quic-go is the HTTP/3 stack the benchmark measures; only this command
// and the bench command's client import it.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"time"

	"github.com/ourio-go/ourio/bench/internal/h3"
)

func main() {
	transport := flag.String("transport", "uringnet", "uringnet or net")
	addr := flag.String("addr", "127.0.0.1:0", "UDP address to listen on (port 0 picks one)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the server to this file (-profile-after, -profile-for)")
	profileAfter := flag.Duration("profile-after", time.Second, "with -cpuprofile: start profiling this long after listening")
	profileFor := flag.Duration("profile-for", 3*time.Second, "with -cpuprofile: how long to profile")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("h3server: ")

	pc, desc, err := h3.Listen(*transport, *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := h3.Server(desc)
	if err != nil {
		log.Fatal(err)
	}
	if *profile != "" {
		go profileWindow(*profile, *profileAfter, *profileFor)
	}
	fmt.Printf("listening on %s\n", pc.LocalAddr())
	fmt.Fprintf(os.Stderr, "h3server: HTTP/3 (quic-go) on %s\n", desc)
	log.Fatal(srv.Serve(pc)) // Serve returns only with an error
}

// profileWindow profiles the process's CPU from after to after+d into path;
// the server is killed rather than stopped, so the profile is written
// while it still runs.
func profileWindow(path string, after, d time.Duration) {
	time.Sleep(after)
	f, err := os.Create(path)
	if err != nil {
		log.Printf("cpuprofile: %v", err)
		return
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Printf("cpuprofile: %v", err)
		return
	}
	time.Sleep(d)
	pprof.StopCPUProfile()
	fmt.Fprintf(os.Stderr, "h3server: wrote %s\n", path)
}
