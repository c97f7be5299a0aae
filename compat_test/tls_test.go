package compat_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// selfSigned makes a certificate for localhost and 127.0.0.1 that is its
// own root, and returns it, a pool trusting it and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "ourio compat test"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so OpenSSL takes it as its own trust anchor
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// tlsServer serves a line protocol over tls.NewListener on a transport's
// listener. A connection sends one command line and the server closes it
// after answering:
//
//	echo TEXT       → "echo: TEXT\n"
//	sink N          → reads N bytes, answers "N DIGEST\n"
//	source SEED N   → writes payload(SEED, N)
//	late MS TEXT    → waits MS milliseconds, then "TEXT\n"
type tlsServer struct {
	ln     *trackedListener
	states chan tls.ConnectionState // one per connection, after its handshake
	errs   chan error
}

func startTLS(t *testing.T, tp transport, cert tls.Certificate) *tlsServer {
	t.Helper()
	s := &tlsServer{ln: tp.listen(t), states: make(chan tls.ConnectionState, 16), errs: make(chan error, 16)}
	tln := tls.NewListener(s.ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			go s.serve(c.(*tls.Conn))
		}
	}()
	return s
}

func (s *tlsServer) serve(c *tls.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if err := c.Handshake(); err != nil {
		s.errs <- fmt.Errorf("server handshake: %v", err)
		return
	}
	s.states <- c.ConnectionState()
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		s.errs <- fmt.Errorf("server reading the command: %v", err)
		return
	}
	f := strings.Fields(line)
	switch {
	case len(f) >= 1 && f[0] == "echo":
		fmt.Fprintf(c, "echo: %s", strings.TrimPrefix(line, "echo "))
	case len(f) == 2 && f[0] == "sink":
		n, _ := strconv.ParseInt(f[1], 10, 64)
		d, got, err := digest(io.LimitReader(br, n))
		if err != nil {
			s.errs <- fmt.Errorf("server sinking: %v", err)
			return
		}
		fmt.Fprintf(c, "%d %s\n", got, d)
	case len(f) == 3 && f[0] == "source":
		seed, _ := strconv.ParseUint(f[1], 10, 64)
		n, _ := strconv.ParseInt(f[2], 10, 64)
		io.Copy(c, payload(seed, n))
	case len(f) == 3 && f[0] == "late":
		ms, _ := strconv.Atoi(f[1])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(c, "%s\n", f[2])
	default:
		s.errs <- fmt.Errorf("server: unknown command %q", line)
	}
}

// state returns the server's view of its next handshake.
func (s *tlsServer) state(t *testing.T) tls.ConnectionState {
	t.Helper()
	select {
	case st := <-s.states:
		return st
	case err := <-s.errs:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no server handshake within 10s")
	}
	return tls.ConnectionState{}
}

// goTLS dials the server through td, handshakes with cfg, sends cmd and
// returns everything the server sent until its close_notify, and the
// client's view of the handshake.
func goTLS(t *testing.T, td *trackedDialer, addr string, cfg *tls.Config, cmd string, body io.Reader) (string, tls.ConnectionState) {
	t.Helper()
	ctx := testCtx(t)
	raw, err := td.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, cfg)
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if err := c.HandshakeContext(ctx); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if _, err := io.WriteString(c, cmd); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		if _, err := io.Copy(c, body); err != nil {
			t.Fatal(err)
		}
	}
	// Reading to io.EOF also reads the session tickets the server sends
	// after a TLS 1.3 handshake.
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("client reading the answer: %v", err)
	}
	return string(out), c.ConnectionState()
}

