package compat_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// TestGRPCGracefulStop stops the server with 5 calls in flight: the
// listener closes, new calls fail with Unavailable (on a new client and on
// the old one once it has heard GOAWAY), the 5 calls then complete with
// their answers, GracefulStop returns and Serve returns nil.
func TestGRPCGracefulStop(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		g := startGRPC(t, tp)
		td := tp.dialer(t)
		cc := grpcClient(t, td, g.ln.Addr().String())
		if _, err := invoke(ctx, cc, "Echo", []byte("warm")); err != nil {
			t.Fatal(err)
		}
		const inFlight = 5
		type result struct {
			i    int
			resp []byte
			err  error
		}
		results := make(chan result, inFlight)
		for i := range inFlight {
			go func() {
				resp, err := invoke(ctx, cc, "Hold", []byte(strconv.Itoa(i)))
				results <- result{i, resp, err}
			}()
		}
		for range inFlight {
			select {
			case <-g.svc.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("in-flight calls did not all reach the server within 10s")
			}
		}

		stopped := make(chan struct{})
		go func() {
			g.srv.GracefulStop()
			close(stopped)
		}()
		select {
		case <-g.ln.closed:
		case <-time.After(10 * time.Second):
			t.Fatal("GracefulStop did not close the listener within 10s")
		}

		newCC := grpcClient(t, td, g.ln.Addr().String())
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := invoke(callCtx, newCC, "Echo", []byte("new client")); status.Code(err) != codes.Unavailable {
			t.Errorf("call on a new client during GracefulStop: %v, want code Unavailable", err)
		}
		// The old client's connection stops being Ready when GOAWAY
		// arrives; a call after that has to reconnect, which is refused.
		for st := cc.GetState(); st == connectivity.Ready; st = cc.GetState() {
			if !cc.WaitForStateChange(callCtx, st) {
				t.Fatalf("old client still %v 10s into GracefulStop", st)
			}
		}
		if _, err := invoke(callCtx, cc, "Echo", []byte("old client")); status.Code(err) != codes.Unavailable {
			t.Errorf("new call on the old client during GracefulStop: %v, want code Unavailable", err)
		}
		select {
		case <-stopped:
			t.Fatal("GracefulStop returned with calls still in flight")
		default:
		}

		close(g.svc.release)
		for range inFlight {
			select {
			case r := <-results:
				if want := "held:" + strconv.Itoa(r.i); r.err != nil || string(r.resp) != want {
					t.Errorf("in-flight call %d: %q, %v; want %q", r.i, r.resp, r.err, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("in-flight calls did not complete within 10s of their release")
			}
		}
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("GracefulStop did not return within 10s of the last call")
		}
		select {
		case err := <-g.serveErr:
			if err != nil {
				t.Errorf("Serve returned %v after GracefulStop, want nil", err)
			}
			g.serveErr <- err // for the cleanup's Stop
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return within 10s of GracefulStop")
		}
		if got := g.svc.unaryCalls.Load(); got != 1+inFlight {
			t.Errorf("server handled %d calls, want %d", got, 1+inFlight)
		}
		if got := g.ln.accepted(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}

// TestGRPCStop stops the server outright with a unary call and a stream in
// flight: both fail with Unavailable and Serve returns nil.
func TestGRPCStop(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		g := startGRPC(t, tp)
		cc := grpcClient(t, tp.dialer(t), g.ln.Addr().String())
		stream, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/"+echoService+"/Bidi")
		if err != nil {
			t.Fatal(err)
		}
		m := []byte("before Stop")
		var got []byte
		if err := stream.SendMsg(&m); err != nil {
			t.Fatal(err)
		}
		if err := stream.RecvMsg(&got); err != nil || string(got) != "re:before Stop" {
			t.Fatalf("stream before Stop: %q, %v", got, err)
		}
		held := make(chan error, 1)
		go func() {
			_, err := invoke(ctx, cc, "Hold", nil)
			held <- err
		}()
		select {
		case <-g.svc.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("Hold handler not entered within 10s")
		}
		g.srv.Stop()
		if err := stream.RecvMsg(&got); status.Code(err) != codes.Unavailable {
			t.Errorf("stream after Stop: %q, %v; want code Unavailable", got, err)
		}
		select {
		case err := <-held:
			if status.Code(err) != codes.Unavailable {
				t.Errorf("unary call in flight at Stop: %v, want code Unavailable", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("unary call in flight at Stop did not end within 10s")
		}
		select {
		case err := <-g.serveErr:
			if err != nil {
				t.Errorf("Serve returned %v after Stop, want nil", err)
			}
			g.serveErr <- err // for the cleanup
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return within 10s of Stop")
		}
	})
}
