package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/bench/internal/pattern"
	"github.com/ourio-go/ourio/uringnet"
)

// corruptingEcho echoes everything back but flips one byte at offset bad.
func corruptingEcho(t *testing.T, bad int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 32<<10)
		var off int64
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if bad >= off && bad < off+int64(n) {
					buf[bad-off] ^= 1
				}
				off += int64(n)
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

func TestBulkStreamChecksEcho(t *testing.T) {
	const bad = 3<<20 + 12345
	_, err := bulkStream(corruptingEcho(t, bad), os.Getpid(), 1<<20, 4<<20)
	if err == nil || !strings.Contains(err.Error(), "at byte 3158073") {
		t.Fatalf("err = %v, want the corrupted byte 3158073 named", err)
	}
	// The same server without the flip passes, so the check is not blind.
	r, err := bulkStream(corruptingEcho(t, -1), os.Getpid(), 1<<20, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bytes <= 4<<20-bulkChunk || r.Bytes > 4<<20 || r.GBps <= 0 || r.ServerCPUs <= 0 {
		t.Errorf("implausible run: %+v", r)
	}
}

func TestBulkStreamServerGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // echo 1 MiB, then hang up
		c, err := ln.Accept()
		if err == nil {
			io.CopyN(c, c, 1<<20)
			c.Close()
		}
	}()
	done := make(chan error, 1)
	go func() { _, err := bulkStream(ln.Addr().String(), os.Getpid(), 1<<20, 8<<20); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a server that hung up mid-stream passed")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bulkStream hung after the server closed")
	}
}

func TestBulkPattern(t *testing.T) {
	p := pattern.Bytes()
	if len(p) != 2*bulkPeriod || string(p[:bulkPeriod]) != string(p[bulkPeriod:]) {
		t.Fatal("pattern is not two equal periods")
	}
	if string(p[:bulkChunk]) == string(p[bulkChunk:2*bulkChunk]) {
		t.Error("consecutive chunks are equal: a repeated chunk would pass")
	}
	if got := firstDiff([]byte("abcd"), []byte("abxd")); got != 2 {
		t.Errorf("firstDiff = %d", got)
	}
}

// TestBulkFamilyRun runs the family for real on net and uringnet, one
// round of 16 MiB each.
func TestBulkFamilyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server processes")
	}
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	var progress strings.Builder
	env := familyEnv{rounds: 1, tmp: t.TempDir(), outDir: t.TempDir(), progress: &progress}
	sec, err := bulkPlan{total: 16 << 20, impls: []string{"net", "uringnet"}}.run(context.Background(), env)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	t.Logf("%q\n%q\n%s", sec.Columns, sec.Rows, strings.Join(sec.Notes, "\n"))
	runs := sec.Raw.([]bulkRun)
	if len(runs) != 2 || len(sec.Rows) != 2 || sec.Rows[0][1] != "net" || sec.Rows[0][3] != "1.00x" || sec.Rows[1][1] != "uringnet" || len(sec.Rows[0]) != len(sec.Columns) {
		t.Fatalf("runs %+v rows %q", runs, sec.Rows)
	}
	for _, r := range runs {
		if r.Bytes <= 16<<20-bulkChunk || r.Bytes > 16<<20 || r.GBps <= 0 || r.ServerCPUs <= 0 {
			t.Errorf("implausible run: %+v", r)
		}
	}
	if _, err := json.Marshal(sec); err != nil {
		t.Error(err)
	}
	if len(sec.Charts) != 1 {
		t.Fatalf("charts %q", sec.Charts)
	}
	if b, err := os.ReadFile(filepath.Join(env.outDir, sec.Charts[0])); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("chart: %v", err)
	}
}
