// Package echoserver holds the TCP echo servers the side-by-side benchmark
// (go run -C bench .) runs as separate processes: a goroutine-per-connection
// server on any net.Listener, so package net and uringnet run the same code,
// and servers written directly on core's callback API with no goroutine per
// connection, on one ring (Callback) or a ring per CPU (CallbackRings).
package echoserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// Goroutines echoes every connection ln accepts on a goroutine of its own,
// reading up to bufSize bytes at a time and writing them back, until ln is
// closed; it returns Accept's error. Connections end when their peer closes.
func Goroutines(ln net.Listener, bufSize int) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			buf := make([]byte, bufSize)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}

// ListenFd opens a listening TCP socket on addr ("127.0.0.1:0" picks a port)
// for the callback server and returns its descriptor and bound address.
func ListenFd(addr string) (int, netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	family, sa := unix.AF_INET6, unix.Sockaddr(&unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	if ap.Addr().Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	fail := func(err error) (int, netip.AddrPort, error) {
		unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail(err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail(err)
	}
	if err := unix.Listen(fd, 1024); err != nil {
		return fail(err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail(err)
	}
	switch b := bound.(type) {
	case *unix.SockaddrInet4:
		return fd, netip.AddrPortFrom(netip.AddrFrom4(b.Addr), uint16(b.Port)), nil
	case *unix.SockaddrInet6:
		return fd, netip.AddrPortFrom(netip.AddrFrom16(b.Addr), uint16(b.Port)), nil
	}
	return fail(fmt.Errorf("echoserver: unexpected socket address %T", bound))
}

// Messages tell the one callback which step completed.
const (
	msgAccept uint16 = iota
	msgRecv
	msgSend
	msgClose
	msgStop
	msgAdopt     // on a serving ring: a connection handed over by the acceptor
	msgHandedOff // on the acceptor: the handover was posted, or failed
)

type conn struct {
	fd   int
	buf  []byte
	sent int // bytes of the current message already echoed
	n    int // size of the current message
}

// callbackServer is one ring's state: the connections it serves and,
// on an acceptor, the listener. Only the ring's own thread touches it.
type callbackServer struct {
	listener int
	bufSize  int
	conns    map[*conn]struct{}
	// handoff, on an acceptor that serves nothing itself, passes each
	// accepted descriptor to a serving ring.
	handoff func(rt core.Runtime, fd int) error
	// cb is s.callback bound once: a method value made afresh for each
	// operation's Ctx escapes, an allocation per message.
	cb core.Callback
}

func newCallbackServer(listener, bufSize int) *callbackServer {
	s := &callbackServer{listener: listener, bufSize: bufSize, conns: map[*conn]struct{}{}}
	s.cb = s.callback
	return s
}

var errStop = errors.New("stop")

// Callback runs an echo server on one ring over the listening socket
// listener: a multishot accept, then a receive/send cycle per connection
// through one callback, with no goroutine per connection. It returns nil
// once stopFd (an eventfd, say) becomes readable, after closing the ring and
// every connection; stopFd -1 means never. The listener stays open.
func Callback(listener, stopFd, bufSize int) error {
	return CallbackOn(core.BackendAuto, listener, stopFd, bufSize)
}

// CallbackOn is Callback on the given core backend: the same server code,
// so a comparison of backends measures the backends.
func CallbackOn(backend core.Backend, listener, stopFd, bufSize int) error {
	ring, err := core.New(core.Options{Entries: 512, Backend: backend})
	if err != nil {
		return err
	}
	s := newCallbackServer(listener, bufSize)
	defer func() {
		ring.Close() // cancels what is in flight and waits for the kernel
		for c := range s.conns {
			unix.Close(c.fd)
		}
	}()
	if stopFd >= 0 {
		if _, err := ring.Poll(stopFd, unix.POLLIN, core.Ctx{Callback: s.cb, Msg: msgStop}); err != nil {
			return err
		}
	}
	if _, err := ring.AcceptMultishot(listener, unix.SOCK_CLOEXEC, core.Ctx{Callback: s.cb, Msg: msgAccept}); err != nil {
		return err
	}
	for {
		if err := ring.Run(core.Once); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
}

func (s *callbackServer) callback(rt core.Runtime, t *core.Task) error {
	switch t.Msg {
	case msgAccept:
		if err := t.Err(); err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		if !t.More() { // the kernel ended the multishot accept: rearm it
			if _, err := rt.AcceptMultishot(s.listener, unix.SOCK_CLOEXEC, core.Ctx{Callback: s.cb, Msg: msgAccept}); err != nil {
				unix.Close(t.Fd())
				return err
			}
		}
		if s.handoff != nil {
			return s.handoff(rt, t.Fd())
		}
		return s.serve(rt, t.Fd())
	case msgAdopt:
		return s.serve(rt, core.UserdataAs[int](t))
	case msgHandedOff:
		if err := t.Err(); err != nil {
			unix.Close(core.UserdataAs[int](t))
			return fmt.Errorf("handing a connection to its ring: %w", err)
		}
		return nil
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
	case msgStop:
		return errStop
	}
	return nil
}

// serve starts echoing on fd, a connection this ring now owns.
func (s *callbackServer) serve(rt core.Runtime, fd int) error {
	c := &conn{fd: fd, buf: make([]byte, s.bufSize)}
	s.conns[c] = struct{}{}
	return s.recv(rt, c)
}

func (s *callbackServer) recv(rt core.Runtime, c *conn) error {
	_, err := rt.Recv(c.fd, c.buf, 0, core.Ctx{Callback: s.cb, Userdata: c, Msg: msgRecv})
	return err
}

func (s *callbackServer) send(rt core.Runtime, c *conn) error {
	_, err := rt.Send(c.fd, c.buf[c.sent:c.n], unix.MSG_NOSIGNAL, core.Ctx{Callback: s.cb, Userdata: c, Msg: msgSend})
	return err
}

func (s *callbackServer) close(rt core.Runtime, c *conn) error {
	delete(s.conns, c)
	_, err := rt.CloseFd(c.fd, core.Ctx{Callback: s.cb, Msg: msgClose})
	return err
}
