package compat_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// httpClient returns a net/http client that dials through td and keeps at
// most one connection to each host, so a test knows how many it opens.
func httpClient(t *testing.T, td *trackedDialer) *http.Client {
	tr := &http.Transport{
		DialContext:           td.DialContext,
		ResponseHeaderTimeout: testTimeout,
		MaxConnsPerHost:       1,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// do sends req and returns the response with its whole body read.
func do(t *testing.T, client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestFasthttpKeepAlive sends 4 clients × 100 POSTs with bodies of 0 to
// 70,000 bytes and checks every answer's length and digest. On the wire,
// each client writes its requests with net/http's Request.Write and reads
// the answers with http.ReadResponse on one connection of its own, so each
// answer must carry its ordinal on the connection and the server must
// accept exactly 4 connections. Through http.Transport the same requests
// must all succeed on as many connections as the clients dialed: the
// Transport itself gives up a connection whose answer outran its writer's
// report by 50ms, which a busy machine does now and then on either stack.
func TestFasthttpKeepAlive(t *testing.T) {
	const clients, requests = 4, 100
	body := func(c, i int) (uint64, int64) { return uint64(c*1000 + i), int64((c*31 + i*977) % 70000) }
	check := func(c, i int, resp *http.Response, got []byte) error {
		seed, size := body(c, i)
		if want := fmt.Sprintf("%d %s", size, mustDigest(seed, size)); resp.StatusCode != 200 || string(got) != want {
			return fmt.Errorf("client %d request %d: %s %q, want 200 %q", c, i, resp.Status, got, want)
		}
		return nil
	}
	// run runs the clients at once, each through its own exchange function.
	run := func(t *testing.T, exchange func(c int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			wg.Go(func() {
				if err := exchange(c); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	bothTransports(t, func(t *testing.T, tp transport) {
		t.Run("wire", func(t *testing.T) {
			ctx := testCtx(t)
			fs := startFasthttp(t, tp)
			td := tp.dialer(t)
			run(t, func(c int) error {
				conn, err := td.DialContext(ctx, "tcp", fs.ln.Addr().String())
				if err != nil {
					return err
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(testTimeout))
				br := bufio.NewReader(conn)
				for i := range requests {
					seed, size := body(c, i)
					req, _ := http.NewRequest("POST", fs.url+"/sum", payload(seed, size))
					req.ContentLength = size
					if err := req.Write(conn); err != nil {
						return fmt.Errorf("client %d request %d: %v", c, i, err)
					}
					resp, err := http.ReadResponse(br, req)
					if err != nil {
						return fmt.Errorf("client %d request %d: %v", c, i, err)
					}
					got, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						return fmt.Errorf("client %d request %d: body: %v", c, i, err)
					}
					if err := check(c, i, resp, got); err != nil {
						return err
					}
					if n := resp.Header.Get("X-Conn-Request"); n != strconv.Itoa(i+1) || resp.Close {
						return fmt.Errorf("client %d request %d was request %s on its connection (Close %v), want %d", c, i, n, resp.Close, i+1)
					}
				}
				return nil
			})
			if got := fs.requests.Load(); got != clients*requests {
				t.Errorf("server handled %d requests, want %d", got, clients*requests)
			}
			if got := fs.ln.accepted(); got != clients {
				t.Errorf("server accepted %d connections, want %d", got, clients)
			}
		})
		t.Run("transport", func(t *testing.T) {
			ctx := testCtx(t)
			fs := startFasthttp(t, tp)
			td := tp.dialer(t)
			run(t, func(c int) error {
				client := httpClient(t, td)
				for i := range requests {
					seed, size := body(c, i)
					req, _ := http.NewRequestWithContext(ctx, "POST", fs.url+"/sum", payload(seed, size))
					req.ContentLength = size
					resp, got, err := do(t, client, req)
					if err != nil {
						return fmt.Errorf("client %d request %d: %v", c, i, err)
					}
					if err := check(c, i, resp, got); err != nil {
						return err
					}
				}
				return nil
			})
			if got := fs.requests.Load(); got != clients*requests {
				t.Errorf("server handled %d requests, want %d", got, clients*requests)
			}
			accepted, dialed := fs.ln.accepted(), td.dialed()
			if accepted != dialed || accepted < clients {
				t.Errorf("server accepted %d connections, clients dialed %d; want equal and at least %d", accepted, dialed, clients)
			}
			t.Logf("%d requests on %d connections", clients*requests, accepted)
		})
	})
}

// TestFasthttpLargeUploads streams two 24 MiB uploads, one with a
// Content-Length and one chunked, past fasthttp's 8 MiB body limit, which
// StreamRequestBody lets the handler read as they arrive: the server hashes
// each exactly, on one connection.
func TestFasthttpLargeUploads(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		fs := startFasthttp(t, tp)
		client := httpClient(t, tp.dialer(t))
		const size = 24 << 20
		for i, sized := range []bool{true, false} {
			seed := uint64(60 + i)
			// A bare io.Reader hides its length, so net/http sends it
			// chunked unless told the length.
			req, _ := http.NewRequestWithContext(ctx, "POST", fs.url+"/sum", struct{ io.Reader }{payload(seed, size)})
			if sized {
				req.ContentLength = size
			}
			resp, got, err := do(t, client, req)
			if err != nil {
				t.Fatalf("upload %d: %v", i, err)
			}
			if want := fmt.Sprintf("%d %s", size, mustDigest(seed, size)); resp.StatusCode != 200 || string(got) != want {
				t.Errorf("upload %d (sized %v): %s %q, want 200 %q", i, sized, resp.Status, got, want)
			}
		}
		if got := fs.ln.accepted(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}

// TestFasthttpLargeResponses reads an 8 MiB response that fasthttp streams
// chunked, flushing every 32 KiB, and a 16 MiB one with a Content-Length,
// twice each on one connection.
func TestFasthttpLargeResponses(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		fs := startFasthttp(t, tp)
		client := httpClient(t, tp.dialer(t))
		for i, tc := range []struct {
			path    string
			size    int64
			chunked bool
		}{{"/stream", 8 << 20, true}, {"/big", 16 << 20, false}, {"/stream", 8<<20 + 13, true}, {"/big", 16<<20 - 7, false}} {
			seed := uint64(50 + i)
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s%s?seed=%d&size=%d", fs.url, tc.path, seed, tc.size), nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.path, err)
			}
			d, n, err := digest(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s: reading body: %v", tc.path, err)
			}
			if n != tc.size || d != mustDigest(seed, tc.size) {
				t.Errorf("%s: %d bytes hashing to %s, want %d bytes hashing to %s", tc.path, n, d, tc.size, mustDigest(seed, tc.size))
			}
			chunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
			if tc.chunked && (!chunked || resp.ContentLength != -1) || !tc.chunked && (chunked || resp.ContentLength != tc.size) {
				t.Errorf("%s: Transfer-Encoding %v, Content-Length %d; want chunked %v", tc.path, resp.TransferEncoding, resp.ContentLength, tc.chunked)
			}
		}
		if got := fs.ln.accepted(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}

// TestFasthttpConnectionClose sends 10 requests asking for Connection:
// close and 10 that the server closes: each is answered on a connection of
// its own, marked to close.
func TestFasthttpConnectionClose(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		fs := startFasthttp(t, tp)
		td := tp.dialer(t)
		client := httpClient(t, td)
		const n = 10
		for i := range 2 * n {
			path, clientClose := "/sum", i < n
			if !clientClose {
				path = "/close"
			}
			body := fmt.Sprintf("request %d", i)
			req, _ := http.NewRequestWithContext(ctx, "POST", fs.url+path, strings.NewReader(body))
			req.Close = clientClose
			resp, got, err := do(t, client, req)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			want := fmt.Sprintf("%d %s", len(body), mustDigestOf([]byte(body)))
			if !clientClose {
				want = "closing"
			}
			if resp.StatusCode != 200 || string(got) != want {
				t.Errorf("request %d: %s %q, want 200 %q", i, resp.Status, got, want)
			}
			if !resp.Close || resp.Header.Get("X-Conn-Request") != "1" {
				t.Errorf("request %d: Close %v, request %s on its connection; want true, 1", i, resp.Close, resp.Header.Get("X-Conn-Request"))
			}
		}
		if got := fs.ln.accepted(); got != 2*n {
			t.Errorf("server accepted %d connections, want %d", got, 2*n)
		}
		if got := td.dialed(); got != 2*n {
			t.Errorf("client dialed %d connections, want %d", got, 2*n)
		}
	})
}

// mustDigestOf is the hex SHA-256 of b.
func mustDigestOf(b []byte) string {
	d, _, _ := digest(bytes.NewReader(b))
	return d
}

// TestFasthttpShutdown shuts the server down with one request in flight
// and one idle kept-alive connection: the listener closes at once (new
// dials are refused) and Serve returns nil, the idle connection is closed,
// the in-flight request completes marked Connection: close, and Shutdown
// returns nil.
func TestFasthttpShutdown(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		fs := startFasthttp(t, tp)
		td := tp.dialer(t)

		// The idle connection is a raw one, so the test sees it close.
		idle, err := td.DialContext(ctx, "tcp", fs.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		idle.SetDeadline(time.Now().Add(testTimeout))
		fmt.Fprintf(idle, "GET /sum HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(idle)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()

		inflight := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", fs.url+"/slow", nil)
			resp, body, err := do(t, httpClient(t, td), req)
			if err == nil && (resp.StatusCode != 200 || string(body) != "done" || !resp.Close) {
				err = fmt.Errorf("%s %q, Close %v; want 200 \"done\", Close true", resp.Status, body, resp.Close)
			}
			inflight <- err
		}()
		select {
		case <-fs.slowIn:
		case <-time.After(10 * time.Second):
			t.Fatal("slow request did not reach the server within 10s")
		}

		shutdown := make(chan error, 1)
		go func() { shutdown <- fs.srv.ShutdownWithContext(ctx) }()
		select {
		case err := <-fs.serveErr:
			if err != nil {
				t.Errorf("Serve returned %v on Shutdown, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return within 10s of Shutdown")
		}
		// Serve may return a moment before the socket is closed (see
		// TestListenerClosedWhenAcceptReturns), so this waits for refusal.
		for deadline := time.Now().Add(5 * time.Second); ; {
			c, err := td.DialContext(ctx, "tcp", fs.ln.Addr().String())
			if errors.Is(err, syscall.ECONNREFUSED) {
				break
			}
			if c != nil {
				c.Close()
			}
			if time.Now().After(deadline) {
				t.Fatalf("dial 5s into Shutdown: %v, want connection refused", err)
			}
			time.Sleep(time.Millisecond)
		}
		if n, err := br.ReadByte(); err != io.EOF {
			t.Errorf("idle connection during Shutdown: read %q, %v; want io.EOF", n, err)
		}
		select {
		case err := <-shutdown:
			t.Fatalf("Shutdown returned %v with a request in flight", err)
		default:
		}

		close(fs.release)
		select {
		case err := <-inflight:
			if err != nil {
				t.Errorf("in-flight request: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("in-flight request did not complete within 10s of its release")
		}
		select {
		case err := <-shutdown:
			if err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Shutdown did not return within 10s of the last request")
		}
		if got := fs.requests.Load(); got != 2 {
			t.Errorf("server handled %d requests, want 2", got)
		}
		if got := fs.ln.accepted(); got != 2 {
			t.Errorf("server accepted %d connections, want 2", got)
		}
	})
}

// TestFasthttpManyConnections opens 256 connections at once, each writing
// 20 POSTs of up to 5,000 bytes in turn: every answer is right and the
// 20th on its connection, and the server accepts exactly 256 connections
// and handles 5,120 requests.
func TestFasthttpManyConnections(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		fs := startFasthttp(t, tp)
		td := tp.dialer(t)
		const conns, requests = 256, 20
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		for c := range conns {
			wg.Go(func() {
				conn, err := td.DialContext(ctx, "tcp", fs.ln.Addr().String())
				if err != nil {
					errs <- fmt.Errorf("connection %d: %v", c, err)
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(testTimeout))
				br := bufio.NewReader(conn)
				for i := range requests {
					seed, size := uint64(c*requests+i), int64((c*13+i*101)%5000)
					req, _ := http.NewRequest("POST", fs.url+"/sum", payload(seed, size))
					req.ContentLength = size
					if err := req.Write(conn); err != nil {
						errs <- fmt.Errorf("connection %d request %d: %v", c, i, err)
						return
					}
					resp, err := http.ReadResponse(br, req)
					if err != nil {
						errs <- fmt.Errorf("connection %d request %d: %v", c, i, err)
						return
					}
					got, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					want := fmt.Sprintf("%d %s", size, mustDigest(seed, size))
					if err != nil || string(got) != want || resp.Header.Get("X-Conn-Request") != strconv.Itoa(i+1) {
						errs <- fmt.Errorf("connection %d request %d: %q (request %s on its connection), %v; want %q, %d", c, i, got, resp.Header.Get("X-Conn-Request"), err, want, i+1)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := fs.requests.Load(); got != conns*requests {
			t.Errorf("server handled %d requests, want %d", got, conns*requests)
		}
		if got := fs.ln.accepted(); got != conns {
			t.Errorf("server accepted %d connections, want %d", got, conns)
		}
	})
}
