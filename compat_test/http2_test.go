package compat_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// h2Handler answers with the protocol the server saw; POST bodies are
// hashed, and GET /big?seed=N streams 4 MiB so that HTTP/2 flow control
// has to run many window updates.
func h2Handler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Server-Proto", strconv.Itoa(r.ProtoMajor))
	switch {
	case r.Method == "POST":
		d, n, err := digest(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprintf(w, "%d %s", n, d)
	case r.URL.Path == "/big":
		seed, _ := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
		io.Copy(w, payload(seed, h2BigSize))
	default:
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}
}

const h2BigSize = 4 << 20

// exerciseH2 runs requests through client and checks that every one went
// over HTTP/2 on both ends: concurrent small GETs (multiplexed), a 4 MiB
// upload and a 4 MiB download checked by SHA-256. It returns the
// responses' TLS states.
func exerciseH2(t *testing.T, client *http.Client, base string) []*tls.ConnectionState {
	t.Helper()
	ctx := testCtx(t)
	var (
		mu     sync.Mutex
		states []*tls.ConnectionState
	)
	check := func(resp *http.Response) error {
		if resp.ProtoMajor != 2 {
			return fmt.Errorf("response over %s, want HTTP/2", resp.Proto)
		}
		if p := resp.Header.Get("X-Server-Proto"); p != "2" {
			return fmt.Errorf("server saw r.ProtoMajor %q, want 2", p)
		}
		mu.Lock()
		states = append(states, resp.TLS)
		mu.Unlock()
		return nil
	}
	// One request first: over TLS, http.Transport learns that a server
	// speaks HTTP/2 only from the handshake, so requests started together
	// on a cold transport would each dial.
	resp, _ := get(ctx, t, client, base+"/warm-up")
	if err := check(resp); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/small/%d", base, i), nil)
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				err = check(resp)
			}
			if err != nil {
				errs <- err
				return
			}
			if want := fmt.Sprintf("HTTP/2.0 /small/%d", i); string(body) != want {
				errs <- fmt.Errorf("body %q, want %q", body, want)
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/upload", payload(5, h2BigSize))
		req.ContentLength = h2BigSize
		resp, err := client.Do(req)
		if err != nil {
			errs <- err
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			err = check(resp)
		}
		if err != nil {
			errs <- fmt.Errorf("upload: %v", err)
			return
		}
		if want := fmt.Sprintf("%d %s", h2BigSize, mustDigest(5, h2BigSize)); string(body) != want {
			errs <- fmt.Errorf("upload: server hashed %q, want %q", body, want)
		}
	}()
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/big?seed=6", nil)
		resp, err := client.Do(req)
		if err != nil {
			errs <- err
			return
		}
		d, n, err := digest(resp.Body)
		resp.Body.Close()
		if err == nil {
			err = check(resp)
		}
		if err != nil {
			errs <- fmt.Errorf("download: %v", err)
			return
		}
		if n != h2BigSize || d != mustDigest(6, h2BigSize) {
			errs <- fmt.Errorf("download: %d bytes hashing to %s, want %d bytes hashing to %s", n, d, h2BigSize, mustDigest(6, h2BigSize))
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return states
}

// countingDial dials with uringnet and counts the connections.
func countingDial(n *atomic.Int32) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dialer.DialContext(ctx, network, addr)
	}
}

// TestH2CStd serves cleartext HTTP/2 with net/http's own implementation
// (Server.Protocols and Transport.Protocols) on uringnet at both ends.
func TestH2CStd(t *testing.T) {
	srv, conns := startServer(t, http.HandlerFunc(h2Handler), func(s *httptest.Server) {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetHTTP1(true)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
	})
	var dials atomic.Int32
	tr := uringTransport(t)
	tr.DialContext = countingDial(&dials)
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	exerciseH2(t, &http.Client{Transport: tr}, srv.URL)
	if d, a := dials.Load(), conns.accepted(); d != 1 || a != 1 {
		t.Errorf("client dialed %d connections and server accepted %d, want one multiplexed connection", d, a)
	}
}

// TestHTTPSALPN serves HTTPS through crypto/tls over a uringnet listener,
// as httptest's StartTLS with EnableHTTP2 sets it up, and negotiates h2
// with ALPN; the client dials TCP with uringnet and runs TLS itself.
func TestHTTPSALPN(t *testing.T) {
	requireUring(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(h2Handler))
	srv.Listener.Close()
	srv.Listener = listen(t)
	srv.EnableHTTP2 = true
	conns := &connTracker{}
	srv.Config.ConnState = conns.hook
	srv.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		conns.check(t)
	})

	client := srv.Client()
	tr := client.Transport.(*http.Transport)
	var dials atomic.Int32
	tr.DialContext = countingDial(&dials)
	t.Cleanup(tr.CloseIdleConnections)
	states := exerciseH2(t, client, srv.URL)
	for _, st := range states {
		if st == nil {
			t.Error("response without TLS state")
			continue
		}
		if st.NegotiatedProtocol != "h2" {
			t.Errorf("ALPN negotiated %q, want h2", st.NegotiatedProtocol)
		}
		if !st.HandshakeComplete {
			t.Error("TLS handshake not complete")
		}
	}
	if len(states) == 0 {
		t.Error("no responses")
	}
	if d, a := dials.Load(), conns.accepted(); d != 1 || a != 1 {
		t.Errorf("client dialed %d connections and server accepted %d, want one multiplexed connection", d, a)
	}

	// The same server still speaks HTTP/1.1 over TLS to a client that
	// offers only that.
	tr1 := uringTransport(t)
	tr1.TLSClientConfig = tr.TLSClientConfig.Clone()
	tr1.TLSClientConfig.NextProtos = []string{"http/1.1"}
	tr1.Protocols = new(http.Protocols)
	tr1.Protocols.SetHTTP1(true)
	resp, body := get(testCtx(t), t, &http.Client{Transport: tr1}, srv.URL+"/one")
	if resp.ProtoMajor != 1 || resp.TLS == nil || resp.TLS.NegotiatedProtocol == "h2" || string(body) != "HTTP/1.1 /one" {
		t.Errorf("HTTP/1.1 over TLS: %s, TLS %v, body %q", resp.Proto, resp.TLS != nil, body)
	}
}
