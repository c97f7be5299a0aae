//go:build linux

package tlsdial

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
)

// hsLineServer answers each line "x" with "echo: x" until the client closes.
func hsLineServer(c *tls.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := c.Write([]byte("echo: " + line)); err != nil {
			return
		}
	}
}

// hsExchangeLine writes a line over c from a goroutine and checks the echo.
func hsExchangeLine(t *testing.T, r *core.Ring, c *Conn, line string) {
	t.Helper()
	err := hsRunWhile(t, r, 10*time.Second, func() error {
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			return err
		}
		got, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if got != "echo: "+line+"\n" {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
	require.NoError(t, err)
}

func TestHandshakeVersionsALPNSNI(t *testing.T) {
	ca := hsNewTestCA(t, "ourio test CA")
	for _, v := range []struct {
		name string
		ver  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		for _, proto := range []string{"h2", "http/1.1"} {
			t.Run(v.name+"/"+proto, func(t *testing.T) {
				srv := hsStartTLSServer(t, &tls.Config{
					Certificates: []tls.Certificate{ca.goodLeaf(t)},
					MinVersion:   v.ver, MaxVersion: v.ver,
					NextProtos: []string{"h2", "http/1.1"},
				}, hsLineServer)
				r := hsNewRing(t)
				leaks := hsStartLeakCheck(t)

				fd := hsDialFd(t, srv.ln.Addr())
				c, err := hsHandshake(t, r, context.Background(), fd, &tls.Config{
					RootCAs:    ca.pool,
					ServerName: "server.test",
					NextProtos: []string{proto},
				})
				require.NoError(t, err)
				st := c.ConnectionState()
				require.True(t, st.HandshakeComplete)
				require.Equal(t, v.ver, st.Version)
				require.Equal(t, proto, st.NegotiatedProtocol)
				require.Equal(t, "server.test", st.ServerName)
				require.False(t, st.DidResume)
				require.Equal(t, st.TLSUnique, c.TLS().ConnectionState().TLSUnique)
				require.Same(t, r, c.Runtime())
				require.Equal(t, srv.ln.Addr().String(), c.RemoteAddr().String())
				require.Equal(t, "127.0.0.1", c.LocalAddr().(*net.TCPAddr).IP.String())

				sni, alpn := srv.seen()
				require.Equal(t, []string{"server.test"}, sni)
				require.Equal(t, [][]string{{proto}}, alpn)

				hsExchangeLine(t, r, c, "hello over "+v.name)
				hsCloseConn(t, r, c)
				leaks.wait(t, r)
			})
		}
	}
}

func TestHandshakeResumption(t *testing.T) {
	ca := hsNewTestCA(t, "ourio test CA")
	for _, v := range []struct {
		name string
		ver  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			srv := hsStartTLSServer(t, &tls.Config{
				Certificates: []tls.Certificate{ca.goodLeaf(t)},
				MinVersion:   v.ver, MaxVersion: v.ver,
			}, hsLineServer)
			r := hsNewRing(t)
			leaks := hsStartLeakCheck(t)
			cfg := &tls.Config{
				RootCAs:            ca.pool,
				ServerName:         "localhost",
				ClientSessionCache: tls.NewLRUClientSessionCache(4),
			}
			for i, resumed := range []bool{false, true} {
				c, err := hsHandshake(t, r, context.Background(), hsDialFd(t, srv.ln.Addr()), cfg)
				require.NoError(t, err)
				require.Equal(t, resumed, c.ConnectionState().DidResume, "connection %d", i)
				// A TLS 1.3 ticket arrives after the handshake: read to get it.
				hsExchangeLine(t, r, c, fmt.Sprintf("connection %d", i))
				hsCloseConn(t, r, c)
			}
			leaks.wait(t, r)
		})
	}
}

