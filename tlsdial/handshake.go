package tlsdial

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/ourio-go/ourio/core"
)

// HandshakeFunc is the callback a handshake ends in. It runs on the ring's
// goroutine, delivered with core.Runtime.Post, with either a ready Conn and
// a nil err or a nil Conn and the reason the handshake failed. Like a
// core.Callback, a non-nil return stops the Run that delivered it and is
// returned from that Run.
type HandshakeFunc func(rt core.Runtime, c *Conn, err error) error

// HandshakeError reports a failed handshake. It wraps crypto/tls's error, so
// errors.As finds x509.UnknownAuthorityError, x509.HostnameError,
// x509.CertificateInvalidError or tls.AlertError in it, and errors.Is finds
// context.DeadlineExceeded or context.Canceled when ctx ended it.
type HandshakeError struct {
	// Addr is the server's address.
	Addr string
	// ServerName is the name the certificate was checked against (SNI).
	ServerName string
	// Err is the underlying error.
	Err error
}

// Error names the server, its address and what went wrong.
func (e *HandshakeError) Error() string {
	name := e.ServerName
	if name == "" {
		name = "(no server name)"
	}
	return fmt.Sprintf("tlsdial: TLS handshake with %s at %s: %v", name, e.Addr, e.Err)
}

// Unwrap returns the underlying error, so errors.As finds the x509 and tls
// errors and errors.Is the context's.
func (e *HandshakeError) Unwrap() error { return e.Err }

// Handshake runs a TLS client handshake over fd, a connected stream socket,
// and calls done on rt's goroutine when it ends.
//
// cfg is used as crypto/tls uses it and must not be changed afterwards:
// ServerName is sent as SNI and checked against the certificate,
// NextProtos is offered with ALPN (see Conn.ConnectionState's
// NegotiatedProtocol), MinVersion/MaxVersion bound the version (TLS 1.2 and
// 1.3 by default), ClientSessionCache enables resumption and RootCAs nil
// means the system roots. ctx bounds the handshake only: when it is
// cancelled or its deadline passes, the handshake fails with ctx's error.
//
// Handshake may be called from any goroutine and does not block. On success it takes ownership of fd: the returned Conn closes it,
// and a failed handshake closes it before done runs. If Handshake itself
// returns an error, fd is left to the caller and done is never called.
//
// The protocol runs on a helper goroutine over a net.Conn whose every read
// and write is a ring operation on rt, so rt's goroutine must keep calling
// Run until done has run, and for as long as the Conn is in use. A ring
// closed under a handshake or a Conn strands the goroutines waiting on it:
// close Conns (and let handshakes finish) before closing the ring.
//
// Cost: one goroutine for the handshake's duration, and per socket read or
// write one Post to the ring (the request) on top of the Recv or Send
// itself, the result coming back over a channel; that path allocates nothing
// once warm.
func Handshake(ctx context.Context, rt core.Runtime, fd int, cfg *tls.Config, done HandshakeFunc) error {
	if rt == nil || cfg == nil || done == nil {
		return errors.New("tlsdial: Handshake needs a runtime, a tls.Config and a callback")
	}
	rc, err := newRingConn(rt, fd)
	if err != nil {
		return fmt.Errorf("tlsdial: fd %d is not a connected socket: %w", fd, err)
	}
	go runHandshake(ctx, rt, rc, cfg, done)
	return nil
}

// handshakeResult carries a finished handshake to the ring.
type handshakeResult struct {
	conn *Conn
	err  error
	done HandshakeFunc
}

func runHandshake(ctx context.Context, rt core.Runtime, rc *ringConn, cfg *tls.Config, done HandshakeFunc) {
	tc := tls.Client(rc, cfg)
	res := &handshakeResult{done: done}
	if err := tc.HandshakeContext(ctx); err != nil {
		// Before the handshake completes tls.Conn.Close only closes rc;
		// it returns once the descriptor is closed.
		_ = tc.Close()
		addr := ""
		if rc.raddr != nil {
			addr = rc.raddr.String()
		}
		res.err = &HandshakeError{Addr: addr, ServerName: cfg.ServerName, Err: err}
	} else {
		res.conn = newConn(rt, tc, rc)
	}
	if err := rt.Post(core.Ctx{Callback: deliverHandshake, Userdata: res}); err != nil && res.conn != nil {
		_ = rc.Close()
	}
}

func deliverHandshake(rt core.Runtime, t *core.Task) error {
	res := core.UserdataAs[*handshakeResult](t)
	return res.done(rt, res.conn, res.err)
}
