package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// get runs a GET through client and returns the body.
func get(ctx context.Context, t testing.TB, client *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, body
}

func TestHTTPKeepAlive(t *testing.T) {
	ctx := testCtx(t)
	srv, conns := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from %s", r.URL.Query().Get("i"), r.RemoteAddr)
	}), nil)
	client := &http.Client{Transport: uringTransport(t)}

	const n = 20
	reused := 0
	var firstLocal string
	for i := range n {
		var info httptrace.GotConnInfo
		trace := &httptrace.ClientTrace{GotConn: func(gi httptrace.GotConnInfo) { info = gi }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", fmt.Sprintf("%s/?i=%d", srv.URL, i), nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("request %d: body: %v", i, err)
		}
		if want := fmt.Sprintf("hello %d from ", i); !strings.HasPrefix(string(body), want) {
			t.Fatalf("request %d: body %q, want prefix %q", i, body, want)
		}
		if _, ok := info.Conn.(*uringnet.Conn); !ok {
			t.Fatalf("request %d: client connection is %T, want *uringnet.Conn", i, info.Conn)
		}
		if i == 0 {
			firstLocal = info.Conn.LocalAddr().String()
			if !strings.HasSuffix(string(body), firstLocal) {
				t.Errorf("server saw remote address in %q, client's local address is %s", body, firstLocal)
			}
		} else if info.Reused {
			reused++
			if got := info.Conn.LocalAddr().String(); got != firstLocal {
				t.Errorf("request %d reused a connection from %s, first was %s", i, got, firstLocal)
			}
		}
	}
	if reused != n-1 {
		t.Errorf("%d of %d follow-up requests reused the connection, want all", reused, n-1)
	}
	if got := conns.accepted(); got != 1 {
		t.Errorf("server accepted %d connections for %d keep-alive requests, want 1", got, n)
	}
}

func TestHTTPChunked(t *testing.T) {
	ctx := testCtx(t)
	const pieces = 50
	srv, _ := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" || r.ContentLength != -1 {
			http.Error(w, fmt.Sprintf("request not chunked: TE %v, length %d", r.TransferEncoding, r.ContentLength), 400)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Trailer", "X-Sum")
		// Each piece is flushed on its own, so the response goes out as
		// many chunks without a Content-Length.
		f := w.(http.Flusher)
		lines := strings.SplitAfter(string(body), "\n")
		for _, l := range lines {
			io.WriteString(w, strings.ToUpper(l))
			f.Flush()
		}
		w.Header().Set("X-Sum", strconv.Itoa(len(body)))
	}), nil)
	client := &http.Client{Transport: uringTransport(t)}

	pr, pw := io.Pipe()
	var want bytes.Buffer
	go func() {
		for i := range pieces {
			line := fmt.Sprintf("piece %d of a chunked body\n", i)
			want.WriteString(strings.ToUpper(line))
			if _, err := io.WriteString(pw, line); err != nil {
				pw.CloseWithError(err)
				return
			}
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/chunked", pr)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %s: %s", resp.Status, got)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.ContentLength != -1 {
		t.Errorf("response not chunked: TE %v, length %d", resp.TransferEncoding, resp.ContentLength)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("chunked echo: got %d bytes, want %d", len(got), want.Len())
	}
	if s := resp.Trailer.Get("X-Sum"); s != strconv.Itoa(want.Len()) {
		t.Errorf("trailer X-Sum = %q, want %d", s, want.Len())
	}
}

const bigSize = 16 << 20

func TestHTTPLargeUploadDownload(t *testing.T) {
	ctx := testCtx(t)
	srv, _ := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			d, n, err := digest(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "%d %s", n, d)
		case "/download":
			seed, _ := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
			w.Header().Set("Content-Length", strconv.Itoa(bigSize))
			io.Copy(w, payload(seed, bigSize))
		}
	}), nil)
	client := &http.Client{Transport: uringTransport(t)}

	t.Run("upload", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/upload", payload(1, bigSize))
		req.ContentLength = bigSize
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("%d %s", bigSize, mustDigest(1, bigSize)); string(body) != want {
			t.Errorf("server hashed the upload as %q, want %q", body, want)
		}
	})
	t.Run("download", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/download?seed=2", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		d, n, err := digest(resp.Body)
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		if n != bigSize || d != mustDigest(2, bigSize) {
			t.Errorf("downloaded %d bytes hashing to %s, want %d bytes hashing to %s", n, d, bigSize, mustDigest(2, bigSize))
		}
	})
}