// TestHandshakeDataBothWays moves a few MiB each way at once, through the
// blocking net.Conn interface, and checks both by hash.
func TestHandshakeDataBothWays(t *testing.T) {
	const up, down = 4<<20 + 123, 3<<20 + 7
	ca := hsNewTestCA(t, "ourio test CA")
	downData := make([]byte, down)
	_, _ = rand.Read(downData)
	upSum := make(chan [32]byte, 1)
	srv := hsStartTLSServer(t, &tls.Config{Certificates: []tls.Certificate{ca.goodLeaf(t)}}, func(c *tls.Conn) {
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(downData)
			werr <- err
		}()
		h := sha256.New()
		if _, err := io.CopyN(h, c, up); err != nil {
			t.Errorf("server read: %v", err)
		}
		var sum [32]byte
		h.Sum(sum[:0])
		upSum <- sum
		if err := <-werr; err != nil {
			t.Errorf("server write: %v", err)
		}
		_, _ = io.Copy(io.Discard, c) // until the client closes
	})
	r := hsNewRing(t)
	leaks := hsStartLeakCheck(t)
	c, err := hsHandshake(t, r, context.Background(), hsDialFd(t, srv.ln.Addr()), &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
	require.NoError(t, err)

	upData := make([]byte, up)
	_, _ = rand.Read(upData)
	var gotDown [32]byte
	err = hsRunWhile(t, r, 60*time.Second, func() error {
		werr := make(chan error, 1)
		go func() {
			// Odd-sized writes, to cross record and send boundaries.
			for off := 0; off < len(upData); {
				n := min(len(upData)-off, 100_000+off%7919)
				if _, err := c.Write(upData[off : off+n]); err != nil {
					werr <- err
					return
				}
				off += n
			}
			werr <- nil
		}()
		h := sha256.New()
		if _, err := io.CopyN(h, c, down); err != nil {
			return err
		}
		h.Sum(gotDown[:0])
		return <-werr
	})
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(downData), gotDown)
	hsDrive(t, r, func() bool { return len(upSum) == 1 }, 10*time.Second)
	require.Equal(t, sha256.Sum256(upData), <-upSum)
	hsCloseConn(t, r, c)
	leaks.wait(t, r)
}

