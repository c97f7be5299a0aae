package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ourio-go/ourio/uringnet"
)

func TestParseVmRSS(t *testing.T) {
	status := "Name:\techoserver\nVmPeak:\t  1239044 kB\nVmRSS:\t    7820 kB\nRssAnon:\t    2436 kB\n"
	if got, err := parseVmRSS(strings.NewReader(status)); err != nil || got != 7820 {
		t.Errorf("parseVmRSS = %d, %v; want 7820", got, err)
	}
	for _, s := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tmany kB\n"} {
		if got, err := parseVmRSS(strings.NewReader(s)); err == nil {
			t.Errorf("parseVmRSS(%q) = %d", s, got)
		}
	}
	if rss, err := vmRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("vmRSS(self) = %d, %v", rss, err)
	}
}

func TestRaiseNofile(t *testing.T) {
	if err := raiseNofile(100); err != nil {
		t.Error(err)
	}
	err := raiseNofile(1 << 40)
	if err == nil || !strings.Contains(err.Error(), "hard limit") {
		t.Errorf("err = %v, want the hard limit named", err)
	}
}

// TestIdleConnectFailsOnSilentServer checks that a server that accepts but
// hangs up is reported, with every connection made so far handed back.
func TestIdleConnectFailsOnSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	conns, err := idleConnect(context.Background(), ln.Addr().String(), 100)
	for _, c := range conns {
		c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "echo") {
		t.Fatalf("err = %v, want an echo failure", err)
	}
}

// TestIdleFamilyRun runs the family for real on net and uringnet, one
// round of 300 connections each.
func TestIdleFamilyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server processes")
	}
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	var progress strings.Builder
	env := familyEnv{rounds: 1, tmp: t.TempDir(), outDir: t.TempDir(), progress: &progress}
	sec, err := idlePlan{conns: 300, impls: []string{"net", "uringnet"}}.run(context.Background(), env)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	t.Logf("%q\n%q\n%s", sec.Columns, sec.Rows, strings.Join(sec.Notes, "\n"))
	runs := sec.Raw.([]idleRun)
	if len(runs) != 2 || len(sec.Rows) != 2 || sec.Rows[0][1] != "net" || sec.Rows[0][3] != "1.00x" || sec.Rows[1][1] != "uringnet" || len(sec.Rows[0]) != len(sec.Columns) {
		t.Fatalf("runs %+v rows %q", runs, sec.Rows)
	}
	for _, r := range runs {
		// A goroutine per connection alone costs a few KiB of stack.
		if r.Conns != 300 || r.RSSBefore <= 0 || r.KiBPerConn <= 0.5 {
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
