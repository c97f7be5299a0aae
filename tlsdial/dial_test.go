//go:build linux

package tlsdial

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
)

func dialTestServer(t testing.TB, handle func(*tls.Conn)) (*hsTestCA, *hsTLSServer, uint16) {
	ca := hsNewTestCA(t, "ourio dial CA")
	srv := hsStartTLSServer(t, &tls.Config{Certificates: []tls.Certificate{ca.goodLeaf(t)}}, handle)
	port, err := strconv.Atoi(strconv.Itoa(srv.ln.Addr().(*net.TCPAddr).Port))
	require.NoError(t, err)
	return ca, srv, uint16(port)
}

// connectTLS runs ConnectTLS on r and drives the ring until it ends.
func connectTLS(t testing.TB, r *core.Ring, host string, port uint16, cfg *tls.Config) (*Conn, error) {
	var (
		got  *Conn
		gerr error
		done bool
	)
	_, err := ConnectTLS(context.Background(), r, host, port, &Config{Timeout: 10 * time.Second}, cfg, func(_ core.Runtime, c *Conn, err error) error {
		got, gerr, done = c, err, true
		return nil
	})
	require.NoError(t, err)
	hsDrive(t, r, func() bool { return done }, 15*time.Second)
	return got, gerr
}

func TestConnectTLSNamesTheHost(t *testing.T) {
	ca, srv, port := dialTestServer(t, hsLineServer)
	r := hsNewRing(t)
	leaks := hsStartLeakCheck(t)
	c, err := connectTLS(t, r, "localhost", port, &tls.Config{RootCAs: ca.pool})
	require.NoError(t, err)
	sni, _ := srv.seen()
	require.Equal(t, []string{"localhost"}, sni, "SNI defaults to the host dialed")
	hsExchangeLine(t, r, c, "over the ring")
	hsCloseConn(t, r, c)
	leaks.wait(t, r)
}

func TestConnectTLSErrors(t *testing.T) {
	ca, _, port := dialTestServer(t, nil)
	r := hsNewRing(t)
	// A name the certificate does not carry fails verification.
	_, err := connectTLS(t, r, "127.0.0.1", port, &tls.Config{RootCAs: ca.pool, ServerName: "elsewhere.test"})
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	// A refused port fails in the connect step, before any handshake.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	_, err = connectTLS(t, r, "127.0.0.1", closed, &tls.Config{RootCAs: ca.pool})
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "dial", oe.Op)
}

func TestDialOverUringnet(t *testing.T) {
	ca, _, port := dialTestServer(t, hsLineServer)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tc, err := Dial(ctx, "tcp", net.JoinHostPort("localhost", strconv.Itoa(int(port))), &tls.Config{RootCAs: ca.pool})
	require.NoError(t, err)
	defer tc.Close()
	_, isRing := tc.NetConn().(*uringnet.Conn)
	require.True(t, isRing, "Dial runs TLS over a uringnet connection, got %T", tc.NetConn())
	_, err = tc.Write([]byte("hi\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(tc).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "echo: hi\n", line)

	_, err = Dial(ctx, "tcp", net.JoinHostPort("localhost", strconv.Itoa(int(port))), &tls.Config{})
	var he *HandshakeError
	require.ErrorAs(t, err, &he, "system roots do not trust the test CA")
}

// BenchmarkHandshake measures full TLS 1.3 handshakes per second on
// loopback, one at a time: tlsdial's ConnectTLS on a ring, Dial over
// uringnet, and crypto/tls over package net, side by side in one run.
func BenchmarkHandshake(b *testing.B) {
	ca, _, port := dialTestServer(b, nil)
	cfg := &tls.Config{RootCAs: ca.pool, ServerName: "localhost"}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	}
	b.Run("tlsdial", func(b *testing.B) {
		r := hsNewRing(b)
		for b.Loop() {
			c, err := connectTLS(b, r, "127.0.0.1", port, cfg)
			if err != nil {
				b.Fatal(err)
			}
			hsCloseConn(b, r, c)
		}
		report(b)
	})
	b.Run("uringnet", func(b *testing.B) {
		for b.Loop() {
			tc, err := Dial(context.Background(), "tcp", addr, cfg)
			if err != nil {
				b.Fatal(err)
			}
			tc.Close()
		}
		report(b)
	})
	b.Run("stdnet", func(b *testing.B) {
		d := tls.Dialer{Config: cfg}
		for b.Loop() {
			c, err := d.DialContext(context.Background(), "tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
		report(b)
	})
}
