//go:build linux

// Command echo is a TCP echo server written directly on Ourio's callback API:
// one ring, multishot accept, and a receive/send cycle per connection, with
// no goroutine per connection. io_uring is Linux's, and so is this
// program, which also waits for signals on an eventfd.
//
//	go run ./examples/echo -addr 127.0.0.1:7007
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// Messages tell the one callback which step completed.
const (
	msgAccept uint16 = iota
	msgRecv
	msgSend
	msgClose
	msgStop
)

type conn struct {
	fd   int
	buf  []byte
	sent int // bytes of the current message already echoed
	n    int // size of the current message
}

type server struct {
	listener int
	conns    int
}

var errStop = errors.New("stop")

func (s *server) callback(rt core.Runtime, t *core.Task) error {
	switch t.Msg {
	case msgAccept:
		if err := t.Err(); err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		c := &conn{fd: t.Fd(), buf: make([]byte, 4096)}
		s.conns++
		if !t.More() { // the kernel ended the multishot accept: rearm it
			if _, err := rt.AcceptMultishot(s.listener, unix.SOCK_CLOEXEC, core.Ctx{Callback: s.callback, Msg: msgAccept}); err != nil {
				return err
			}
		}
		return s.recv(rt, c)
	case msgRecv:
		c := core.UserdataAs[*conn](t)
		if t.Err() != nil || t.N() == 0 { // error or end of stream
			return s.close(rt, c)
		}
		c.n, c.sent = t.N(), 0
		return s.send(rt, c)
	case msgSend:
		c := core.UserdataAs[*conn](t)
		if t.Err() != nil {
			return s.close(rt, c)
		}
		if c.sent += t.N(); c.sent < c.n {
			return s.send(rt, c) // short send: echo the rest
		}
		return s.recv(rt, c)
	case msgClose:
		s.conns--
	case msgStop:
		return errStop
	}
	return nil
}

func (s *server) recv(rt core.Runtime, c *conn) error {
	_, err := rt.Recv(c.fd, c.buf, 0, core.Ctx{Callback: s.callback, Userdata: c, Msg: msgRecv})
	return err
}

func (s *server) send(rt core.Runtime, c *conn) error {
	_, err := rt.Send(c.fd, c.buf[c.sent:c.n], unix.MSG_NOSIGNAL, core.Ctx{Callback: s.callback, Userdata: c, Msg: msgSend})
	return err
}

func (s *server) close(rt core.Runtime, c *conn) error {
	_, err := rt.CloseFd(c.fd, core.Ctx{Callback: s.callback, Msg: msgClose})
	return err
}

func listen(addr string) (int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return -1, err
	}
	family, sa := unix.AF_INET6, unix.Sockaddr(&unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	if ap.Addr().Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, 1024); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7007", "address to listen on")
	flag.Parse()

	ring, err := core.New(core.Options{Entries: 512})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	ln, err := listen(*addr)
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(ln)
	s := &server{listener: ln}

	// A signal reaches the ring through an eventfd the ring polls.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(efd)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, unix.SIGTERM)
	go func() {
		<-sigs
		unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}()
	if _, err := ring.Poll(efd, unix.POLLIN, core.Ctx{Callback: s.callback, Msg: msgStop}); err != nil {
		log.Fatal(err)
	}
	if _, err := ring.AcceptMultishot(ln, unix.SOCK_CLOEXEC, core.Ctx{Callback: s.callback, Msg: msgAccept}); err != nil {
		log.Fatal(err)
	}
	log.Printf("echo server on %s (io_uring, one ring)", *addr)
	for {
		if err := ring.Run(core.Once); err != nil {
			if errors.Is(err, errStop) {
				log.Printf("stopping with %d connections open", s.conns)
				return
			}
			log.Fatal(err)
		}
	}
}
