package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
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
	_, perfErr := exec.LookPath("perf")
	cfg := config{
		workloads: []string{"echo"},
		servers:   echoImpls,
		sizes:     []int{64},
		conns:     []int{1, 4},
		rounds:    1,
		warmup:    50 * time.Millisecond,
		duration:  150 * time.Millisecond,
		bufSize:   4096,
		syscalls:  perfErr == nil, // never installs perf from a test
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
	if len(res.Failures) > 0 {
		t.Fatalf("failures: %+v\n%s", res.Failures, progress.String())
	}
	runs := 2 * len(echoImpls)
	if got := strings.Count(progress.String(), "msgs/s"); got != runs {
		t.Errorf("%d progress lines, want %d:\n%s", got, runs, progress.String())
	}
	if len(res.Runs) != runs {
		t.Fatalf("%d runs, want %d", len(res.Runs), runs)
	}
	for _, r := range res.Runs {
		// Every server blocks between messages at one connection, so it
		// switches context at least once per message or so.
		if r.Msgs == 0 || r.MsgsPerSec <= 0 || r.P50us <= 0 || r.P99us < r.P50us || r.ServerCPU <= 0 || r.GenCPU <= 0 || r.ServerCS <= 0 {
			t.Errorf("implausible run: %+v", r)
		}
		if cfg.syscalls && (r.Syscalls == nil || *r.Syscalls <= 0) {
			t.Errorf("%s %d conns: no syscall count with perf at hand (%s)", r.Server, r.Conns, res.Meta.SyscallTool)
		}
	}

	var text bytes.Buffer
	if err := res.writeText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"64 B × 1 conn", "64 B × 4 conns", "uringnet", "callback-rings", "gnet", "netpoll", "×net", "1.00x", "server cs/msg", "syscalls/msg", "Targets:", "callback server CPU µs/msg ≤ 0.70x net"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, text.String())
		}
	}

	dir := t.TempDir()
	if err := res.writeCharts(dir); err != nil {
		t.Fatal(err)
	}
	if len(res.Charts) != 2 {
		t.Errorf("charts %v, want msgs and cpu for 64 B", res.Charts)
	}
	for _, c := range res.Charts {
		if fi, err := os.Stat(filepath.Join(dir, c)); err != nil || fi.Size() == 0 {
			t.Errorf("chart %s: %v", c, err)
		}
	}
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
	if len(back.Runs) != runs || back.Runs[0].MsgsPerSec != res.Runs[0].MsgsPerSec || back.Meta.Baseline != "net" || len(back.Targets) == 0 {
		t.Errorf("results.json does not round-trip: %s", js)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []string{"callback", "callback-rings", "gnet", "netpoll"} {
		if !strings.Contains(string(md), "| 64 B × 4 conns | "+srv+" |") {
			t.Errorf("results.md lacks the %s row:\n%s", srv, md)
		}
	}
	for _, c := range res.Charts {
		if !strings.Contains(string(md), "]("+c+")") {
			t.Errorf("results.md does not show %s", c)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	ok := config{workloads: []string{"echo"}, servers: []string{"net"}, sizes: []int{64}, conns: []int{1}, rounds: 1, duration: time.Second, bufSize: 1}
	if err := ok.check(); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*config)) config {
		c := ok
		f(&c)
		return c
	}
	for name, c := range map[string]config{
		"server":    with(func(c *config) { c.servers = []string{"evio"} }),
		"size":      with(func(c *config) { c.sizes = []int{0} }),
		"duration":  with(func(c *config) { c.duration = 0 }),
		"empty":     with(func(c *config) { c.servers = nil }),
		"workload":  with(func(c *config) { c.workloads = []string{"echo", "ping"} }),
		"twice":     with(func(c *config) { c.workloads = []string{"echo", "echo"} }),
		"workloads": with(func(c *config) { c.workloads = nil }),
	} {
		if c.check() == nil {
			t.Errorf("%s: check accepted %+v", name, c)
		}
	}
	// An unknown workload's error names the known ones.
	err := with(func(c *config) { c.workloads = []string{"ping"} }).check()
	if err == nil || !strings.Contains(err.Error(), `"ping"`) || !strings.Contains(err.Error(), strings.Join(workloadNames(), ", ")) {
		t.Errorf("unknown workload: %v", err)
	}
}