func TestHTTPExpectContinue(t *testing.T) {
	ctx := testCtx(t)
	var bodyReads atomic.Int64
	srv, _ := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/reject" {
			// Answer without reading the body: the client must not send it.
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		d, n, err := digest(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprintf(w, "%d %s", n, d)
	}), nil)
	client := &http.Client{Transport: uringTransport(t)}
	const size = 1 << 20

	t.Run("transport/accept", func(t *testing.T) {
		var got100 atomic.Bool
		trace := &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "PUT", srv.URL+"/accept", payload(3, size))
		req.ContentLength = size
		req.Header.Set("Expect", "100-continue")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("%d %s", size, mustDigest(3, size)); string(body) != want {
			t.Errorf("body %q, want %q", body, want)
		}
		if !got100.Load() {
			t.Error("client never received 100 Continue")
		}
	})
	t.Run("transport/reject", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "PUT", srv.URL+"/reject", readCounter{payload(4, size), &bodyReads})
		req.ContentLength = size
		req.Header.Set("Expect", "100-continue")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %s, want 413", resp.Status)
		}
		if n := bodyReads.Load(); n != 0 {
			t.Errorf("client sent %d body bytes after a final response to Expect: 100-continue", n)
		}
	})
	t.Run("raw", func(t *testing.T) {
		// The same exchange byte by byte on a raw uringnet connection.
		c, err := dialer.DialContext(ctx, "tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		body := "raw body after 100-continue"
		fmt.Fprintf(c, "POST /accept HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("first line %q, %v: want 100 Continue", line, err)
		}
		if blank, _ := br.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("after 100 Continue: %q, want blank line", blank)
		}
		io.WriteString(c, body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		d, _, _ := digest(strings.NewReader(body))
		if want := fmt.Sprintf("%d %s", len(body), d); string(got) != want {
			t.Errorf("body %q, want %q", got, want)
		}
	})
}

type readCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (rc readCounter) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	rc.n.Add(int64(n))
	return n, err
}

// hijackEcho upgrades to a line protocol: after hijacking it answers each
// line with the line upper-cased, until "quit".
func hijackEcho(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "shout" {
		http.Error(w, "want Upgrade: shout", 400)
		return
	}
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	defer conn.Close()
	if _, ok := conn.(*uringnet.Conn); !ok {
		fmt.Fprintf(brw, "HTTP/1.1 500 Wrong Conn\r\nContent-Length: 0\r\n\r\n")
		brw.Flush()
		return
	}
	conn.SetDeadline(time.Now().Add(testTimeout))
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: shout\r\nConnection: Upgrade\r\n\r\n")
	brw.Flush()
	// brw.Reader may already hold bytes the client sent with the request.
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		if line == "quit\n" {
			io.WriteString(conn, "BYE\n")
			return
		}
		if _, err := io.WriteString(conn, strings.ToUpper(line)); err != nil {
			return
		}
	}
}

func TestHTTPHijack(t *testing.T) {
	ctx := testCtx(t)
	srv, conns := startServer(t, http.HandlerFunc(hijackEcho), nil)

	t.Run("raw", func(t *testing.T) {
		c, err := dialer.DialContext(ctx, "tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		// The first raw line goes in the same write as the request, so the
		// server finds it in the hijacked bufio.Reader.
		io.WriteString(c, "GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\nearly bytes\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 {
			t.Fatalf("status %s, want 101", resp.Status)
		}
		expectLine(t, br, "EARLY BYTES\n")
		for i := range 100 {
			fmt.Fprintf(c, "line %d %s\n", i, strings.Repeat("x", i*50))
			expectLine(t, br, fmt.Sprintf("LINE %d %s\n", i, strings.Repeat("X", i*50)))
		}
		io.WriteString(c, "quit\n")
		expectLine(t, br, "BYE\n")
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("after BYE: %v, want EOF", err)
		}
	})
	t.Run("transport", func(t *testing.T) {
		// net/http's client side of an upgrade: the 101 response's body is
		// the connection itself.
		client := &http.Client{Transport: uringTransport(t)}
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/up", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "shout")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 {
			t.Fatalf("status %s, want 101", resp.Status)
		}
		rwc, ok := resp.Body.(io.ReadWriteCloser)
		if !ok {
			t.Fatalf("101 body is %T, not an io.ReadWriteCloser", resp.Body)
		}
		defer rwc.Close()
		br := bufio.NewReader(rwc)
		for i := range 10 {
			fmt.Fprintf(rwc, "ping %d\n", i)
			expectLine(t, br, fmt.Sprintf("PING %d\n", i))
		}
		io.WriteString(rwc, "quit\n")
		expectLine(t, br, "BYE\n")
	})
	if hijacked := conns.count(http.StateHijacked); hijacked != 2 {
		t.Errorf("server saw %d hijacked connections, want 2", hijacked)
	}
}

