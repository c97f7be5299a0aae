//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// The server side: "soak serve" listens on 127.0.0.1 with the transport
// asked for, prints "listening ADDR" on stdout, serves the routes below
// with net/http until SIGTERM, and every 200ms writes a line of counters
// on descriptor 3 (a pipe the parent opened before exec, so it reports
// even when the process has no descriptor left to open).

// serverCounters are updated by the handlers and the error log; each field
// is one atomic word.
type serverCounters struct {
	started, finished atomic.Int64 // handlers entered, handlers returned
	acceptErrors      atomic.Int64 // "Accept error" lines from http.Server
}

// statsLine is what the server reports on descriptor 3, space-separated
// in this order.
type statsLine struct {
	goroutines, started, finished, acceptErrors int64
}

func (s statsLine) format() string {
	return fmt.Sprintf("%d %d %d %d\n", s.goroutines, s.started, s.finished, s.acceptErrors)
}

func parseStatsLine(b []byte) (statsLine, bool) {
	var s statsLine
	f := bytes.Fields(b)
	if len(f) != 4 {
		return s, false
	}
	v := make([]int64, 4)
	for i := range f {
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return s, false
		}
		v[i] = n
	}
	return statsLine{v[0], v[1], v[2], v[3]}, true
}

// serveMain is "soak serve"; it returns the process's exit status.
func serveMain(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	transport := fs.String("transport", "uringnet", "listener: uringnet or net")
	nofile := fs.Uint64("nofile", 0, "if not 0, RLIMIT_NOFILE to set before listening")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if *nofile != 0 {
		lim := syscall.Rlimit{Cur: *nofile, Max: *nofile}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			fmt.Fprintln(os.Stderr, "serve: setrlimit:", err)
			return 1
		}
	}
	var ln net.Listener
	var err error
	switch *transport {
	case "uringnet":
		lc := uringnet.ListenConfig{NoFallback: true}
		ln, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	case "net":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		err = fmt.Errorf("unknown transport %q", *transport)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		return 1
	}
	var c serverCounters
	srv := &http.Server{
		Handler:  c.handler(),
		ErrorLog: log.New(&errorLog{c: &c}, "", 0),
	}
	stats := os.NewFile(3, "stats")
	go func() {
		for {
			line := statsLine{int64(runtime.NumGoroutine()), c.started.Load(), c.finished.Load(), c.acceptErrors.Load()}
			if _, err := io.WriteString(stats, line.format()); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Printf("listening %s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
		return 0
	case err := <-done:
		// Serve returns only on a permanent Accept error: the server died.
		fmt.Fprintln(os.Stderr, "serve: Serve returned:", err)
		return 1
	}
}

// errorLog counts http.Server's Accept errors (it logs each and retries)
// and passes every other line to stderr, where the parent keeps the tail.
type errorLog struct {
	c *serverCounters
}

func (l *errorLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("Accept error")) {
		l.c.acceptErrors.Add(1)
		return len(p), nil
	}
	return os.Stderr.Write(p)
}

// handler serves:
//
//	/get?seed=S&size=N          N bytes of S's content
//	/upload                     "SHA256HEX LENGTH" of the request body
//	/cut?seed=S&size=N&cut=K    N bytes announced, K sent, then the write
//	                            deadline is set in the past and the rest fails
//	/warm                       "ok"
func (c *serverCounters) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		seed, size, ok := seedSize(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		writeContent(w, seed, 0, size)
	})
	mux.HandleFunc("/cut", func(w http.ResponseWriter, r *http.Request) {
		seed, size, ok := seedSize(w, r)
		if !ok {
			return
		}
		cut, err := strconv.ParseInt(r.FormValue("cut"), 10, 64)
		if err != nil || cut < 0 || cut > size {
			http.Error(w, "bad cut", http.StatusBadRequest)
			return
		}
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		if writeContent(w, seed, 0, cut) != nil || rc.Flush() != nil {
			return
		}
		if err := rc.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
			// net/http on a TCP listener supports it; stderr is a violation.
			fmt.Fprintln(os.Stderr, "cut: SetWriteDeadline:", err)
			return
		}
		if writeContent(w, seed, cut, size) == nil && rc.Flush() == nil {
			fmt.Fprintln(os.Stderr, "cut: a write past its deadline succeeded")
		}
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			return // the client went away
		}
		fmt.Fprintf(w, "%x %d", h.Sum(nil), n)
	})
	mux.HandleFunc("/warm", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.started.Add(1)
		defer c.finished.Add(1)
		mux.ServeHTTP(w, r)
	})
}

func seedSize(w http.ResponseWriter, r *http.Request) (seed uint64, size int64, ok bool) {
	seed, err1 := strconv.ParseUint(r.FormValue("seed"), 10, 64)
	size, err2 := strconv.ParseInt(r.FormValue("size"), 10, 64)
	if err := errors.Join(err1, err2); err != nil || size < 0 {
		http.Error(w, "bad seed or size", http.StatusBadRequest)
		return 0, 0, false
	}
	return seed, size, true
}

var chunkPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// writeContent writes seed's content from offset from to offset to.
func writeContent(w io.Writer, seed uint64, from, to int64) error {
	buf := chunkPool.Get().(*[32 << 10]byte)
	defer chunkPool.Put(buf)
	for off := from; off < to; {
		n := min(int64(len(buf)), to-off)
		fill(seed, off, buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}
