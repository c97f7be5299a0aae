package compat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// grpcServer is a running gRPC server on a transport's listener.
type grpcServer struct {
	srv      *grpc.Server
	svc      *echoServer
	ln       *trackedListener
	serveErr chan error // Serve's result
}

func startGRPC(t *testing.T, tp transport, opts ...grpc.ServerOption) *grpcServer {
	t.Helper()
	g := &grpcServer{
		srv:      grpc.NewServer(append([]grpc.ServerOption{grpc.ForceServerCodec(rawCodec{})}, opts...)...),
		svc:      newEchoServer(),
		ln:       tp.listen(t),
		serveErr: make(chan error, 1),
	}
	g.srv.RegisterService(&echoDesc, g.svc)
	go func() { g.serveErr <- g.srv.Serve(g.ln) }()
	t.Cleanup(func() {
		g.srv.Stop()
		select {
		case <-g.serveErr:
		case <-time.After(10 * time.Second):
			t.Errorf("grpc Serve did not return within 10s of Stop")
		}
	})
	return g
}

// grpcClient returns a client of addr that dials through td.
func grpcClient(t *testing.T, td *trackedDialer, addr string, callOpts ...grpc.CallOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(td.dialContext),
		grpc.WithDefaultCallOptions(append([]grpc.CallOption{grpc.ForceCodec(rawCodec{})}, callOpts...)...),
	)
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// invoke makes one unary call of the echo service.
func invoke(ctx context.Context, cc *grpc.ClientConn, method string, req []byte) ([]byte, error) {
	var resp []byte
	err := cc.Invoke(ctx, "/"+echoService+"/"+method, &req, &resp)
	return resp, err
}

