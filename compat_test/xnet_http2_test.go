//lint:file-ignore SA1019 golang.org/x/net/http2 and h2c are deprecated in favour of net/http's own HTTP/2, but code in the wild still uses them, so this file checks them on uringnet on purpose.

package compat_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// TestH2CXNet serves h2c with golang.org/x/net/http2 through
// h2c.NewHandler, and talks to it with x/net's http2.Transport, which
// dials plain uringnet connections through DialTLSContext when AllowHTTP is
// set.
func TestH2CXNet(t *testing.T) {
	srv, conns := startServer(t, h2c.NewHandler(http.HandlerFunc(h2Handler), &http2.Server{}), nil)
	var dials atomic.Int32
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return countingDial(&dials)(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	exerciseH2(t, &http.Client{Transport: tr}, srv.URL)
	if d, a := dials.Load(), conns.accepted(); d != 1 || a != 1 {
		t.Errorf("client dialed %d connections and server accepted %d, want one multiplexed connection", d, a)
	}
	// h2c.NewHandler takes the connection over from net/http.
	if h := conns.count(http.StateHijacked); h != 1 {
		t.Errorf("%d connections hijacked by h2c, want 1", h)
	}
}