func expectLine(t *testing.T, br *bufio.Reader, want string) {
	t.Helper()
	got, err := br.ReadString('\n')
	if err != nil || got != want {
		t.Fatalf("read %q (%v), want %q", got, err, want)
	}
}

func TestHTTPShutdownInFlight(t *testing.T) {
	ctx := testCtx(t)
	const inFlight = 4
	started := make(chan struct{}, inFlight)
	release := make(chan struct{})
	srv, conns := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			io.WriteString(w, "quick")
			return
		}
		// Send part of the response, then wait: Shutdown must let the
		// handler finish and the rest reach the client.
		w.Header().Set("Content-Length", strconv.Itoa(2*64<<10))
		w.Write(bytes.Repeat([]byte{'a'}, 64<<10))
		w.(http.Flusher).Flush()
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write(bytes.Repeat([]byte{'b'}, 64<<10))
	}), nil)

	// An idle keep-alive connection, which Shutdown must close.
	idleTr := uringTransport(t)
	get(ctx, t, &http.Client{Transport: idleTr}, srv.URL+"/quick")

	type result struct {
		body []byte
		err  error
	}
	results := make(chan result, inFlight)
	for range inFlight {
		// One transport each: every request has its own connection.
		client := &http.Client{Transport: uringTransport(t)}
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
			resp, err := client.Do(req)
			if err != nil {
				results <- result{nil, err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results <- result{b, err}
		}()
	}
	for range inFlight {
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatal("in-flight requests never started")
		}
	}

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Config.Shutdown(ctx) }()

	// Shutdown closes the listener first: new connections are refused.
	addr := srv.Listener.Addr().String()
	refused := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if errors.Is(err, syscall.ECONNRESET) {
			// The handshake met the listener as it closed: the kernel
			// reset it. The next dial finds no listener at all.
			continue
		}
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial after Shutdown: %v, want connection refused", err)
			}
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Fatal("listener still accepting 10s after Shutdown began")
	}
	client := &http.Client{Transport: uringTransport(t)}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/quick", nil)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request on a new connection after Shutdown succeeded: %s", resp.Status)
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v with requests still in flight", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(release)
	for range inFlight {
		r := <-results
		if r.err != nil {
			t.Errorf("in-flight request failed: %v", r.err)
			continue
		}
		want := append(bytes.Repeat([]byte{'a'}, 64<<10), bytes.Repeat([]byte{'b'}, 64<<10)...)
		if !bytes.Equal(r.body, want) {
			t.Errorf("in-flight request got %d bytes, want %d", len(r.body), len(want))
		}
	}
	select {
	case err := <-shutdownErr:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Shutdown did not return after the in-flight requests finished")
	}
	// Every connection the server accepted (the in-flight ones, the idle
	// one and the probes above) ends closed.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		acc, closed := conns.accepted(), conns.count(http.StateClosed)
		if acc == closed && acc >= inFlight+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server accepted %d connections, %d closed after Shutdown", acc, closed)
		}
	}
}

