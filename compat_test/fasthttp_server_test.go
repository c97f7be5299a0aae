package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// fastServer is a fasthttp server on a transport's listener.
type fastServer struct {
	srv      *fasthttp.Server
	ln       *trackedListener
	url      string
	serveErr chan error
	requests atomic.Int64
	release  chan struct{} // closing it lets /slow answer
	slowIn   chan struct{} // receives when /slow starts
	log      *lineLog
}

// lineLog collects fasthttp's log lines, to show them when a test fails.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (fs *fastServer) handle(ctx *fasthttp.RequestCtx) {
	fs.requests.Add(1)
	// The request's ordinal on its connection shows keep-alive at work.
	ctx.Response.Header.Set("X-Conn-Request", strconv.FormatUint(ctx.ConnRequestNum(), 10))
	args := ctx.QueryArgs()
	switch string(ctx.Path()) {
	case "/sum":
		// With StreamRequestBody, a body past MaxRequestBodySize arrives
		// as a stream while the handler reads it; a smaller one is read
		// before the handler runs.
		body := ctx.RequestBodyStream()
		if body == nil { // no body at all
			body = bytes.NewReader(nil)
		}
		d, n, err := digest(body)
		if err != nil {
			ctx.Error(err.Error(), 400)
			return
		}
		fmt.Fprintf(ctx, "%d %s", n, d)
	case "/close":
		ctx.SetConnectionClose()
		ctx.WriteString("closing")
	case "/stream":
		// Unknown length: fasthttp sends it chunked, a flush per piece.
		seed, size := args.GetUintOrZero("seed"), args.GetUintOrZero("size")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			r := payload(uint64(seed), int64(size))
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Read(buf)
				w.Write(buf[:n])
				if w.Flush() != nil || err != nil {
					return
				}
			}
		})
	case "/big":
		seed, size := args.GetUintOrZero("seed"), args.GetUintOrZero("size")
		ctx.SetBodyStream(payload(uint64(seed), int64(size)), size)
	case "/slow":
		fs.slowIn <- struct{}{}
		select {
		case <-fs.release:
		case <-time.After(testTimeout):
		}
		ctx.WriteString("done")
	default:
		ctx.SetStatusCode(404)
	}
}

func startFasthttp(t *testing.T, tp transport) *fastServer {
	t.Helper()
	fs := &fastServer{
		ln:       tp.listen(t),
		serveErr: make(chan error, 1),
		release:  make(chan struct{}),
		slowIn:   make(chan struct{}, 16),
		log:      &lineLog{},
	}
	fs.url = "http://" + fs.ln.Addr().String()
	fs.srv = &fasthttp.Server{
		Handler:            fs.handle,
		ReadTimeout:        testTimeout,
		WriteTimeout:       testTimeout,
		IdleTimeout:        testTimeout,
		MaxRequestBodySize: 8 << 20,
		StreamRequestBody:  true,
		// These make fasthttp set keep-alive options on the accepted
		// connection and read its remote address.
		TCPKeepalive:       true,
		TCPKeepalivePeriod: 30 * time.Second,
		MaxConnsPerIP:      1024,
		CloseOnShutdown:    true,
		Logger:             fs.log,
		LogAllErrors:       true,
	}
	go func() { fs.serveErr <- fs.srv.Serve(fs.ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := fs.srv.ShutdownWithContext(ctx); err != nil {
			t.Errorf("fasthttp shutdown: %v", err)
		}
		if t.Failed() {
			fs.log.mu.Lock()
			t.Logf("fasthttp log:\n%s", strings.Join(fs.log.lines, "\n"))
			fs.log.mu.Unlock()
		}
	})
	return fs
}
