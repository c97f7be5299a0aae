//go:build linux

package compat_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/ipv4"
)

// quic-go's HTTP/3 server and client, both on uringnet's UDP sockets.
// quic-go reads through a conn's ReadBatch when it has one; batchCounter
// counts those calls, so the test proves the datagrams came through the
// ring's multishot receive and not through a recvmmsg of quic-go's own.

type batchCounter struct {
	*uringnet.UDPConn
	batches, datagrams atomic.Int64
}

func (c *batchCounter) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	n, err := c.UDPConn.ReadBatch(ms, flags)
	c.batches.Add(1)
	c.datagrams.Add(int64(n))
	return n, err
}

func ringUDP(t *testing.T) *batchCounter {
	t.Helper()
	pc, err := uringnet.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, ok := pc.(*uringnet.UDPConn)
	if !ok {
		pc.Close()
		t.Fatalf("ListenPacket returned %T, not a uringnet.UDPConn: io_uring is unavailable here", pc)
	}
	t.Cleanup(func() { c.Close() })
	return &batchCounter{UDPConn: c}
}

// h3Body is the deterministic body of /bytes?n=N&seed=S.
func h3Body(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestHTTP3OnRing(t *testing.T) {
	cert, pool, _ := selfSigned(t)
	srvConn := ringUDP(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s over %s", r.URL.Query().Get("i"), r.Proto)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		var n int
		var seed uint64
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		fmt.Sscan(r.URL.Query().Get("seed"), &seed)
		w.Write(h3Body(n, seed))
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, r.Body)
		fmt.Fprintf(w, "%x", h.Sum(nil))
	})
	srv := &http3.Server{Handler: mux, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(srvConn) }()
	defer func() {
		srv.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Close")
		}
	}()

	cliConn := ringUDP(t)
	qt := &quic.Transport{Conn: cliConn}
	defer qt.Close()
	h3 := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"},
		Dial: func(ctx context.Context, addr string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			return qt.DialEarly(ctx, ua, tlsCfg, cfg)
		},
	}
	defer h3.Close()
	client := &http.Client{Transport: h3, Timeout: 60 * time.Second}
	base := "https://" + srvConn.LocalAddr().String()

	get := func(url string) ([]byte, error) {
		resp, err := client.Get(url)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 3 {
			return nil, fmt.Errorf("%s: protocol %s", url, resp.Proto)
		}
		return io.ReadAll(resp.Body)
	}

	// Thousands of requests, 16 at a time.
	const requests = 2000
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	sem := make(chan struct{}, 16)
	for i := 0; i < requests; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, err := get(fmt.Sprintf("%s/hello?i=%d", base, i))
			if err == nil && string(body) != fmt.Sprintf("hello %d over HTTP/3.0", i) {
				err = fmt.Errorf("request %d: body %q", i, body)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// A large download, checked by hash.
	const size = 32 << 20
	body, err := get(fmt.Sprintf("%s/bytes?n=%d&seed=7", base, size))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(body) != sha256.Sum256(h3Body(size, 7)) {
		t.Fatalf("download of %d bytes: got %d bytes with another hash", size, len(body))
	}

	// An upload, hashed by the server.
	up := h3Body(4<<20, 9)
	resp, err := client.Post(base+"/upload", "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%x", sha256.Sum256(up)); string(got) != want {
		t.Fatalf("upload hash %s, want %s", got, want)
	}

	for name, c := range map[string]*batchCounter{"server": srvConn, "client": cliConn} {
		b, d := c.batches.Load(), c.datagrams.Load()
		t.Logf("%s: %d datagrams in %d ReadBatch calls", name, d, b)
		if b == 0 || d < requests {
			t.Errorf("%s: quic-go read %d datagrams in %d ReadBatch calls: it did not take the batch path", name, d, b)
		}
	}
}
