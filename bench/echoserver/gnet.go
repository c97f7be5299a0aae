package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
	"golang.org/x/sys/unix"
)

// gnetEcho is the echo server of gnet's own examples: each OnTraffic hands
// back everything buffered with c.Next(-1) and c.Write, on the event loop.
type gnetEcho struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
}

func (e *gnetEcho) OnBoot(eng gnet.Engine) gnet.Action {
	addr, err := gnetAddr(eng)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echoserver: gnet listener address: %v\n", err)
		return gnet.Shutdown
	}
	fmt.Printf("listening on %s\n", addr)
	e.booted <- eng
	return gnet.None
}

func (e *gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

// stderrLogger sends gnet's log to stderr through package log; gnet's own
// logger writes to stdout, where the first line must be "listening on ADDR".
type stderrLogger struct{}

var _ logging.Logger = stderrLogger{}

func (stderrLogger) Debugf(string, ...any)        {}
func (stderrLogger) Infof(f string, args ...any)  { log.Printf("gnet: "+f, args...) }
func (stderrLogger) Warnf(f string, args ...any)  { log.Printf("gnet: "+f, args...) }
func (stderrLogger) Errorf(f string, args ...any) { log.Printf("gnet: "+f, args...) }
func (stderrLogger) Fatalf(f string, args ...any) { log.Fatalf("gnet: "+f, args...) }

// gnetAddr reads the bound address, port included, off a copy of the
// engine's listening socket.
func gnetAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}, nil
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}, nil
	}
	return nil, fmt.Errorf("unexpected socket address %T", sa)
}

// serveGnet runs a multicore gnet engine (an event loop per CPU) on addr
// until SIGTERM or SIGINT, then stops it.
func serveGnet(addr string, bufSize int) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	e := &gnetEcho{booted: make(chan gnet.Engine, 1)}
	done := make(chan error, 1)
	go func() {
		done <- gnet.Run(e, "tcp://"+addr, gnet.WithMulticore(true), gnet.WithReadBufferCap(bufSize),
			gnet.WithLogger(stderrLogger{}))
	}()
	var eng gnet.Engine
	select {
	case err := <-done:
		return err
	case eng = <-e.booted:
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	if err := eng.Stop(context.Background()); err != nil {
		return err
	}
	return <-done
}
