package compat_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The connection contract, case by case: each case runs once on a pair of
// package net sockets and once on a pair of uringnet sockets, and describes
// what the caller sees (counts, error types, Op, the errno underneath,
// Timeout, the error's text with ports masked). The two descriptions must be
// equal, and equal to the one the case expects, so a drift on either side
// fails.

// tcpConn is what both transports' TCP connections offer.
type tcpConn interface {
	net.Conn
	CloseRead() error
	CloseWrite() error
	SetLinger(sec int) error
	SetNoDelay(bool) error
	SetKeepAlive(bool) error
	SetKeepAlivePeriod(time.Duration) error
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

// contractPair returns a connected pair of TCP sockets on loopback over
// tp: the dialed side (under test) and the accepted peer; accepted swaps
// them, so cases test accepted connections too.
func contractPair(t *testing.T, tp transport, accepted bool) (c, p tcpConn) {
	t.Helper()
	ctx := testCtx(t)
	ln := tp.listenRaw(t)
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	d, err := tp.dialRaw(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	c, p = d.(tcpConn), r.c.(tcpConn)
	if accepted {
		c, p = p, c
	}
	t.Cleanup(func() { c.Close(); p.Close() })
	return c, p
}

// iotestErrReader fails every Read.
type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("the reader failed") }

var portRE = regexp.MustCompile(`:\d+`)

// ioOutcome says what a caller can observe of (n, err).
func ioOutcome(n int, err error) string {
	if err == nil {
		return fmt.Sprintf("n=%d ok", n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d %T", n, err)
	var oe *net.OpError
	if errors.As(err, &oe) {
		fmt.Fprintf(&b, " op=%s net=%s src=%v addr=%v", oe.Op, oe.Net, oe.Source != nil, oe.Addr != nil)
		var se *os.SyscallError
		if errors.As(err, &se) {
			fmt.Fprintf(&b, " syscall=%s", se.Syscall)
		}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		fmt.Fprintf(&b, " errno=%d", int(errno))
	}
	var ne net.Error
	if errors.As(err, &ne) {
		fmt.Fprintf(&b, " timeout=%v", ne.Timeout())
	}
	fmt.Fprintf(&b, " closed=%v deadline=%v eof=%v", errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded), err == io.EOF)
	fmt.Fprintf(&b, " %q", portRE.ReplaceAllString(err.Error(), ":P"))
	return b.String()
}

// waitReset waits until the peer's reset has reached c's socket, so the
// next call sees it on both transports alike.
func waitReset(t *testing.T, c net.Conn) {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		reset := false
		rc.Control(func(fd uintptr) {
			info, err := unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO)
			reset = err == nil && info.State == unix.BPF_TCP_CLOSE
		})
		if reset {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the peer's reset never arrived")
}

type contractCase struct {
	name string
	run  func(t *testing.T, c, p tcpConn) string
	want string // the description both transports must give, ports masked
}

var contractCases = []contractCase{
	{"read after Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		return ioOutcome(c.Read(make([]byte, 8)))
	}, `n=0 *net.OpError op=read net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "read tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`},
	{"write after Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		return ioOutcome(c.Write([]byte("x")))
	}, `n=0 *net.OpError op=write net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "write tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`},
	{"second Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		return ioOutcome(0, c.Close())
	}, `n=0 *net.OpError op=close net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "close tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`},
	{"deadlines after Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		var out []string
		for _, set := range []func(time.Time) error{c.SetDeadline, c.SetReadDeadline, c.SetWriteDeadline} {
			out = append(out, ioOutcome(0, set(time.Now())))
		}
		return strings.Join(out, "\n")
	}, strings.TrimSuffix(strings.Repeat(`n=0 *net.OpError op=set net=tcp src=false addr=true timeout=false closed=true deadline=false eof=false "set tcp 127.0.0.1:P: use of closed network connection"`+"\n", 3), "\n")},
	{"socket options after Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		var out []string
		for _, set := range []func() error{
			func() error { return c.SetNoDelay(true) },
			func() error { return c.SetKeepAlive(true) },
			func() error { return c.SetKeepAlivePeriod(time.Minute) },
			func() error { return c.SetLinger(0) },
			func() error { return c.SetReadBuffer(1 << 16) },
			func() error { return c.SetWriteBuffer(1 << 16) },
			func() error { return c.CloseRead() },
			func() error { return c.CloseWrite() },
		} {
			out = append(out, ioOutcome(0, set()))
		}
		return strings.Join(out, "\n")
	}, strings.Join([]string{
		`n=0 *net.OpError op=set net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "set tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`,
		`n=0 *net.OpError op=set net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "set tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`,
		`n=0 *net.OpError op=set net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "set tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`,
		`n=0 *net.OpError op=set net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "set tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`,
		`n=0 *net.OpError op=set net=tcp src=false addr=true timeout=false closed=true deadline=false eof=false "set tcp 127.0.0.1:P: use of closed network connection"`,
		`n=0 *net.OpError op=set net=tcp src=false addr=true timeout=false closed=true deadline=false eof=false "set tcp 127.0.0.1:P: use of closed network connection"`,
		`n=0 *net.OpError op=close net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "close tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`,
		`n=0 *net.OpError op=close net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "close tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`,
	}, "\n")},
	{"addresses after Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		return fmt.Sprintf("%s %s", portRE.ReplaceAllString(c.LocalAddr().String(), ":P"), portRE.ReplaceAllString(c.RemoteAddr().String(), ":P"))
	}, `127.0.0.1:P 127.0.0.1:P`},
	{"read at the peer's close", func(t *testing.T, c, p tcpConn) string {
		p.Write([]byte("last"))
		p.Close()
		b := make([]byte, 8)
		n, err := io.ReadAtLeast(c, b, 4)
		first := ioOutcome(n, err)
		return first + "\n" + ioOutcome(c.Read(b))
	}, "n=4 ok\n" + `n=0 *errors.errorString closed=false deadline=false eof=true "EOF"`},
	{"read after CloseRead", func(t *testing.T, c, p tcpConn) string {
		if err := c.CloseRead(); err != nil {
			return ioOutcome(0, err)
		}
		return ioOutcome(c.Read(make([]byte, 8)))
	}, `n=0 *errors.errorString closed=false deadline=false eof=true "EOF"`},
	{"write after CloseWrite", func(t *testing.T, c, p tcpConn) string {
		if err := c.CloseWrite(); err != nil {
			return ioOutcome(0, err)
		}
		return ioOutcome(c.Write([]byte("x")))
	}, `n=0 *net.OpError op=write net=tcp src=true addr=true syscall=write errno=32 timeout=false closed=false deadline=false eof=false "write tcp 127.0.0.1:P->127.0.0.1:P: write: broken pipe"`},
	{"read after the peer's reset", func(t *testing.T, c, p tcpConn) string {
		p.SetLinger(0)
		p.Close()
		waitReset(t, c)
		return ioOutcome(c.Read(make([]byte, 8)))
	}, `n=0 *net.OpError op=read net=tcp src=true addr=true syscall=read errno=104 timeout=false closed=false deadline=false eof=false "read tcp 127.0.0.1:P->127.0.0.1:P: read: connection reset by peer"`},
	{"write after the peer's reset", func(t *testing.T, c, p tcpConn) string {
		p.SetLinger(0)
		p.Close()
		waitReset(t, c)
		return ioOutcome(c.Write([]byte("x")))
	}, `n=0 *net.OpError op=write net=tcp src=true addr=true syscall=write errno=104 timeout=false closed=false deadline=false eof=false "write tcp 127.0.0.1:P->127.0.0.1:P: write: connection reset by peer"`},
	{"zero-length read and write", func(t *testing.T, c, p tcpConn) string {
		n, err := c.Read(nil)
		a := ioOutcome(n, err)
		n, err = c.Write(nil)
		return a + "\n" + ioOutcome(n, err)
	}, "n=0 ok\nn=0 ok"},
	{"read with a past deadline", func(t *testing.T, c, p tcpConn) string {
		c.SetReadDeadline(time.Now().Add(-time.Second))
		return ioOutcome(c.Read(make([]byte, 8)))
	}, `n=0 *net.OpError op=read net=tcp src=true addr=true timeout=true closed=false deadline=true eof=false "read tcp 127.0.0.1:P->127.0.0.1:P: i/o timeout"`},
	{"write with a past deadline", func(t *testing.T, c, p tcpConn) string {
		c.SetWriteDeadline(time.Now().Add(-time.Second))
		return ioOutcome(c.Write([]byte("x")))
	}, `n=0 *net.OpError op=write net=tcp src=true addr=true timeout=true closed=false deadline=true eof=false "write tcp 127.0.0.1:P->127.0.0.1:P: i/o timeout"`},
	{"data queued before a past read deadline", func(t *testing.T, c, p tcpConn) string {
		// A deadline that has passed fails the Read even with data
		// waiting, in package net; the data stays for the next Read.
		p.Write([]byte("data"))
		time.Sleep(20 * time.Millisecond)
		c.SetReadDeadline(time.Now().Add(-time.Second))
		a := ioOutcome(c.Read(make([]byte, 8)))
		c.SetReadDeadline(time.Time{})
		return a + "\n" + ioOutcome(c.Read(make([]byte, 8)))
	}, `n=0 *net.OpError op=read net=tcp src=true addr=true timeout=true closed=false deadline=true eof=false "read tcp 127.0.0.1:P->127.0.0.1:P: i/o timeout"` + "\nn=4 ok"},
	{"blocked Read, then Close", func(t *testing.T, c, p tcpConn) string {
		time.AfterFunc(50*time.Millisecond, func() { c.Close() })
		return ioOutcome(c.Read(make([]byte, 8)))
	}, `n=0 *net.OpError op=read net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "read tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`},
	{"half-close keeps the other direction", func(t *testing.T, c, p tcpConn) string {
		c.CloseWrite()
		a := ioOutcome(p.Read(make([]byte, 8)))
		p.Write([]byte("back"))
		b := make([]byte, 8)
		n, err := io.ReadAtLeast(c, b, 4)
		return a + "\n" + ioOutcome(n, err)
	}, `n=0 *errors.errorString closed=false deadline=false eof=true "EOF"` + "\nn=4 ok"},
	{"ReadFrom and WriteTo after Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		f, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		n, err := c.(io.ReaderFrom).ReadFrom(f)
		a := ioOutcome(int(n), err)
		n, err = c.(io.WriterTo).WriteTo(io.Discard)
		return a + "\n" + ioOutcome(int(n), err)
	}, `n=0 *net.OpError op=readfrom net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "readfrom tcp 127.0.0.1:P->127.0.0.1:P: write tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"` + "\n" +
		`n=0 *net.OpError op=writeto net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "writeto tcp 127.0.0.1:P->127.0.0.1:P: read tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"`},
	{"ReadFrom other readers after Close", func(t *testing.T, c, p tcpConn) string {
		c.Close()
		var out []string
		for _, r := range []io.Reader{strings.NewReader(""), strings.NewReader("abc"), &io.LimitedReader{R: strings.NewReader("abc"), N: 0}} {
			n, err := c.(io.ReaderFrom).ReadFrom(r)
			out = append(out, ioOutcome(int(n), err))
		}
		return strings.Join(out, "\n")
	}, "n=0 ok\n" + `n=0 *net.OpError op=readfrom net=tcp src=true addr=true timeout=false closed=true deadline=false eof=false "readfrom tcp 127.0.0.1:P->127.0.0.1:P: write tcp 127.0.0.1:P->127.0.0.1:P: use of closed network connection"` + "\nn=0 ok"},
	{"ReadFrom a failing reader", func(t *testing.T, c, p tcpConn) string {
		r := io.MultiReader(strings.NewReader("head"), iotestErrReader{})
		n, err := c.(io.ReaderFrom).ReadFrom(r)
		return ioOutcome(int(n), err)
	}, `n=4 *net.OpError op=readfrom net=tcp src=true addr=true timeout=false closed=false deadline=false eof=false "readfrom tcp 127.0.0.1:P->127.0.0.1:P: the reader failed"`},
	{"blocked Read, then a deadline", func(t *testing.T, c, p tcpConn) string {
		time.AfterFunc(50*time.Millisecond, func() { c.SetReadDeadline(time.Now()) })
		return ioOutcome(c.Read(make([]byte, 8)))
	}, `n=0 *net.OpError op=read net=tcp src=true addr=true timeout=true closed=false deadline=true eof=false "read tcp 127.0.0.1:P->127.0.0.1:P: i/o timeout"`},
}

