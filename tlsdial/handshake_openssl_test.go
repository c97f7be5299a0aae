//go:build linux

package tlsdial

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHandshakeOpenSSL handshakes with OpenSSL's own server, `openssl
// s_server`, pinned to TLS 1.2 and to TLS 1.3, and exchanges a line each
// way. It is skipped only when the openssl binary is absent (Debian/Ubuntu:
// apt-get install -y openssl).
func TestHandshakeOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl binary not found; install it with: apt-get install -y openssl")
	}
	ca := hsNewTestCA(t, "ourio test CA")
	leaf := ca.goodLeaf(t)
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))

	for _, v := range []struct {
		flag string
		ver  uint16
	}{{"-tls1_2", tls.VersionTLS12}, {"-tls1_3", tls.VersionTLS13}} {
		t.Run(strings.TrimPrefix(v.flag, "-"), func(t *testing.T) {
			ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
			defer stop()
			cmd := exec.CommandContext(ctx, bin, "s_server", "-accept", "127.0.0.1:0",
				"-cert", certPath, "-key", keyPath, v.flag, "-naccept", "1", "-alpn", "http/1.1")
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			cmd.Stderr = cmd.Stdout
			require.NoError(t, cmd.Start())
			t.Cleanup(func() {
				_ = stdin.Close()
				waited := make(chan error, 1)
				go func() { waited <- cmd.Wait() }()
				select {
				case <-waited:
				case <-time.After(5 * time.Second):
					_ = cmd.Process.Kill()
					<-waited
				}
			})
			lines := make(chan string, 256)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			waitLine := func(pred func(string) bool) string {
				t.Helper()
				timeout := time.After(10 * time.Second)
				for {
					select {
					case l, ok := <-lines:
						require.True(t, ok, "s_server exited")
						if pred(l) {
							return l
						}
					case <-timeout:
						t.Fatal("s_server did not print the expected line")
					}
				}
			}
			accept := waitLine(func(l string) bool { return strings.HasPrefix(l, "ACCEPT ") })
			addr, err := net.ResolveTCPAddr("tcp", strings.TrimPrefix(accept, "ACCEPT "))
			require.NoError(t, err)

			r := hsNewRing(t)
			leaks := hsStartLeakCheck(t)
			c, err := hsHandshake(t, r, context.Background(), hsDialFd(t, addr), &tls.Config{
				RootCAs: ca.pool, ServerName: "localhost", NextProtos: []string{"http/1.1"},
			})
			require.NoError(t, err)
			st := c.ConnectionState()
			require.Equal(t, v.ver, st.Version)
			require.Equal(t, "http/1.1", st.NegotiatedProtocol)

			// Client to server: s_server prints what it receives.
			require.NoError(t, hsRunWhile(t, r, 10*time.Second, func() error {
				_, err := c.Write([]byte("hello from ourio\n"))
				return err
			}))
			waitLine(func(l string) bool { return l == "hello from ourio" })
			// Server to client: s_server sends what it reads on stdin.
			_, err = stdin.Write([]byte("hello from openssl\n"))
			require.NoError(t, err)
			var got string
			require.NoError(t, hsRunWhile(t, r, 10*time.Second, func() error {
				var err error
				got, err = bufio.NewReader(c).ReadString('\n')
				return err
			}))
			require.Equal(t, "hello from openssl\n", got)
			hsCloseConn(t, r, c)
			leaks.wait(t, r)
		})
	}
}