// TestHTTPClientDial runs net/http's client on uringnet connections against
// a standard server and against a uringnet server, with concurrent requests.
func TestHTTPClientDial(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, n, _ := digest(r.Body)
		fmt.Fprintf(w, "%s %s %d %s", r.Method, r.RemoteAddr, n, d)
	})
	std := httptest.NewServer(handler)
	t.Cleanup(std.Close)
	ur, _ := startServer(t, handler, nil)

	for _, tc := range []struct {
		name string
		url  string
	}{{"std-server", std.URL}, {"uringnet-server", ur.URL}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			client := &http.Client{Transport: uringTransport(t)}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 8 {
						var local net.Addr
						trace := &httptrace.ClientTrace{GotConn: func(gi httptrace.GotConnInfo) {
							if _, ok := gi.Conn.(*uringnet.Conn); !ok {
								errs <- fmt.Errorf("client connection is %T", gi.Conn)
							}
							local = gi.Conn.LocalAddr()
						}}
						size := int64(g*1000 + i*100)
						req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "POST", tc.url, payload(uint64(size), size))
						req.ContentLength = size
						resp, err := client.Do(req)
						if err != nil {
							errs <- err
							return
						}
						body, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil {
							errs <- err
							return
						}
						if want := fmt.Sprintf("POST %s %d %s", local, size, mustDigest(uint64(size), size)); string(body) != want {
							errs <- fmt.Errorf("got %q, want %q", body, want)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestHTTPServerTimeouts checks the deadlines net/http sets on accepted
// connections: ReadHeaderTimeout drops a client that never finishes its
// headers, IdleTimeout closes a keep-alive connection left idle, and
// WriteTimeout cuts off a response the client does not read.
func TestHTTPServerTimeouts(t *testing.T) {
	ctx := testCtx(t)
	const limit = 200 * time.Millisecond
	srv, _ := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flood" {
			// Far more than the socket buffers hold: with the client not
			// reading, Write blocks until WriteTimeout expires.
			chunk := bytes.Repeat([]byte{'f'}, 1<<20)
			for range 256 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		io.WriteString(w, "ok")
	}), func(s *httptest.Server) {
		s.Config.ReadHeaderTimeout = limit
		s.Config.IdleTimeout = limit
		s.Config.WriteTimeout = 2 * limit
	})
	addr := srv.Listener.Addr().String()

	// expectClosed reads from c until the server closes it, and checks
	// that this took at least min and not much longer than max.
	expectClosed := func(t *testing.T, c net.Conn, start time.Time, lo, hi time.Duration) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(testTimeout))
		n, err := io.Copy(io.Discard, c)
		elapsed := time.Since(start)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("after %d bytes: %v, want the server to close", n, err)
		}
		if elapsed < lo || elapsed > hi {
			t.Errorf("server closed the connection after %v, want between %v and %v", elapsed, lo, hi)
		}
	}

	t.Run("read-header", func(t *testing.T) {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		expectClosed(t, c, start, limit, limit+5*time.Second)
	})
	t.Run("idle", func(t *testing.T) {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		start := time.Now()
		// The connection is now idle: nothing more arrives until the
		// server gives up on it.
		c.SetReadDeadline(time.Now().Add(testTimeout))
		if b, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("idle connection: read %q, %v; want EOF", b, err)
		}
		if elapsed := time.Since(start); elapsed < limit/2 || elapsed > limit+5*time.Second {
			t.Errorf("idle connection closed after %v, want about %v", elapsed, limit)
		}
	})
	t.Run("write", func(t *testing.T) {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		io.WriteString(c, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
		// Read nothing until well past the write timeout, then drain: the
		// response must end short of 256 MiB.
		time.Sleep(4 * limit)
		c.SetReadDeadline(time.Now().Add(testTimeout))
		n, err := io.Copy(io.Discard, c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		if n >= 256<<20 {
			t.Errorf("the whole %d-byte response arrived despite WriteTimeout", n)
		}
		t.Logf("WriteTimeout cut the response off after %d bytes", n)
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("server took %v to give up writing", elapsed)
		}
	})
}

// TestHTTPClientCancel cancels a request while the response streams: the
// client's connection is closed under a blocked Read, and the server,
// whose handler is blocked writing or waiting, sees its request context
// end.
func TestHTTPClientCancel(t *testing.T) {
	tctx := testCtx(t)
	handlerDone := make(chan error, 1)
	srv, _ := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first\n"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			handlerDone <- r.Context().Err()
		case <-time.After(testTimeout):
			handlerDone <- errors.New("request context never ended")
		}
	}), nil)
	client := &http.Client{Transport: uringTransport(t)}
	ctx, cancel := context.WithCancel(tctx)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := br.ReadByte() // blocks: the handler sends nothing more
		readErr <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-readErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked body read ended with %v, want context.Canceled", err)
		}
	case <-tctx.Done():
		t.Fatal("blocked body read did not end after cancel")
	}
	resp.Body.Close()
	select {
	case err := <-handlerDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler: %v", err)
		}
	case <-tctx.Done():
		t.Fatal("handler never saw the client go away")
	}
}
