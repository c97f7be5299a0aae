package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// TestQuickRun runs the command's whole machinery briefly: building the
// server, every server process, the load generator at 1 and 4 connections,
// and the table and files it writes.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server processes")
	}
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	cfg := config{
		servers:  []string{"net", "uringnet", "callback", "gnet", "netpoll"},
		sizes:    []int{64},
		conns:    []int{1, 4},
		rounds:   1,
		warmup:   50 * time.Millisecond,
		duration: 150 * time.Millisecond,
		bufSize:  4096,
	}
	// A race-built test builds the servers with -race too, so the build
	// reuses the packages compiled for the test instead of compiling them
	// again; the figures are not the point here.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				cfg.buildFlags = []string{"-race"}
			}
		}
	}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if got := strings.Count(progress.String(), "msgs/s"); got != 10 {
		t.Errorf("%d progress lines, want 10:\n%s", got, progress.String())
	}
	if len(res.Runs) != 10 {
		t.Fatalf("%d runs, want 10", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.Msgs == 0 || r.MsgsPerSec <= 0 || r.P50us <= 0 || r.P99us < r.P50us || r.ServerCPU < 0 || r.GenCPU <= 0 {
			t.Errorf("implausible run: %+v", r)
		}
	}

	var text bytes.Buffer
	if err := res.writeText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"64 B × 1 conn", "64 B × 4 conns", "uringnet", "callback", "gnet", "netpoll", "×net", "1.00x"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, text.String())
		}
	}

	dir := t.TempDir()
	if err := res.writeFiles(dir); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back results
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 10 || back.Runs[0].MsgsPerSec != res.Runs[0].MsgsPerSec || back.Meta.Baseline != "net" {
		t.Errorf("results.json does not round-trip: %s", js)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []string{"callback", "gnet", "netpoll"} {
		if !strings.Contains(string(md), "| 64 B × 4 conns | "+srv+" |") {
			t.Errorf("results.md lacks the %s row:\n%s", srv, md)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	ok := config{servers: []string{"net"}, sizes: []int{64}, conns: []int{1}, rounds: 1, duration: time.Second, bufSize: 1}
	if err := ok.check(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]config{
		"server":   {servers: []string{"evio"}, sizes: []int{64}, conns: []int{1}, rounds: 1, duration: time.Second, bufSize: 1},
		"size":     {servers: []string{"net"}, sizes: []int{0}, conns: []int{1}, rounds: 1, duration: time.Second, bufSize: 1},
		"duration": {servers: []string{"net"}, sizes: []int{64}, conns: []int{1}, rounds: 1, bufSize: 1},
		"empty":    {sizes: []int{64}, conns: []int{1}, rounds: 1, duration: time.Second, bufSize: 1},
	} {
		if c.check() == nil {
			t.Errorf("%s: check accepted %+v", name, c)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := "1234 (echo (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 5 0 1000 0 0\n"
	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; got != want {
		t.Fatalf("cpu = %v, want %v", got, want)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1")); err == nil {
		t.Fatal("short line accepted")
	}
	self, err := procCPU(os.Getpid())
	if err != nil || self < 0 {
		t.Fatalf("procCPU(self) = %v, %v", self, err)
	}
}

func TestSpreadAndNum(t *testing.T) {
	if s := spreadOf([]float64{3, 1, 2}); s != (spread{2, 1, 3}) {
		t.Errorf("odd: %+v", s)
	}
	if s := spreadOf([]float64{4, 1, 2, 3}); s != (spread{2.5, 1, 4}) {
		t.Errorf("even: %+v", s)
	}
	for v, want := range map[float64]string{1.234: "1.23", 12.34: "12.3", 123.4: "123", 12345: "12345"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{123.4: "123", 12345: "12.3k", 1234567: "1.23M"} {
		if got := rate(v); got != want {
			t.Errorf("rate(%v) = %q, want %q", v, got, want)
		}
	}
	if got := (spread{5, 5, 5}).format(num); got != "5.00" {
		t.Errorf("single-valued spread = %q", got)
	}
	if got := (spread{2, 1, 3}).format(num); got != "2.00 (1.00..3.00)" {
		t.Errorf("single-valued spread = %q", got)
	}
	if got := (workload{4096, 1}).String(); got != "4 KiB × 1 conn" {
		t.Errorf("workload = %q", got)
	}
}