// Writes that stop part way tell exactly how much went: the peer reads
// that many bytes and no more, for a deadline and for Close alike.
func TestConnContractPartialWrite(t *testing.T) {
	requireUring(t)
	for _, tp := range transports {
		for _, stop := range []string{"deadline", "close"} {
			t.Run(tp.name+"/"+stop, func(t *testing.T) {
				c, p := contractPair(t, tp, false)
				c.SetWriteBuffer(1 << 16)
				p.SetReadBuffer(1 << 16)
				big := make([]byte, 32<<20)
				for i := range big {
					big[i] = byte(i * 7)
				}
				if stop == "deadline" {
					c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				} else {
					time.AfterFunc(100*time.Millisecond, func() { c.Close() })
				}
				n, err := c.Write(big)
				if n <= 0 || n >= len(big) {
					t.Fatalf("Write returned %d of %d: want a part", n, len(big))
				}
				switch {
				case stop == "deadline" && !errors.Is(err, os.ErrDeadlineExceeded):
					t.Fatalf("Write: %v, want a timeout", err)
				case stop == "close" && !errors.Is(err, net.ErrClosed):
					t.Fatalf("Write: %v, want net.ErrClosed", err)
				}
				if stop == "deadline" {
					c.Close()
				}
				p.SetReadDeadline(time.Now().Add(testTimeout))
				got, err := io.ReadAll(p)
				if err != nil {
					t.Fatalf("peer ReadAll: %v", err)
				}
				if len(got) != n {
					t.Fatalf("peer read %d bytes, Write said %d", len(got), n)
				}
				for i := range got {
					if got[i] != big[i] {
						t.Fatalf("byte %d differs", i)
					}
				}
			})
		}
	}
}

func TestConnContract(t *testing.T) {
	requireUring(t)
	for _, cc := range contractCases {
		for _, accepted := range []bool{false, true} {
			side := "dialed"
			if accepted {
				side = "accepted"
			}
			t.Run(cc.name+"/"+side, func(t *testing.T) {
				got := map[string]string{}
				for _, tp := range transports {
					c, p := contractPair(t, tp, accepted)
					got[tp.name] = cc.run(t, c, p)
				}
				if got["net"] != cc.want {
					t.Errorf("package net gives\n%s\nthe case expects\n%s", got["net"], cc.want)
				}
				if got["uringnet"] != got["net"] {
					t.Errorf("uringnet gives\n%s\npackage net\n%s", got["uringnet"], got["net"])
				}
			})
		}
	}
}