// TestConnAsync drives a whole exchange from ring callbacks with
// WriteAsync and ReadAsync.
func TestConnAsync(t *testing.T) {
	const up, down = 1<<20 + 5, 2<<20 + 11
	ca := hsNewTestCA(t, "ourio test CA")
	downData := make([]byte, down)
	_, _ = rand.Read(downData)
	upSum := make(chan [32]byte, 1)
	srv := hsStartTLSServer(t, &tls.Config{Certificates: []tls.Certificate{ca.goodLeaf(t)}}, func(c *tls.Conn) {
		h := sha256.New()
		if _, err := io.CopyN(h, c, up); err != nil {
			t.Errorf("server read: %v", err)
		}
		var sum [32]byte
		h.Sum(sum[:0])
		upSum <- sum
		if _, err := c.Write(downData); err != nil {
			t.Errorf("server write: %v", err)
		}
		_, _ = io.Copy(io.Discard, c)
	})
	r := hsNewRing(t)
	leaks := hsStartLeakCheck(t)
	c, err := hsHandshake(t, r, context.Background(), hsDialFd(t, srv.ln.Addr()), &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
	require.NoError(t, err)

	upData := make([]byte, up)
	_, _ = rand.Read(upData)
	var (
		sent, got int
		h         = sha256.New()
		rbuf      = make([]byte, 32<<10)
		failed    error
		finished  bool
	)
	var onRead IOFunc
	onRead = func(rt core.Runtime, c *Conn, n int, err error) error {
		require.Same(t, r, rt)
		h.Write(rbuf[:n])
		got += n
		if err != nil {
			failed = err
			return nil
		}
		if got == down {
			finished = true
			return nil
		}
		require.NoError(t, c.ReadAsync(rbuf, onRead))
		return nil
	}
	var onWrite IOFunc
	onWrite = func(rt core.Runtime, c *Conn, n int, err error) error {
		require.Same(t, r, rt)
		sent += n
		if err != nil {
			failed = err
			return nil
		}
		if sent < up {
			return c.WriteAsync(upData[sent:min(up, sent+256<<10)], onWrite)
		}
		return nil
	}
	require.NoError(t, c.WriteAsync(upData[:256<<10], onWrite))
	require.NoError(t, c.ReadAsync(rbuf, onRead))
	require.ErrorIs(t, c.ReadAsync(rbuf, onRead), ErrBusy)
	hsDrive(t, r, func() bool { return finished || failed != nil }, 60*time.Second)
	require.NoError(t, failed)
	require.Equal(t, up, sent)
	require.Equal(t, sha256.Sum256(upData), <-upSum)
	var sum [32]byte
	require.Equal(t, sha256.Sum256(downData), [32]byte(h.Sum(sum[:0])))

	// A read pending when the connection closes ends with an error.
	readDone := false
	require.NoError(t, c.ReadAsync(rbuf, func(_ core.Runtime, _ *Conn, n int, err error) error {
		require.Error(t, err)
		readDone = true
		return nil
	}))
	hsCloseConn(t, r, c)
	hsDrive(t, r, func() bool { return readDone }, 10*time.Second)
	leaks.wait(t, r)
}

// TestHandshakeHTTP uses the Conn as net/http's client transport against an
// httptest TLS server, over HTTP/1.1 (returning the Conn) and HTTP/2
// (returning its *tls.Conn).
func TestHandshakeHTTP(t *testing.T) {
	ca := hsNewTestCA(t, "ourio test CA")
	for _, tc := range []struct {
		name  string
		h2    bool
		major int
	}{{"HTTP1.1", false, 1}, {"HTTP2", true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			r := hsNewRing(t)
			leaks := hsStartLeakCheck(t)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				body, _ := io.ReadAll(req.Body)
				fmt.Fprintf(w, "%s %s %d %x", req.Proto, req.URL.Path, len(body), sha256.Sum256(body))
			}))
			srv.EnableHTTP2 = true
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.goodLeaf(t)}}
			srv.StartTLS()

			tr := &http.Transport{
				ForceAttemptHTTP2: tc.h2,
				DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					ta, err := net.ResolveTCPAddr(network, addr)
					if err != nil {
						return nil, err
					}
					fd, err := hsDialFdErr(ta)
					if err != nil {
						return nil, err
					}
					protos := []string{"http/1.1"}
					if tc.h2 {
						protos = []string{"h2", "http/1.1"}
					}
					type result struct {
						c   *Conn
						err error
					}
					ch := make(chan result, 1)
					err = Handshake(ctx, r, fd, &tls.Config{RootCAs: ca.pool, ServerName: "localhost", NextProtos: protos},
						func(_ core.Runtime, c *Conn, err error) error {
							ch <- result{c, err}
							return nil
						})
					if err != nil {
						return nil, err
					}
					res := <-ch
					if res.err != nil {
						return nil, res.err
					}
					if tc.h2 {
						return res.c.TLS(), nil
					}
					return res.c, nil
				},
			}
			client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			body := strings.Repeat("ourio ", 50_000)
			err := hsRunWhile(t, r, 30*time.Second, func() error {
				for i := range 3 {
					resp, err := client.Post(srv.URL+fmt.Sprintf("/req/%d", i), "text/plain", strings.NewReader(body))
					if err != nil {
						return err
					}
					got, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						return err
					}
					if resp.ProtoMajor != tc.major {
						return fmt.Errorf("got %s, want HTTP/%d", resp.Proto, tc.major)
					}
					want := fmt.Sprintf("HTTP/%d.%d /req/%d %d %x", resp.ProtoMajor, resp.ProtoMinor, i, len(body), sha256.Sum256([]byte(body)))
					if string(got) != want {
						return fmt.Errorf("got %q, want %q", got, want)
					}
					if tc.h2 && (resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2") {
						return fmt.Errorf("response TLS state %+v", resp.TLS)
					}
				}
				return nil
			})
			require.NoError(t, err)
			// Closing the client's conns needs the ring: not on this goroutine.
			require.NoError(t, hsRunWhile(t, r, 10*time.Second, func() error {
				tr.CloseIdleConnections()
				srv.Close()
				return nil
			}))
			leaks.wait(t, r)
		})
	}
}

