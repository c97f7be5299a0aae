package h3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/bench/internal/pattern"
	"github.com/ourio-go/ourio/uringnet"
)

// TestServeBothTransports serves on each transport and fetches every path
// with the benchmark's client: the small response, downloads checked
// against the pattern by hash, the transport's description, and a bad
// request refused.
func TestServeBothTransports(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	for _, transport := range Transports {
		t.Run(transport, func(t *testing.T) {
			pc, desc, err := Listen(transport, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(desc, transport+": ") {
				t.Errorf("description %q does not start with %s", desc, transport)
			}
			srv, err := Server(desc)
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(pc) }()
			defer func() {
				srv.Close()
				pc.Close()
				select {
				case <-served:
				case <-time.After(10 * time.Second):
					t.Error("Serve did not return after Close")
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := NewClient(pc.LocalAddr().String())
			defer c.Close()

			get := func(path string) []byte {
				t.Helper()
				resp, err := c.Get(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				return b
			}
			if b := get(SmallPath); !bytes.Equal(b, Small) {
				t.Errorf("%s: %q, want %q", SmallPath, b, Small)
			}
			if b := get(TransportPath); string(b) != desc {
				t.Errorf("%s: %q, want %q", TransportPath, b, desc)
			}
			p := pattern.Bytes()
			for _, n := range []int{0, 1, pattern.Period - 1, pattern.Period, 3*pattern.Period + 17, 5 << 20} {
				want := make([]byte, 0, n)
				for len(want) < n {
					want = append(want, p[:min(pattern.Period, n-len(want))]...)
				}
				b := get(fmt.Sprintf("%s?n=%d", BytesPath, n))
				if len(b) != n || sha256.Sum256(b) != sha256.Sum256(want) {
					t.Errorf("%s?n=%d: %d bytes, another hash", BytesPath, n, len(b))
				}
			}
			for _, q := range []string{"", "?n=-1", "?n=x", fmt.Sprintf("?n=%d", MaxBytes+1)} {
				if resp, err := c.Get(ctx, BytesPath+q); err == nil {
					resp.Body.Close()
					t.Errorf("%s%s: %s, want an error", BytesPath, q, resp.Status)
				} else if !strings.Contains(err.Error(), "400") {
					t.Errorf("%s%s: %v, want 400", BytesPath, q, err)
				}
			}
		})
	}
}

func TestListenRefusesUnknownTransport(t *testing.T) {
	if pc, _, err := Listen("quic", "127.0.0.1:0"); err == nil {
		pc.Close()
		t.Fatal("Listen accepted an unknown transport")
	}
}
