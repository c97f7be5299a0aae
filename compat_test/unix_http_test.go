package compat_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// TestUnixHTTP serves HTTP/1.1 on a unix listener and requests it over
// unix connections, as clients of local daemons do, for both stacks: the
// handler sees the peer as package net names an unnamed client, "@", and
// many keep-alive requests share a connection.
func TestUnixHTTP(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		path := sockDir(t) + "/http.sock"
		ln := s.mustListen(t, "unix", path)
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, r.URL.Path+" from "+r.RemoteAddr)
			}),
			ReadHeaderTimeout: testTimeout,
		}
		go srv.Serve(ln)
		defer srv.Close()
		var dials atomic.Int32
		tr := &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				dials.Add(1)
				return s.dialWith(ctx, dialOpts{}, "unix", path)
			},
			ResponseHeaderTimeout: testTimeout,
		}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: testTimeout}
		for i := range 20 {
			resp, err := client.Get("http://daemon/v1/ping")
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "/v1/ping from @" {
				t.Fatalf("request %d: %q, %v", i, body, err)
			}
		}
		if n := dials.Load(); n != 1 {
			t.Errorf("20 keep-alive requests dialed %d times, want 1", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if fileExists(t, path) { // Shutdown has closed the listener
			t.Errorf("Shutdown left %s: closing the listener removes it", path)
		}
	})
}
