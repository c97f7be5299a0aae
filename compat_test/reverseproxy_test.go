package compat_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// serveHTTP serves h with net/http on the transport's listener until the
// test ends, and returns the listener and its URL.
func serveHTTP(t *testing.T, tp transport, h http.Handler) (*trackedListener, string) {
	t.Helper()
	ln := tp.listen(t)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: testTimeout}
	done := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(done)
	}()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("http.Server.Serve did not return within 10s of Close")
		}
	})
	return ln, "http://" + ln.Addr().String()
}

// proxied is a backend behind a ReverseProxy, both on one transport, the
// proxy dialing the backend through the transport's dialer.
type proxied struct {
	backend, proxy *trackedListener
	url            string // the proxy's
	client         *http.Client
	dialer         *trackedDialer
}

func startProxied(t *testing.T, tp transport, backend http.Handler) *proxied {
	t.Helper()
	p := &proxied{dialer: tp.dialer(t)}
	var backendURL string
	p.backend, backendURL = serveHTTP(t, tp, backend)
	target, _ := url.Parse(backendURL)
	proxyTr := &http.Transport{DialContext: p.dialer.DialContext, ResponseHeaderTimeout: testTimeout}
	t.Cleanup(proxyTr.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: proxyTr,
	}
	p.proxy, p.url = serveHTTP(t, tp, rp)
	clientTr := &http.Transport{DialContext: p.dialer.DialContext, ResponseHeaderTimeout: testTimeout}
	t.Cleanup(clientTr.CloseIdleConnections)
	p.client = &http.Client{Transport: clientTr}
	return p
}

// checkOneEach checks that the client and the proxy each made one
// connection for the test's one exchange.
func (p *proxied) checkOneEach(t *testing.T) {
	t.Helper()
	if a, b, d := p.proxy.accepted(), p.backend.accepted(), p.dialer.dialed(); a != 1 || b != 1 || d != 2 {
		t.Errorf("proxy accepted %d connections, backend %d, dialed %d; want 1, 1, 2", a, b, d)
	}
}

// TestReverseProxyChunkedUpload streams a 3 MiB upload of unknown length
// through the proxy in uneven pieces: the backend must receive it chunked
// and hash it exactly.
func TestReverseProxyChunkedUpload(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		p := startProxied(t, tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, n, err := digest(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "%d %s %v %d", n, d, r.TransferEncoding, r.ContentLength)
		}))
		const size = 3 << 20
		pr, pw := io.Pipe()
		go func() {
			src := payload(9, size)
			for i := 0; ; i++ {
				// Pieces of 1 byte to 64 KiB, so chunks straddle reads.
				if _, err := io.CopyN(pw, src, int64(1+(i*7919)%(64<<10))); err == io.EOF {
					pw.Close()
					return
				} else if err != nil {
					pw.CloseWithError(err)
					return
				}
			}
		}()
		req, _ := http.NewRequestWithContext(ctx, "POST", p.url+"/upload", pr)
		resp, body, err := do(t, p.client, req)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d %s [chunked] -1", size, mustDigest(9, size)); resp.StatusCode != 200 || string(body) != want {
			t.Errorf("backend answered %s %q, want 200 %q", resp.Status, body, want)
		}
		p.checkOneEach(t)
	})
}

// TestReverseProxyStreamedResponse has the backend write 20 pieces,
// flushing each and writing the next only once the client has read it
// through the proxy, so each flush must reach the client while the
// response is still open.
func TestReverseProxyStreamedResponse(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		const pieces = 20
		ack := make(chan int)
		p := startProxied(t, tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f := w.(http.Flusher)
			for i := range pieces {
				fmt.Fprintf(w, "piece %d %s\n", i, strings.Repeat("~", i*100))
				f.Flush()
				select {
				case got := <-ack:
					if got != i {
						fmt.Fprintf(w, "ack %d for piece %d\n", got, i)
						return
					}
				case <-time.After(10 * time.Second):
					fmt.Fprintf(w, "no ack for piece %d within 10s\n", i)
					return
				}
			}
			io.WriteString(w, "end\n")
		}))
		req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/stream", nil)
		resp, err := p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != -1 {
			t.Fatalf("status %s, length %d; want 200 of unknown length", resp.Status, resp.ContentLength)
		}
		br := bufio.NewReader(resp.Body)
		for i := range pieces {
			line, err := br.ReadString('\n')
			if want := fmt.Sprintf("piece %d %s\n", i, strings.Repeat("~", i*100)); err != nil || line != want {
				t.Fatalf("piece %d: %.60q, %v; want %.60q", i, line, err, want)
			}
			select {
			case ack <- i:
			case <-ctx.Done():
				t.Fatal("backend stopped waiting for acknowledgements")
			}
		}
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "end\n" {
			t.Errorf("after the pieces: %q, %v; want \"end\\n\"", rest, err)
		}
		p.checkOneEach(t)
	})
}

