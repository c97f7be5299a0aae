package compat_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// rawCodec carries messages as the bytes themselves, so the gRPC suite needs
// no generated code: every message is a *[]byte.
type rawCodec struct{}

func (rawCodec) Name() string { return "ourio-raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	p, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec cannot marshal %T", v)
	}
	return *p, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec cannot unmarshal into %T", v)
	}
	// grpc may reuse data's buffer once Unmarshal returns.
	*p = append([]byte(nil), data...)
	return nil
}

const echoService = "ourio.compat.Echo"

// echoServer is the gRPC suite's service. Each test makes its own, so its
// counters and channels belong to one test.
type echoServer struct {
	unaryCalls atomic.Int64
	// entered receives a value each time Sleep or Hold starts.
	entered chan struct{}
	// sleepEnded receives the context error each Sleep handler saw.
	sleepEnded chan error
	// release, once closed, lets every Hold handler return.
	release chan struct{}
}

func newEchoServer() *echoServer {
	return &echoServer{
		entered:    make(chan struct{}, 64),
		sleepEnded: make(chan error, 64),
		release:    make(chan struct{}),
	}
}

// echoService's HandlerType: grpc checks the registered value implements it.
type echoHandler interface{ isEcho() }

func (*echoServer) isEcho() {}

func unaryMethod(name string, fn func(s *echoServer, ctx context.Context, req []byte) ([]byte, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req []byte
			if err := dec(&req); err != nil {
				return nil, err
			}
			s := srv.(*echoServer)
			s.unaryCalls.Add(1)
			resp, err := fn(s, ctx, req)
			if err != nil {
				return nil, err
			}
			return &resp, nil
		},
	}
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: echoService,
	HandlerType: (*echoHandler)(nil),
	Methods: []grpc.MethodDesc{
		// Echo answers "echo:" and the request.
		unaryMethod("Echo", func(_ *echoServer, _ context.Context, req []byte) ([]byte, error) {
			return append([]byte("echo:"), req...), nil
		}),
		// Invert answers the request with every bit flipped, so a large
		// answer differs from its question everywhere.
		unaryMethod("Invert", func(_ *echoServer, _ context.Context, req []byte) ([]byte, error) {
			out := make([]byte, len(req))
			for i, b := range req {
				out[i] = ^b
			}
			return out, nil
		}),
		// Sleep waits until the call's context ends (or testTimeout, a bug)
		// and reports what ended it.
		unaryMethod("Sleep", func(s *echoServer, ctx context.Context, _ []byte) ([]byte, error) {
			s.entered <- struct{}{}
			select {
			case <-ctx.Done():
				s.sleepEnded <- ctx.Err()
				return nil, ctx.Err()
			case <-time.After(testTimeout):
				s.sleepEnded <- nil
				return []byte("slept"), nil
			}
		}),
		// Hold waits until the test releases it, then echoes.
		unaryMethod("Hold", func(s *echoServer, ctx context.Context, req []byte) ([]byte, error) {
			s.entered <- struct{}{}
			select {
			case <-s.release:
				return append([]byte("held:"), req...), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}),
	},
	Streams: []grpc.StreamDesc{{
		// Bidi echoes every message it receives, in order, as "re:" and
		// the message, and ends with a trailer counting them.
		StreamName:    "Bidi",
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			n := 0
			for {
				var m []byte
				if err := stream.RecvMsg(&m); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
				out := append([]byte("re:"), m...)
				if err := stream.SendMsg(&out); err != nil {
					return err
				}
				n++
			}
			stream.SetTrailer(metadata.Pairs("received", strconv.Itoa(n)))
			return nil
		},
	}},
}