func TestParseTaskSchedstat(t *testing.T) {
	got, err := parseTaskSchedstat([]byte("123456789 5000 42\n"))
	if err != nil || got != 123456789*time.Nanosecond {
		t.Fatalf("parseTaskSchedstat = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1 2", "x 2 3", "1 2 3 4"} {
		if _, err := parseTaskSchedstat([]byte(bad)); err == nil {
			t.Errorf("parseTaskSchedstat(%q) accepted", bad)
		}
	}
}

func TestParseSwitches(t *testing.T) {
	status := "Name:\techo\nState:\tS (sleeping)\nThreads:\t5\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n"
	if n, err := parseSwitches([]byte(status)); err != nil || n != 157 {
		t.Fatalf("parseSwitches = %d, %v; want 157", n, err)
	}
	if _, err := parseSwitches([]byte("Name:\techo\nvoluntary_ctxt_switches:\t150\n")); err == nil {
		t.Error("status without nonvoluntary_ctxt_switches accepted")
	}
	if _, err := parseSwitches([]byte("voluntary_ctxt_switches:\tx\nnonvoluntary_ctxt_switches:\t7\n")); err == nil {
		t.Error("malformed count accepted")
	}
}

// TestReadProcUsage reads this process's threads: the time on CPU grows
// with work done, to the nanosecond, and sleeping switches context.
func TestReadProcUsage(t *testing.T) {
	u0, err := readProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel's own account (getrusage) shows 20 ms on CPU:
	// on a loaded machine 20 ms of wall time may hold far less.
	cpu0, giveUp := selfCPU(), time.Now().Add(5*time.Second)
	for selfCPU()-cpu0 < 20*time.Millisecond && time.Now().Before(giveUp) {
	}
	for range 5 {
		time.Sleep(time.Millisecond)
	}
	u1, err := readProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := u1.cpu - u0.cpu; d < 15*time.Millisecond {
		t.Errorf("20 ms on CPU by getrusage showed as %v in schedstat", d)
	}
	if u1.switches-u0.switches < 5 {
		t.Errorf("five sleeps showed %d context switches", u1.switches-u0.switches)
	}
	if _, err := readProcUsage(1 << 30); err == nil {
		t.Error("no such process, no error")
	}
}

func TestParsePerfStat(t *testing.T) {
	for out, want := range map[string]uint64{
		"674841,,raw_syscalls:sys_enter,293793332,100.00,,\n": 674841,
		"<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n":  0,
	} {
		if got, err := parsePerfStat([]byte(out)); err != nil || got != want {
			t.Errorf("parsePerfStat(%q) = %d, %v; want %d", out, got, err, want)
		}
	}
	for _, bad := range []string{"", "Error: no such event\n", "<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n"} {
		if _, err := parsePerfStat([]byte(bad)); err == nil {
			t.Errorf("parsePerfStat(%q) accepted", bad)
		}
	}
}

func TestParseStraceSummary(t *testing.T) {
	out := `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.006000           2      3000           write
 40.00    0.004000           1      3000       120 read
------ ----------- ----------- --------- --------- ----------------
100.00    0.010000           1      6000       120 total
`
	if n, err := parseStraceSummary([]byte(out)); err != nil || n != 6000 {
		t.Fatalf("parseStraceSummary = %d, %v; want 6000", n, err)
	}
	noErrors := "100.00    0.010000           1      6000           total\n"
	if n, err := parseStraceSummary([]byte(noErrors)); err != nil || n != 6000 {
		t.Fatalf("without errors column: %d, %v", n, err)
	}
	if _, err := parseStraceSummary([]byte("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n")); err == nil {
		t.Error("no summary accepted")
	}
}

// TestPerfCounter counts the syscalls of a child that makes a known
// number of them quickly, where perf can run.
func TestPerfCounter(t *testing.T) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		t.Skip("no perf here")
	}
	// dd with a 1-byte block size makes a read and a write per byte.
	child := exec.Command("dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=100000000")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	// Under the load of the other packages' tests perf can report its
	// counter never ran ("<not counted>") in a short window: try again.
	var n uint64
	for try := 0; try < 3 && n < 10000; try++ {
		if n, err = (perfCounter{perf}).count(child.Process.Pid, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if n < 10000 {
		t.Errorf("dd bs=1 made only %d syscalls in 300 ms, three times", n)
	}
}

func TestSpreadAndNum(t *testing.T) {
	if s := spreadOf([]float64{3, 1, 2}); s != (spread{2, 1, 3, 3}) {
		t.Errorf("odd: %+v", s)
	}
	if s := spreadOf([]float64{4, 1, 2, 3}); s != (spread{2.5, 1, 4, 4}) {
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
	if got := (spread{5, 5, 5, 1}).format(num); got != "5.00" {
		t.Errorf("single-valued spread = %q", got)
	}
	if got := (spread{2, 1, 3, 2}).format(num); got != "2.00 (1.00..3.00)" {
		t.Errorf("spread = %q", got)
	}
	if got := spreadOf(nil).format(num); got != "n/a" {
		t.Errorf("empty spread = %q", got)
	}
	if got := (workload{4096, 1}).String(); got != "4 KiB × 1 conn" {
		t.Errorf("workload = %q", got)
	}
}

// withFamilies replaces the registry for one test.
func withFamilies(t *testing.T, fs ...family) {
	saved := families
	families = fs
	t.Cleanup(func() { families = saved })
}

// TestFamilies runs two stand-in families, one failing: the other's
// section is kept and rendered, the failure recorded, and echo, not
// selected, leaves no table.
func TestFamilies(t *testing.T) {
	var got familyEnv
	withFamilies(t,
		family{name: "fine", run: func(_ context.Context, env familyEnv) (*section, error) {
			got = env
			if err := os.WriteFile(filepath.Join(env.outDir, "fine.svg"), []byte("<svg/>"), 0o644); err != nil {
				return nil, err
			}
			return &section{Name: "fine", Title: "Fine family", Columns: []string{"server", "req/s"},
				Rows: [][]string{{"net", "100"}, {"uringnet", "120"}}, Notes: []string{"A note."}, Charts: []string{"fine.svg"}}, nil
		}},
		family{name: "broken", run: func(context.Context, familyEnv) (*section, error) {
			return nil, errors.New("wrk not found")
		}},
	)
	if names := workloadNames(); strings.Join(names, ",") != "echo,fine,broken" {
		t.Fatalf("workload names %v", names)
	}
	out := t.TempDir()
	cfg := config{workloads: []string{"broken", "fine"}, servers: []string{"net"}, sizes: []int{64}, conns: []int{1},
		rounds: 3, warmup: time.Millisecond, duration: 2 * time.Millisecond, bufSize: 1, quick: true, outDir: out}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if got.rounds != 3 || got.duration != 2*time.Millisecond || !got.quick || got.outDir != out || got.tmp == "" || got.progress == nil {
		t.Errorf("family env %+v", got)
	}
	if len(res.Sections) != 1 || len(res.Failures) != 1 || res.Failures[0].Workload != "broken" || len(res.Runs) != 0 {
		t.Fatalf("sections %v, failures %v, %d echo runs", res.Sections, res.Failures, len(res.Runs))
	}
	if !strings.Contains(progress.String(), "broken failed: wrk not found") {
		t.Errorf("progress does not report the failure:\n%s", progress.String())
	}

	var text bytes.Buffer
	if err := res.writeText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== Fine family ==", "uringnet  120", "A note.", "Charts: fine.svg", "== broken ==", "failed: wrk not found"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "Echo") {
		t.Errorf("echo not selected, yet shown:\n%s", text.String())
	}
	if err := res.writeFiles(out); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(out, "results.md"))
	for _, want := range []string{"## Fine family", "| server | req/s |", "| uringnet | 120 |", "A note.", "![fine](fine.svg)", "## broken", "Failed: wrk not found"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	js, _ := os.ReadFile(filepath.Join(out, "results.json"))
	var back struct {
		Sections []section `json:"sections"`
		Failures []failure `json:"failures"`
	}
	if err := json.Unmarshal(js, &back); err != nil || len(back.Sections) != 1 || back.Sections[0].Rows[1][1] != "120" || len(back.Failures) != 1 {
		t.Errorf("results.json: %v %s", err, js)
	}
}

// fakeRuns makes one round per value of echo results for one workload.
func fakeRuns(srv string, msgs, cpu, p99 float64) runRecord {
	return runRecord{Round: 1, Server: srv, Size: 64, Conns: 64, sample: sample{MsgsPerSec: msgs, ServerCPU: cpu, P99us: p99}}
}

func TestTargets(t *testing.T) {
	r := &results{Meta: meta{Servers: []string{"net", "uringnet", "callback", "gnet", "netpoll"}, Baseline: "net", Sizes: []int{64}, Conns: []int{64}}}
	r.Runs = []runRecord{
		fakeRuns("net", 100, 10, 1000),
		fakeRuns("uringnet", 100, 9, 1100), // throughput equal: passes; p99 1.10x: falls short
		fakeRuns("callback", 130, 7, 800),  // CPU exactly 0.70x: passes
		fakeRuns("gnet", 110, 7, 900),      // callback not below gnet: falls short
		fakeRuns("netpoll", 90, 12, 1200),
	}
	want := map[string]bool{
		"callback server CPU µs/msg ≤ 0.70x net":     true,
		"callback server CPU µs/msg < 1.00x gnet":    false,
		"callback server CPU µs/msg < 1.00x netpoll": true,
		"uringnet msgs/s ≥ 1.00x net":                true,
		"uringnet server CPU µs/msg ≤ 1.00x net":     true,
		"uringnet p99 µs ≤ 1.00x net":                false,
	}
	checks := r.targets()
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d (callback-rings did not run): %+v", len(checks), len(want), checks)
	}
	for _, c := range checks {
		pass, ok := want[c.Target]
		if !ok || c.Pass != pass || c.Workload != "64 B × 64 conns" {
			t.Errorf("check %+v; want pass=%v (known: %v)", c, pass, ok)
		}
	}
	lines := strings.Join(r.targetLines(), "\n")
	for _, want := range []string{
		"PASS: callback server CPU µs/msg ≤ 0.70x net — 64 B × 64 conns 0.70x PASS",
		"FALL SHORT in 1 of 1: uringnet p99 µs ≤ 1.00x net — 64 B × 64 conns 1.10x FALL SHORT",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("target lines lack %q:\n%s", want, lines)
		}
	}
	// Without its peers a target is left out, not failed.
	r.Meta.Servers = []string{"net", "callback"}
	if got := r.targetLines(); len(got) != 1 || !strings.HasPrefix(got[0], "PASS: callback server CPU") {
		t.Errorf("net and callback only: %v", got)
	}
}

// TestFailedRun: a run that failed leaves n/a in its server's row and a
// line under the table, and the rest of the table stands.
func TestFailedRun(t *testing.T) {
	r := &results{Meta: meta{Workloads: []string{"echo"}, Servers: []string{"net", "uringnet"}, Baseline: "net", Sizes: []int{64}, Conns: []int{64}, CPUs: 2}}
	r.Runs = []runRecord{
		fakeRuns("net", 100, 10, 1000),
		{Round: 1, Server: "uringnet", Size: 64, Conns: 64, Error: "client: i/o timeout"},
	}
	var text bytes.Buffer
	if err := r.writeText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"uringnet  n/a", "Failed: round 1, 64 B × 64 conns, uringnet: client: i/o timeout", "net       100"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if checks := r.targets(); len(checks) != 0 {
		t.Errorf("targets from a failed run: %+v", checks)
	}
}