// TestReverseProxyWebSocket upgrades through the proxy to a gorilla
// WebSocket echo backend and exchanges 1,000 messages, alternately text and
// binary, of 0 bytes to 64 KiB, each echoed exactly, then closes with the
// close handshake: each side sees the other's close frame with code 1000.
func TestReverseProxyWebSocket(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		serverClose := make(chan error, 1)
		echoed := make(chan int, 1)
		up := websocket.Upgrader{}
		p := startProxied(t, tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return // Upgrade has answered
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(testTimeout))
			n := 0
			for {
				kind, m, err := c.ReadMessage()
				if err != nil {
					echoed <- n
					serverClose <- err
					return
				}
				if err := c.WriteMessage(kind, m); err != nil {
					echoed <- n
					serverClose <- err
					return
				}
				n++
			}
		}))

		d := websocket.Dialer{NetDialContext: p.dialer.DialContext, HandshakeTimeout: 10 * time.Second}
		wsURL := "ws" + strings.TrimPrefix(p.url, "http") + "/ws"
		c, resp, err := d.DialContext(ctx, wsURL, nil)
		if err != nil {
			t.Fatalf("websocket dial through the proxy: %v", err)
		}
		defer c.Close()
		if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
			t.Errorf("handshake answered %s, Upgrade %q", resp.Status, resp.Header.Get("Upgrade"))
		}
		c.SetReadDeadline(time.Now().Add(testTimeout))

		const n = 1000
		msg := func(i int) (int, []byte) {
			size := (i * 7919) % 2048
			if i%50 == 0 {
				size = 64<<10 - i
			}
			if i%2 == 0 {
				return websocket.TextMessage, bytes.Repeat([]byte{byte('a' + i%26)}, size)
			}
			b, _ := io.ReadAll(payload(uint64(i), int64(size)))
			return websocket.BinaryMessage, b
		}
		sendErr := make(chan error, 1)
		go func() {
			for i := range n {
				kind, m := msg(i)
				if err := c.WriteMessage(kind, m); err != nil {
					sendErr <- fmt.Errorf("send %d: %v", i, err)
					return
				}
			}
			sendErr <- nil
		}()
		for i := range n {
			kind, got, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("echo %d: %v", i, err)
			}
			if wantKind, want := msg(i); kind != wantKind || !bytes.Equal(got, want) {
				t.Fatalf("echo %d: type %d, %d bytes; want type %d, %d bytes, equal", i, kind, len(got), wantKind, len(want))
			}
		}
		if err := <-sendErr; err != nil {
			t.Fatal(err)
		}

		if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done")); err != nil {
			t.Fatalf("sending close: %v", err)
		}
		if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Errorf("after our close frame the client read %v, want the backend's close frame with code 1000", err)
		}
		select {
		case err := <-serverClose:
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "done" {
				t.Errorf("backend's read ended with %v, want close 1000 \"done\"", err)
			}
			if got := <-echoed; got != n {
				t.Errorf("backend echoed %d messages, want %d", got, n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("backend did not see the close within 10s")
		}
		p.checkOneEach(t)
	})
}

// TestReverseProxyWebSocketDropped has the backend send one message and
// drop its connection without a close frame, 10 times: through the proxy,
// the client reads the message and then an abnormal closure (1006) for the
// unexpected EOF, never a reset.
func TestReverseProxyWebSocketDropped(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		up := websocket.Upgrader{}
		p := startProxied(t, tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			c.WriteMessage(websocket.TextMessage, []byte("last words"))
			c.NetConn().Close()
		}))
		d := websocket.Dialer{NetDialContext: p.dialer.DialContext, HandshakeTimeout: 10 * time.Second}
		wsURL := "ws" + strings.TrimPrefix(p.url, "http") + "/ws"
		for i := range 10 {
			c, _, err := d.DialContext(ctx, wsURL, nil)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			c.SetReadDeadline(time.Now().Add(testTimeout))
			if kind, m, err := c.ReadMessage(); err != nil || kind != websocket.TextMessage || string(m) != "last words" {
				t.Errorf("connection %d: first read %d %q, %v; want the text \"last words\"", i, kind, m, err)
			}
			_, _, err = c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseAbnormalClosure || ce.Text != io.ErrUnexpectedEOF.Error() {
				t.Errorf("connection %d: read after the drop: %v, want close 1006 for an unexpected EOF", i, err)
			}
			c.Close()
		}
		if a, b := p.proxy.accepted(), p.backend.accepted(); a != 10 || b != 10 {
			t.Errorf("proxy accepted %d connections, backend %d; want 10 each", a, b)
		}
	})
}
