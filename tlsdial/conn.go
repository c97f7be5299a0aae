package tlsdial

import (
	"crypto/tls"
	"errors"
	"sync/atomic"

	"github.com/ourio-go/ourio/core"
)

// Conn is an established TLS client connection whose socket I/O runs on a
// ring.
//
// It embeds the *tls.Conn, so it is a net.Conn with the blocking Read,
// Write, SetDeadline and Close of crypto/tls, usable from any goroutine
// other than the ring's (each of those calls waits for the ring to run), and
// ConnectionState reports the negotiated version, ALPN protocol
// (NegotiatedProtocol) and resumption (DidResume). To hand it to net/http,
// return c.TLS() from http.Transport.DialTLSContext: the transport looks for
// a *tls.Conn to learn the ALPN result (needed for HTTP/2) and to fill
// Response.TLS. A Conn itself works there too, for HTTP/1.1 only.
//
// Code on the ring's goroutine must not call the blocking methods, Close
// included; it uses ReadAsync, WriteAsync and CloseAsync, whose results come
// back as callbacks on the ring.
type Conn struct {
	*tls.Conn
	rt core.Runtime
	rc *ringConn

	rd, wr    asyncIO
	closeBusy atomic.Bool
	closeDone func(rt core.Runtime, c *Conn, err error) error
	closeErr  error
}

// IOFunc receives the result of ReadAsync or WriteAsync on the ring's
// goroutine: n plaintext bytes read or written, and err as Read or Write
// would return it (io.EOF after the server's close_notify or end of
// stream). A non-nil return stops the Run that delivered it.
type IOFunc func(rt core.Runtime, c *Conn, n int, err error) error

// ErrBusy is returned by ReadAsync or WriteAsync when an earlier call in the
// same direction has not yet delivered its callback, and by CloseAsync when
// a close is already under way.
var ErrBusy = errors.New("tlsdial: an asynchronous operation in this direction is already pending")

type asyncIO struct {
	busy atomic.Bool
	buf  []byte
	n    int
	err  error
	done IOFunc
}

const (
	msgAsyncRead uint16 = iota
	msgAsyncWrite
	msgAsyncClose
)

func newConn(rt core.Runtime, tc *tls.Conn, rc *ringConn) *Conn {
	return &Conn{Conn: tc, rt: rt, rc: rc}
}

// TLS returns the underlying *tls.Conn.
func (c *Conn) TLS() *tls.Conn { return c.Conn }

// Runtime returns the runtime the connection's I/O runs on.
func (c *Conn) Runtime() core.Runtime { return c.rt }

// ReadAsync reads plaintext into buf and calls done on the ring's goroutine
// with the result. buf belongs to the connection until done runs. Only one
// ReadAsync may be pending at a time (ErrBusy otherwise); one ReadAsync and
// one WriteAsync may be pending together.
//
// Cost: crypto/tls is a blocking API, so each call runs tls.Conn.Read on a
// new goroutine, whose socket reads are ring operations (one Post plus a
// Recv each, the result handed back over a channel), and the plaintext
// result is posted to the ring once more. That is a goroutine start, its
// closure and one extra Post per call on top of the ring operations; read in
// large buffers (16 KiB, a full TLS record, or more) to amortize it.
func (c *Conn) ReadAsync(buf []byte, done IOFunc) error {
	return c.async(&c.rd, buf, done, msgAsyncRead)
}

// WriteAsync writes all of buf as plaintext and calls done on the ring's
// goroutine with the result. buf belongs to the connection until done runs.
// Only one WriteAsync may be pending at a time (ErrBusy otherwise). The cost
// is as for ReadAsync: one goroutine per call.
func (c *Conn) WriteAsync(buf []byte, done IOFunc) error {
	return c.async(&c.wr, buf, done, msgAsyncWrite)
}

func (c *Conn) async(op *asyncIO, buf []byte, done IOFunc, msg uint16) error {
	if done == nil {
		return errors.New("tlsdial: nil callback")
	}
	if !op.busy.CompareAndSwap(false, true) {
		return ErrBusy
	}
	op.buf, op.done = buf, done
	go c.runAsync(op, msg)
	return nil
}

func (c *Conn) runAsync(op *asyncIO, msg uint16) {
	if msg == msgAsyncRead {
		op.n, op.err = c.Conn.Read(op.buf)
	} else {
		op.n, op.err = c.Conn.Write(op.buf)
	}
	if c.rt.Post(core.Ctx{Callback: asyncDone, Userdata: c, Msg: msg}) != nil {
		op.buf, op.done = nil, nil
		op.busy.Store(false)
	}
}

// CloseAsync sends close_notify, closes the socket through the ring and calls
// done (if not nil) on the ring's goroutine. Pending ReadAsync and
// WriteAsync calls complete with errors before or around it. It runs
// tls.Conn.Close on a goroutine, like ReadAsync.
func (c *Conn) CloseAsync(done func(rt core.Runtime, c *Conn, err error) error) error {
	if !c.closeBusy.CompareAndSwap(false, true) {
		return ErrBusy
	}
	c.closeDone = done
	go func() {
		c.closeErr = c.Conn.Close()
		if c.rt.Post(core.Ctx{Callback: asyncDone, Userdata: c, Msg: msgAsyncClose}) != nil {
			c.closeDone = nil
		}
	}()
	return nil
}

func asyncDone(rt core.Runtime, t *core.Task) error {
	c := core.UserdataAs[*Conn](t)
	if t.Msg == msgAsyncClose {
		done, err := c.closeDone, c.closeErr
		c.closeDone = nil
		if done == nil {
			return nil
		}
		return done(rt, c, err)
	}
	op := &c.rd
	if t.Msg == msgAsyncWrite {
		op = &c.wr
	}
	done, n, err := op.done, op.n, op.err
	op.buf, op.done, op.err = nil, nil, nil
	op.busy.Store(false)
	return done(rt, c, n, err)
}
