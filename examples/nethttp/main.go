// Command nethttp is a plain net/http server whose sockets are io_uring
// operations: the only change from a standard server is that its listener
// comes from uringnet.Listen instead of net.Listen. It is also the server
// that compat_test drives with curl and h2load.
//
//	go run ./examples/nethttp                 # HTTP/1.1 on 127.0.0.1:8080
//	go run ./examples/nethttp -h2c            # HTTP/1.1 and h2c (prior knowledge)
//	go run ./examples/nethttp -addr 127.0.0.1:0
//
// Routes:
//
//	/       a small hello page
//	/echo   the request body sent back, with its length and SHA-256 in headers
//	/stats  JSON: whether io_uring is in use (and why not), request counts
//
// It logs whether it runs on io_uring or fell back to package net, then the
// address it listens on ("listening on ADDR"), and shuts down gracefully on
// SIGINT or SIGTERM with http.Server.Shutdown.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// stats counts requests; the handlers update it concurrently.
type stats struct {
	start     time.Time
	total     atomic.Int64
	http1     atomic.Int64
	http2     atomic.Int64
	echoBytes atomic.Int64
}

type statsReport struct {
	IOUring        bool    `json:"io_uring"`
	IOUringError   string  `json:"io_uring_error,omitempty"`
	Listener       string  `json:"listener"`
	H2C            bool    `json:"h2c"`
	UptimeSeconds  float64 `json:"uptime_seconds"`
	Requests       int64   `json:"requests"`
	RequestsHTTP1  int64   `json:"requests_http1"`
	RequestsHTTP2  int64   `json:"requests_http2"`
	EchoedBytes    int64   `json:"echoed_bytes"`
	ThisRequestVia string  `json:"this_request_via"`
}

func newMux(st *stats, listenerType string, h2c bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		backend := "io_uring"
		if err := uringnet.Available(); err != nil {
			backend = "package net (io_uring unavailable: " + err.Error() + ")"
		}
		fmt.Fprintf(w, "<!doctype html>\n<title>Ourio net/http</title>\n"+
			"<h1>Hello from net/http on %s</h1>\n"+
			"<p>You came over %s from %s.</p>\n"+
			"<ul><li><a href=\"/stats\">/stats</a>: counters as JSON</li>\n"+
			"<li>POST /echo: your body sent back</li></ul>\n",
			html.EscapeString(backend), html.EscapeString(r.Proto), html.EscapeString(r.RemoteAddr))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		// The body is streamed back as it arrives; its length and digest go
		// in trailers, since they are known only at the end. HTTP/1.x
		// handlers may not read the request once the response has started
		// unless they ask for full duplex (HTTP/2 always is).
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Trailer", "X-Echo-Length, X-Echo-Sha256")
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), r.Body)
		st.echoBytes.Add(n)
		if err != nil {
			// The client went away or sent a broken body; nothing more
			// can be said on this response.
			return
		}
		w.Header().Set("X-Echo-Length", fmt.Sprint(n))
		w.Header().Set("X-Echo-Sha256", hex.EncodeToString(h.Sum(nil)))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		rep := statsReport{
			IOUring:        uringnet.Available() == nil,
			Listener:       listenerType,
			H2C:            h2c,
			UptimeSeconds:  time.Since(st.start).Seconds(),
			Requests:       st.total.Load(),
			RequestsHTTP1:  st.http1.Load(),
			RequestsHTTP2:  st.http2.Load(),
			EchoedBytes:    st.echoBytes.Load(),
			ThisRequestVia: r.Proto,
		}
		if err := uringnet.Available(); err != nil {
			rep.IOUringError = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.total.Add(1)
		if r.ProtoMajor == 2 {
			st.http2.Add(1)
		} else {
			st.http1.Add(1)
		}
		mux.ServeHTTP(w, r)
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	h2c := flag.Bool("h2c", false, "also serve cleartext HTTP/2 (h2c with prior knowledge)")
	rings := flag.Int("rings", 0, "io_uring rings to spread connections over (0: one per core)")
	flag.Parse()
	if *rings > 0 {
		if err := uringnet.SetRings(*rings); err != nil {
			log.Fatal(err)
		}
	}

	if err := uringnet.Available(); err != nil {
		log.Printf("io_uring unavailable (%v): falling back to package net", err)
	} else {
		log.Printf("running on io_uring, %d rings", uringnet.Rings())
	}
	ln, err := uringnet.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	listenerType := fmt.Sprintf("%T", ln)

	st := &stats{start: time.Now()}
	srv := &http.Server{
		Handler:           newMux(st, listenerType, *h2c),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	if *h2c {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}

	// Register for the signals before announcing the address, so that a
	// signal sent as soon as the server is up is a graceful stop.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() {
		s := <-sig
		log.Printf("%v: shutting down", s)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()

	protos := "HTTP/1.1"
	if *h2c {
		protos += " and h2c"
	}
	log.Printf("listening on %s (%s, listener %s)", ln.Addr(), protos, listenerType)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	if err := <-done; err != nil {
		log.Fatalf("shutdown: %v", err)
	}
	log.Printf("stopped after %d requests", st.total.Load())
}