func TestHandshakeFailures(t *testing.T) {
	ca := hsNewTestCA(t, "ourio test CA")
	other := hsNewTestCA(t, "some other CA")
	now := time.Now()

	// certFailure runs a handshake against a server with cert and returns
	// the client's error, checking the Conn was not made and nothing leaked.
	certFailure := func(t *testing.T, cert tls.Certificate, cfg *tls.Config) error {
		srv := hsStartTLSServer(t, &tls.Config{Certificates: []tls.Certificate{cert}}, nil)
		r := hsNewRing(t)
		leaks := hsStartLeakCheck(t)
		c, err := hsHandshake(t, r, context.Background(), hsDialFd(t, srv.ln.Addr()), cfg)
		require.Error(t, err)
		require.Nil(t, c)
		var he *HandshakeError
		require.ErrorAs(t, err, &he)
		require.Equal(t, srv.ln.Addr().String(), he.Addr)
		t.Log(err)
		leaks.wait(t, r)
		return err
	}

	t.Run("UnknownCA", func(t *testing.T) {
		err := certFailure(t, other.goodLeaf(t), &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
		var uae x509.UnknownAuthorityError
		require.ErrorAs(t, err, &uae)
	})
	t.Run("WrongHost", func(t *testing.T) {
		err := certFailure(t, ca.goodLeaf(t), &tls.Config{RootCAs: ca.pool, ServerName: "wrong.example"})
		var hne x509.HostnameError
		require.ErrorAs(t, err, &hne)
		require.Equal(t, "wrong.example", hne.Host)
	})
	t.Run("Expired", func(t *testing.T) {
		cert := ca.leaf(t, []string{"localhost"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
		err := certFailure(t, cert, &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
		var cie x509.CertificateInvalidError
		require.ErrorAs(t, err, &cie)
		require.Equal(t, x509.Expired, cie.Reason)
	})
	t.Run("SystemRootsByDefault", func(t *testing.T) {
		// No RootCAs: the system pool does not know the test CA.
		err := certFailure(t, ca.goodLeaf(t), &tls.Config{ServerName: "localhost"})
		var uae x509.UnknownAuthorityError
		require.ErrorAs(t, err, &uae)
	})
	for _, whole := range []bool{false, true} {
		// The server reads the ClientHello's record header only (its close
		// then resets the connection) or the whole record (a clean FIN).
		name := "ServerResetsMidHandshake"
		if whole {
			name = "ServerClosesMidHandshake"
		}
		t.Run(name, func(t *testing.T) {
			ln := hsStartRawServer(t, func(c net.Conn) {
				hdr := make([]byte, 5)
				if _, err := io.ReadFull(c, hdr); err != nil || !whole {
					return
				}
				_, _ = io.CopyN(io.Discard, c, int64(hdr[3])<<8|int64(hdr[4]))
			})
			r := hsNewRing(t)
			leaks := hsStartLeakCheck(t)
			c, err := hsHandshake(t, r, context.Background(), hsDialFd(t, ln.Addr()), &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
			require.Nil(t, c)
			require.Error(t, err)
			t.Log(err)
			if whole {
				require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
			} else {
				require.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "%v", err)
			}
			leaks.wait(t, r)
		})
	}
	for _, cancel := range []bool{false, true} {
		name := "ServerSilentTimeout"
		if cancel {
			name = "ServerSilentCancel"
		}
		t.Run(name, func(t *testing.T) {
			ln := hsStartRawServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
			r := hsNewRing(t)
			leaks := hsStartLeakCheck(t)
			ctx, stop := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer stop()
			if cancel {
				ctx, stop = context.WithCancel(context.Background())
				time.AfterFunc(200*time.Millisecond, stop)
			}
			start := time.Now()
			c, err := hsHandshake(t, r, ctx, hsDialFd(t, ln.Addr()), &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
			require.Nil(t, c)
			t.Log(err)
			if cancel {
				require.ErrorIs(t, err, context.Canceled)
			} else {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
			require.Less(t, time.Since(start), 5*time.Second)
			leaks.wait(t, r)
		})
	}
	t.Run("NotASocket", func(t *testing.T) {
		r := hsNewRing(t)
		err := Handshake(context.Background(), r, 0x7fff, &tls.Config{ServerName: "x"}, func(core.Runtime, *Conn, error) error { return nil })
		require.Error(t, err)
		require.Error(t, Handshake(context.Background(), r, 0, nil, nil))
	})
}