// TestTLSGoClient handshakes with Go's TLS client at TLS 1.3 and 1.2, moves
// 4 MiB each way, and resumes: a second connection with the same session
// cache resumes, on both sides.
func TestTLSGoClient(t *testing.T) {
	cert, pool, _ := selfSigned(t)
	bothTransports(t, func(t *testing.T, tp transport) {
		s := startTLS(t, tp, cert)
		td := tp.dialer(t)
		addr := s.ln.Addr().String()
		for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			t.Run(tls.VersionName(version), func(t *testing.T) {
				cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				for i, resumed := range []bool{false, true} {
					text := fmt.Sprintf("hello %d over %s\n", i, tls.VersionName(version))
					out, cst := goTLS(t, td, addr, cfg, "echo "+text, nil)
					sst := s.state(t)
					if out != "echo: "+text {
						t.Errorf("connection %d: answer %q, want %q", i, out, "echo: "+text)
					}
					if cst.Version != version || sst.Version != version {
						t.Errorf("connection %d: client negotiated %s, server %s; want %s", i, tls.VersionName(cst.Version), tls.VersionName(sst.Version), tls.VersionName(version))
					}
					if cst.DidResume != resumed || sst.DidResume != resumed {
						t.Errorf("connection %d: client DidResume %v, server %v; want %v", i, cst.DidResume, sst.DidResume, resumed)
					}
				}
			})
		}
		t.Run("bulk", func(t *testing.T) {
			cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
			const size = 4 << 20
			out, _ := goTLS(t, td, addr, cfg, fmt.Sprintf("sink %d\n", size), payload(21, size))
			s.state(t)
			if want := fmt.Sprintf("%d %s\n", size, mustDigest(21, size)); out != want {
				t.Errorf("server hashed the upload as %q, want %q", out, want)
			}
			out, _ = goTLS(t, td, addr, cfg, fmt.Sprintf("source 22 %d\n", size), nil)
			s.state(t)
			if d, n, _ := digest(strings.NewReader(out)); n != size || d != mustDigest(22, size) {
				t.Errorf("download: %d bytes hashing to %s, want %d hashing to %s", n, d, size, mustDigest(22, size))
			}
		})
		if got := s.ln.accepted(); got != 6 {
			t.Errorf("server accepted %d connections, want 6", got)
		}
	})
}

// TestTLSReadDeadline lets a read deadline expire on a TLS connection
// before the server answers: the Read fails as a timeout, and, a timeout
// being temporary to crypto/tls, a Read with a later deadline gets the
// answer.
func TestTLSReadDeadline(t *testing.T) {
	cert, pool, _ := selfSigned(t)
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		s := startTLS(t, tp, cert)
		raw, err := tp.dialer(t).DialContext(ctx, "tcp", s.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		if _, err := io.WriteString(c, "late 300 finally\n"); err != nil {
			t.Fatal(err)
		}
		s.state(t)
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past its deadline: %q, %v; want a timeout matching os.ErrDeadlineExceeded", buf[:n], err)
		}
		c.SetReadDeadline(time.Now().Add(testTimeout))
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "finally\n" {
			t.Errorf("Read after the timeout: %q, %v; want \"finally\\n\"", got, err)
		}
	})
}

// TestTLSOpenSSLClient connects `openssl s_client` twice, verifying the
// certificate; the second run resumes the session the first saved with
// -sess_out, and both sides say so.
func TestTLSOpenSSLClient(t *testing.T) {
	openssl := needTool(t, "openssl", "openssl")
	cert, _, certPEM := selfSigned(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	bothTransports(t, func(t *testing.T, tp transport) {
		s := startTLS(t, tp, cert)
		sess := filepath.Join(t.TempDir(), "session.pem")
		for i, tc := range []struct {
			sessFlag string
			summary  string
			resumed  bool
		}{{"-sess_out", "New, TLSv1.3, Cipher is ", false}, {"-sess_in", "Reused, TLSv1.3, Cipher is ", true}} {
			text := fmt.Sprintf("hello %d from openssl", i)
			cmd := exec.Command(openssl, "s_client", "-connect", s.ln.Addr().String(),
				"-servername", "localhost", "-verify_hostname", "localhost",
				"-CAfile", caFile, "-verify_return_error", tc.sessFlag, sess,
				// Wait for the server to close rather than leave at the
				// end of stdin: the answer and the ticket come after.
				"-ign_eof")
			cmd.Stdin = strings.NewReader("echo " + text + "\n")
			out := runCmd(t, cmd)
			sst := s.state(t)
			if !strings.Contains(out, tc.summary) || !strings.Contains(out, "Verify return code: 0 (ok)") {
				t.Errorf("openssl run %d: output lacks %q or a verified certificate:\n%s", i, tc.summary, out)
			}
			if !strings.Contains(out, "echo: "+text+"\n") {
				t.Errorf("openssl run %d: the answer %q is not in its output:\n%s", i, "echo: "+text, out)
			}
			if sst.DidResume != tc.resumed || sst.Version != tls.VersionTLS13 {
				t.Errorf("openssl run %d: server saw %s, DidResume %v; want TLS 1.3, %v", i, tls.VersionName(sst.Version), sst.DidResume, tc.resumed)
			}
		}
		if got := s.ln.accepted(); got != 2 {
			t.Errorf("server accepted %d connections, want 2", got)
		}
	})
}

// runCmd runs cmd within 20s and returns its stdout and stderr together.
func runCmd(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish within 20s\n%s", strings.Join(cmd.Args, " "), out.String())
	}
	return out.String()
}
