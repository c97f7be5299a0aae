package compat_test

import (
	"crypto/tls"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// TestGRPCTLS runs gRPC over TLS on both transports, grpc doing the
// handshakes itself: 50 unary calls succeed, and the client's peer shows a
// TLS 1.3 connection that negotiated h2 by ALPN, as gRPC requires.
func TestGRPCTLS(t *testing.T) {
	cert, pool, _ := selfSigned(t)
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		g := startGRPC(t, tp, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
		td := tp.dialer(t)
		cc, err := grpc.NewClient("passthrough:///"+g.ln.Addr().String(),
			grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})),
			grpc.WithContextDialer(td.dialContext),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})),
		)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		const calls = 50
		var p peer.Peer
		for i := range calls {
			req := fmt.Sprintf("secure call %d", i)
			var resp []byte
			in := []byte(req)
			if err := cc.Invoke(ctx, "/"+echoService+"/Echo", &in, &resp, grpc.Peer(&p)); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if string(resp) != "echo:"+req {
				t.Fatalf("call %d: answer %q, want %q", i, resp, "echo:"+req)
			}
		}
		info, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok {
			t.Fatalf("peer's AuthInfo is %T, want credentials.TLSInfo", p.AuthInfo)
		}
		if st := info.State; st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" || !st.HandshakeComplete {
			t.Errorf("TLS state: %s, ALPN %q, complete %v; want TLS 1.3, h2, true", tls.VersionName(st.Version), st.NegotiatedProtocol, st.HandshakeComplete)
		}
		if got := g.svc.unaryCalls.Load(); got != calls {
			t.Errorf("server handled %d calls, want %d", got, calls)
		}
		if got := g.ln.accepted(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}