// TestGRPCUnaryConcurrent makes 4 client connections × 8 goroutines × 25
// unary calls at once, checking every answer, and that the server took
// exactly 4 connections and 800 calls.
func TestGRPCUnaryConcurrent(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		g := startGRPC(t, tp)
		td := tp.dialer(t)
		const conns, workers, calls = 4, 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, conns*workers)
		for c := range conns {
			cc := grpcClient(t, td, g.ln.Addr().String())
			for w := range workers {
				wg.Go(func() {
					for i := range calls {
						req := fmt.Sprintf("conn %d worker %d call %d %s", c, w, i, bytes.Repeat([]byte{'x'}, (c*7+w*3+i)%300))
						resp, err := invoke(ctx, cc, "Echo", []byte(req))
						if err != nil {
							errs <- fmt.Errorf("conn %d worker %d call %d: %v", c, w, i, err)
							return
						}
						if string(resp) != "echo:"+req {
							errs <- fmt.Errorf("conn %d worker %d call %d: answer %q, want %q", c, w, i, resp, "echo:"+req)
							return
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := g.svc.unaryCalls.Load(); got != conns*workers*calls {
			t.Errorf("server handled %d calls, want %d", got, conns*workers*calls)
		}
		if got := g.ln.accepted(); got != conns {
			t.Errorf("server accepted %d connections, want %d", got, conns)
		}
		if got := td.dialed(); got != conns {
			t.Errorf("clients dialed %d connections, want %d", got, conns)
		}
	})
}

// TestGRPCBidiStream sends 10,000 messages of varying sizes on one
// bidirectional stream while reading the echoes, which must come back in
// order, then the server's trailer counting them.
func TestGRPCBidiStream(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		g := startGRPC(t, tp)
		cc := grpcClient(t, tp.dialer(t), g.ln.Addr().String())
		stream, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/"+echoService+"/Bidi")
		if err != nil {
			t.Fatal(err)
		}
		const n = 10000
		msg := func(i int) []byte {
			return fmt.Appendf(nil, "message %d %s", i, bytes.Repeat([]byte{byte('a' + i%26)}, i%251))
		}
		sendErr := make(chan error, 1)
		go func() {
			for i := range n {
				m := msg(i)
				if err := stream.SendMsg(&m); err != nil {
					sendErr <- fmt.Errorf("send %d: %v", i, err)
					return
				}
			}
			sendErr <- stream.CloseSend()
		}()
		for i := range n {
			var got []byte
			if err := stream.RecvMsg(&got); err != nil {
				t.Fatalf("receive %d: %v", i, err)
			}
			if want := append([]byte("re:"), msg(i)...); !bytes.Equal(got, want) {
				t.Fatalf("message %d came back as %q, want %q", i, got, want)
			}
		}
		var extra []byte
		if err := stream.RecvMsg(&extra); err != io.EOF {
			t.Fatalf("after %d echoes: RecvMsg = %q, %v; want io.EOF", n, extra, err)
		}
		if err := <-sendErr; err != nil {
			t.Fatal(err)
		}
		if got := stream.Trailer().Get("received"); len(got) != 1 || got[0] != strconv.Itoa(n) {
			t.Errorf("trailer received = %v, want [%d]", got, n)
		}
	})
}

// TestGRPCLargeMessages sends 4 MiB messages both ways under raised limits,
// and checks that a message over the server's limit is refused with
// ResourceExhausted while the connection stays usable.
func TestGRPCLargeMessages(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		const size, limit = 4 << 20, 5 << 20
		g := startGRPC(t, tp, grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
		cc := grpcClient(t, tp.dialer(t), g.ln.Addr().String(), grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(2*limit))
		for seed := range uint64(3) {
			req, _ := io.ReadAll(payload(100+seed, size))
			resp, err := invoke(ctx, cc, "Invert", req)
			if err != nil {
				t.Fatalf("4 MiB call %d: %v", seed, err)
			}
			if len(resp) != size {
				t.Fatalf("4 MiB call %d: answer of %d bytes, want %d", seed, len(resp), size)
			}
			for i := range resp {
				if resp[i] != ^req[i] {
					t.Fatalf("4 MiB call %d: answer byte %d is %#x, want %#x", seed, i, resp[i], ^req[i])
				}
			}
		}
		tooBig := make([]byte, limit+1)
		if _, err := invoke(ctx, cc, "Invert", tooBig); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("call over the server's limit: %v, want code ResourceExhausted", err)
		}
		if resp, err := invoke(ctx, cc, "Echo", []byte("after")); err != nil || string(resp) != "echo:after" {
			t.Errorf("call after the refused one: %q, %v", resp, err)
		}
		if got := g.ln.accepted(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}

// TestGRPCDeadline checks that a handler slower than its call's deadline
// fails the call with DeadlineExceeded and sees its context end, that a
// cancelled call fails with Canceled and the handler sees
// context.Canceled, and that the connection serves calls after both.
func TestGRPCDeadline(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		g := startGRPC(t, tp)
		cc := grpcClient(t, tp.dialer(t), g.ln.Addr().String())
		if _, err := invoke(ctx, cc, "Echo", []byte("warm")); err != nil {
			t.Fatal(err)
		}

		t.Run("deadline", func(t *testing.T) {
			callCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := invoke(callCtx, cc, "Sleep", nil)
			select {
			case <-g.svc.entered:
			default:
				t.Errorf("slow call failed with %v without reaching its handler", err)
			}
			if status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("slow call: %v, want code DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("slow call took %v to fail, deadline was 500ms", d)
			}
			select {
			case err := <-g.svc.sleepEnded:
				// The server's own timer (from grpc-timeout) and the
				// client's RST_STREAM race to end the handler's context.
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					t.Errorf("handler's context ended with %v, want DeadlineExceeded or Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("handler did not see its context end within 5s of the deadline")
			}
		})
		t.Run("cancel", func(t *testing.T) {
			callCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				_, err := invoke(callCtx, cc, "Sleep", nil)
				done <- err
			}()
			select {
			case <-g.svc.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("Sleep handler not entered within 10s")
			}
			cancel()
			select {
			case err := <-done:
				if status.Code(err) != codes.Canceled {
					t.Errorf("cancelled call: %v, want code Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("cancelled call did not return within 10s")
			}
			select {
			case err := <-g.svc.sleepEnded:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("handler's context ended with %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("handler did not see the cancellation within 5s")
			}
		})
		if resp, err := invoke(ctx, cc, "Echo", []byte("after")); err != nil || string(resp) != "echo:after" {
			t.Errorf("call after the deadline and the cancellation: %q, %v", resp, err)
		}
		if got := g.ln.accepted(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}

// TestGRPCConcurrentStreams runs 16 bidirectional streams at once on one
// connection, each sending 100 messages of 16 KiB, so that HTTP/2 flow
// control interleaves them: every stream gets its own echoes back in order.
func TestGRPCConcurrentStreams(t *testing.T) {
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		g := startGRPC(t, tp)
		cc := grpcClient(t, tp.dialer(t), g.ln.Addr().String())
		const streams, msgs, size = 16, 100, 16 << 10
		msg := func(s, i int) []byte {
			m := bytes.Repeat([]byte{byte(s*msgs + i)}, size)
			copy(m, fmt.Sprintf("stream %d message %d ", s, i))
			return m
		}
		var wg sync.WaitGroup
		errs := make(chan error, streams)
		for s := range streams {
			wg.Go(func() {
				stream, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/"+echoService+"/Bidi")
				if err != nil {
					errs <- err
					return
				}
				go func() {
					for i := range msgs {
						m := msg(s, i)
						if stream.SendMsg(&m) != nil {
							return // RecvMsg reports the stream's error
						}
					}
					stream.CloseSend()
				}()
				for i := range msgs {
					var got []byte
					if err := stream.RecvMsg(&got); err != nil {
						errs <- fmt.Errorf("stream %d message %d: %v", s, i, err)
						return
					}
					if want := append([]byte("re:"), msg(s, i)...); !bytes.Equal(got, want) {
						errs <- fmt.Errorf("stream %d message %d: %d bytes starting %.30q, want %d starting %.30q", s, i, len(got), got, len(want), want)
						return
					}
				}
				var extra []byte
				if err := stream.RecvMsg(&extra); err != io.EOF {
					errs <- fmt.Errorf("stream %d after %d echoes: %v, want io.EOF", s, msgs, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := g.ln.accepted(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}
