package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
)

// netpollEcho is the echo OnRequest of netpoll's examples: take what the
// connection has buffered, write it back and flush. Flush returns once the
// bytes are sent, so the zero-copy slice from Next is released after it.
func netpollEcho(_ context.Context, conn netpoll.Connection) error {
	r, w := conn.Reader(), conn.Writer()
	defer r.Release()
	buf, err := r.Next(r.Len())
	if err != nil {
		return err
	}
	if _, err := w.WriteBinary(buf); err != nil {
		return err
	}
	return w.Flush()
}

// serveNetpoll runs a netpoll EventLoop, with its default pollers and
// goroutine pool, on addr until SIGTERM or SIGINT, then shuts it down.
func serveNetpoll(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ln, err := netpoll.CreateListener("tcp", addr)
	if err != nil {
		return err
	}
	loop, err := netpoll.NewEventLoop(netpollEcho)
	if err != nil {
		ln.Close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- loop.Serve(ln) }()
	fmt.Printf("listening on %s\n", ln.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := loop.Shutdown(sctx); err != nil {
		return err
	}
	return <-done
}
