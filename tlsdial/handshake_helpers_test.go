//go:build linux

package tlsdial

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// hsTestCA is a certificate authority made up for one test.
type hsTestCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var hsSerial int64 = 1

func hsNextSerial() *big.Int {
	hsSerial++
	return big.NewInt(hsSerial)
}

func hsNewTestCA(t testing.TB, name string) *hsTestCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          hsNextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &hsTestCA{cert: cert, key: key, pool: pool}
}

// leaf issues a server certificate for names (and 127.0.0.1) valid from
// notBefore to notAfter.
func (ca *hsTestCA) leaf(t testing.TB, names []string, notBefore, notAfter time.Time) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: hsNextSerial(),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *hsTestCA) goodLeaf(t testing.TB) tls.Certificate {
	return ca.leaf(t, []string{"localhost", "server.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// hsNewRing makes a ring closed when the test ends.
func hsNewRing(t testing.TB) *core.Ring {
	r, err := core.New(core.Options{Entries: 64, Backend: testBackend})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// hsDrive runs the ring on the test goroutine until cond holds, failing the
// test after limit. A short timer keeps Run(Once) from sleeping for long.
func hsDrive(t testing.TB, r *core.Ring, cond func() bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var tick core.Handle
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("ring: condition not reached within %v", limit)
		}
		if !tick.Live() {
			var err error
			tick, err = r.Timer(20*time.Millisecond, core.Ctx{})
			require.NoError(t, err)
		}
		require.NoError(t, r.Run(core.Once))
	}
}

// hsRunWhile runs fn on a goroutine and drives the ring until it returns.
func hsRunWhile(t testing.TB, r *core.Ring, limit time.Duration, fn func() error) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	var err error
	got := false
	hsDrive(t, r, func() bool {
		if got {
			return true
		}
		select {
		case err = <-ch:
			got = true
		default:
		}
		return got
	}, limit)
	return err
}

// hsDialFd connects a blocking TCP socket to addr and returns its descriptor.
func hsDialFd(t testing.TB, addr net.Addr) int {
	fd, err := hsDialFdErr(addr)
	require.NoError(t, err)
	return fd
}

func hsDialFdErr(addr net.Addr) (int, error) {
	ta := addr.(*net.TCPAddr)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	sa := &unix.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// hsHandshake runs Handshake on fd and drives r until its callback ran.
func hsHandshake(t testing.TB, r *core.Ring, ctx context.Context, fd int, cfg *tls.Config) (*Conn, error) {
	t.Helper()
	var (
		conn *Conn
		herr error
		done bool
	)
	require.NoError(t, Handshake(ctx, r, fd, cfg, func(rt core.Runtime, c *Conn, err error) error {
		require.Same(t, r, rt)
		require.False(t, done, "callback ran twice")
		if err == nil {
			require.NotNil(t, c)
		} else {
			require.Nil(t, c)
		}
		conn, herr, done = c, err, true
		return nil
	}))
	hsDrive(t, r, func() bool { return done }, 15*time.Second)
	return conn, herr
}

// hsCloseConn closes c with CloseAsync, driving the ring.
func hsCloseConn(t testing.TB, r *core.Ring, c *Conn) {
	t.Helper()
	done := false
	require.NoError(t, c.CloseAsync(func(core.Runtime, *Conn, error) error {
		done = true
		return nil
	}))
	hsDrive(t, r, func() bool { return done }, 10*time.Second)
}

// hsLeakCheck records the open descriptors and goroutines; its result waits
// (driving r) until both are back to that count.
type hsLeakCheck struct {
	fds, goroutines int
}

func hsCountFds(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

func hsStartLeakCheck(t testing.TB) hsLeakCheck {
	return hsLeakCheck{fds: hsCountFds(t), goroutines: runtime.NumGoroutine()}
}

func (l hsLeakCheck) wait(t testing.TB, r *core.Ring) {
	t.Helper()
	var fds, gs int
	ok := func() bool {
		fds, gs = hsCountFds(t), runtime.NumGoroutine()
		return fds <= l.fds && gs <= l.goroutines
	}
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d fds (was %d), %d goroutines (was %d)\n%s", fds, l.fds, gs, l.goroutines, buf[:n])
		}
		tick, err := r.Timer(10*time.Millisecond, core.Ctx{})
		require.NoError(t, err)
		for tick.Live() {
			require.NoError(t, r.Run(core.Once))
		}
	}
}

// hsTLSServer is a crypto/tls server on loopback that records the SNI and
// ALPN offers it sees and runs handle on each connection.
type hsTLSServer struct {
	ln  net.Listener
	cfg *tls.Config
	wg  sync.WaitGroup

	mu     sync.Mutex
	sni    []string
	alpn   [][]string
	hsErrs []error
}

func hsStartTLSServer(t testing.TB, cfg *tls.Config, handle func(*tls.Conn)) *hsTLSServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &hsTLSServer{ln: ln, cfg: cfg.Clone()}
	s.cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		s.sni = append(s.sni, h.ServerName)
		s.alpn = append(s.alpn, h.SupportedProtos)
		s.mu.Unlock()
		return nil, nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				tc := tls.Server(c, s.cfg)
				_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
				if err := tc.Handshake(); err != nil {
					s.mu.Lock()
					s.hsErrs = append(s.hsErrs, err)
					s.mu.Unlock()
					return
				}
				if handle != nil {
					handle(tc)
				}
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *hsTLSServer) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *hsTLSServer) seen() (sni []string, alpn [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sni...), append([][]string(nil), s.alpn...)
}

// rawServer accepts TCP connections on loopback and runs handle on each.
func hsStartRawServer(t testing.TB, handle func(net.Conn)) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return ln
}
