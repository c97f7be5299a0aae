package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The http family: bench/httpserver's hello world under wrk (HTTP/1.1 with
// keep-alive and with Connection: close) and h2load (h2c), on net/http and
// fasthttp over package net and uringnet listeners.

func init() {
	register(family{name: "http", run: func(ctx context.Context, env familyEnv) (*section, error) {
		return httpPlan{servers: httpServers, workloads: httpWorkloads}.run(ctx, env)
	}})
}

// httpPlan is which servers and workloads a run of the family covers; the
// first server is the baseline and the second the one the target is about.
type httpPlan struct {
	servers   []httpServer
	workloads []httpWorkload
}

// httpServer is one bench/httpserver configuration.
type httpServer struct{ server, listener string }

func (s httpServer) String() string { return s.server + "/" + s.listener }

// httpServers are run in this order each round; the first is the baseline.
var httpServers = []httpServer{
	{"nethttp", "net"}, {"nethttp", "uringnet"}, {"fasthttp", "net"}, {"fasthttp", "uringnet"},
}

// httpConns is the number of client connections every workload keeps open.
const httpConns = 64

// httpWorkload is one way of driving the servers.
type httpWorkload struct {
	name  string // as the table and the chart name it
	h2c   bool   // HTTP/2 over cleartext, which fasthttp does not speak
	tool  string // wrk or h2load
	extra []string
}

var httpWorkloads = []httpWorkload{
	{name: "keep-alive (wrk)", tool: "wrk"},
	{name: "Connection: close (wrk)", tool: "wrk", extra: []string{"-H", "Connection: close"}},
	{name: "h2c (h2load -m10)", tool: "h2load", h2c: true, extra: []string{"-m10"}},
}

// command returns the tool's command line for a run of d against url.
func (w httpWorkload) command(url string, d time.Duration) []string {
	switch w.tool {
	case "wrk":
		return append([]string{"wrk", "-t1", "-c" + strconv.Itoa(httpConns), "-d" + wrkSeconds(d), "--latency"}, append(w.extra, url)...)
	default:
		return append([]string{"h2load", "-t1", "-c" + strconv.Itoa(httpConns), "-D", durationMS(d)}, append(w.extra, url)...)
	}
}

// warmupCommand warms a server up for d with the workload's protocol.
// wrk counts its duration in whole seconds, so HTTP/1.1 warm-ups run
// h2load --h1 instead, which takes milliseconds.
func (w httpWorkload) warmupCommand(url string, d time.Duration) []string {
	args := []string{"h2load", "-t1", "-c" + strconv.Itoa(httpConns), "-D", durationMS(d)}
	if w.h2c {
		args = append(args, "-m10")
	} else {
		args = append(args, "--h1")
	}
	return append(args, url)
}

// wrkSeconds is d as wrk's -d, which takes whole seconds only.
func wrkSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

func durationMS(d time.Duration) string {
	return strconv.FormatInt(max(1, d.Milliseconds()), 10) + "ms"
}

// httpRun is one server's figures for one workload in one round.
type httpRun struct {
	Round       int     `json:"round"`
	Workload    string  `json:"workload"`
	Server      string  `json:"server"`
	httpFigures         // what the tool reported
	ServerCPUus float64 `json:"server_cpu_us_per_req"`
}

// httpFigures is what one wrk or h2load run reported. wrk gives a latency
// distribution, of which P99us is kept; h2load gives none, so its P99us
// is zero and only the mean and maximum time per request are known.
type httpFigures struct {
	Requests  uint64  `json:"requests"`
	Seconds   float64 `json:"seconds"`
	ReqPerSec float64 `json:"req_per_s"`
	P99us     float64 `json:"p99_us,omitempty"`
	MeanUs    float64 `json:"mean_us"`
	MaxUs     float64 `json:"max_us"`
}

// run measures every workload on every server for env.rounds rounds, a
// fresh server process per run.
func (p httpPlan) run(ctx context.Context, env familyEnv) (*section, error) {
	for _, t := range []struct{ bin, pkg string }{{"wrk", "wrk"}, {"h2load", "nghttp2-client"}} {
		if err := ensureTool(ctx, t.bin, t.pkg, env.progress); err != nil {
			return nil, err
		}
	}
	bin, err := familyCommand(ctx, env, "http", "httpserver")
	if err != nil {
		return nil, err
	}

	measure := time.Duration(max(1, int(env.duration.Round(time.Second)/time.Second))) * time.Second
	var runs []httpRun
	total := 0
	for _, w := range p.workloads {
		for _, s := range p.servers {
			if !w.h2c || s.server == "nethttp" {
				total += env.rounds
			}
		}
	}
	n := 0
	for round := 1; round <= env.rounds; round++ {
		for _, w := range p.workloads {
			for _, s := range p.servers {
				if w.h2c && s.server != "nethttp" {
					continue
				}
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				n++
				f, cpu, err := runHTTPOnce(ctx, bin, s, w, env.warmup, measure)
				if err != nil {
					return nil, fmt.Errorf("http round %d, %s, %s: %w", round, w.name, s, err)
				}
				r := httpRun{Round: round, Workload: w.name, Server: s.String(), httpFigures: f, ServerCPUus: usPer(cpu, f.Requests)}
				runs = append(runs, r)
				fmt.Fprintf(env.progress, "[%*d/%d] http round %d/%d  %-24s %-17s %8s req/s  p99 %6s µs  mean %6s µs  server %5s µs/req\n",
					len(strconv.Itoa(total)), n, total, round, env.rounds, w.name, s, rate(f.ReqPerSec), latencyCell(f.P99us), num(f.MeanUs), num(r.ServerCPUus))
			}
		}
	}
	sec := p.section(runs, env, measure)
	if env.outDir != "" {
		charts, err := p.charts(runs, env.outDir)
		if err != nil {
			return nil, err
		}
		sec.Charts = charts
	}
	return sec, nil
}

// runHTTPOnce starts a fresh server, warms it up, and measures one run of
// the workload's tool, with the server's CPU time over that run.
func runHTTPOnce(ctx context.Context, bin string, s httpServer, w httpWorkload, warmup, measure time.Duration) (httpFigures, time.Duration, error) {
	srv, err := startHTTPServer(bin, s)
	if err != nil {
		return httpFigures{}, 0, err
	}
	defer srv.stop()
	url := "http://" + srv.addr + "/"
	fail := func(err error) (httpFigures, time.Duration, error) {
		err = srv.explain(err)
		return httpFigures{}, 0, err
	}
	if warmup > 0 {
		out, err := runTool(ctx, w.warmupCommand(url, warmup), warmup)
		if err == nil {
			_, err = parseH2load(out, w.h2c)
		}
		if err != nil {
			return fail(fmt.Errorf("warm-up: %w", err))
		}
	}
	cpu0, err := serverCPU(srv.pid())
	if err != nil {
		return fail(err)
	}
	out, err := runTool(ctx, w.command(url, measure), measure)
	if err != nil {
		return fail(err)
	}
	cpu1, err := serverCPU(srv.pid())
	if err != nil {
		return fail(err)
	}
	var f httpFigures
	if w.tool == "wrk" {
		f, err = parseWrk(out)
	} else {
		f, err = parseH2load(out, w.h2c)
	}
	if err != nil {
		return fail(err)
	}
	return f, cpu1 - cpu0, nil
}

// runTool runs a load generator and returns its standard output; it is
// killed if it overruns its duration by half a minute.
func runTool(ctx context.Context, args []string, d time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %v\n%s%s", strings.Join(args, " "), err, out, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// ensureTool makes sure bin is on PATH, installing Debian's pkg when it is
// missing and this process is root.
func ensureTool(ctx context.Context, bin, pkg string, progress io.Writer) error {
	if _, err := exec.LookPath(bin); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s not found: install it (apt-get install %s) or run as root to have it installed", bin, pkg)
	}
	fmt.Fprintf(progress, "installing %s (apt-get install -y %s)\n", bin, pkg)
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-qq", pkg)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s not found and apt-get install %s failed: %v\n%s", bin, pkg, err, out)
	}
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("apt-get install %s did not provide %s", pkg, bin)
	}
	return nil
}

// startHTTPServer runs bench/httpserver on a free loopback port and waits
// until it says where it listens.
func startHTTPServer(bin string, s httpServer) (*serverProc, error) {
	return startProc("httpserver "+s.String(), []string{bin, "-listener", s.listener, "-server", s.server, "-addr", "127.0.0.1:0"})
}

// serverCPU is the time every thread of process pid has spent on a CPU,
// from readProcUsage: schedstat's nanoseconds, where /proc/PID/stat's 10 ms
// ticks would make a one-second run's few hundred milliseconds coarse.
func serverCPU(pid int) (time.Duration, error) {
	u, err := readProcUsage(pid)
	return u.cpu, err
}

// latencyCell formats a p99, which h2load's rows do not have.
func latencyCell(us float64) string {
	if us == 0 {
		return "-"
	}
	return num(us)
}

// ratioCell formats v as a ratio to base.
func ratioCell(v, base float64) string {
	if base == 0 || v == 0 || math.IsNaN(v) || math.IsNaN(base) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/base)
}

// parseWrk reads the figures of a wrk --latency run and fails on any
// socket error or non-2xx/3xx response, which wrk itself only reports.
func parseWrk(out string) (httpFigures, error) {
	var f httpFigures
	var haveReqs, haveRate, haveLat, haveP99 bool
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 4 && fields[1] == "requests" && fields[2] == "in":
			n, err1 := strconv.ParseUint(fields[0], 10, 64)
			d, err2 := parseToolDuration(strings.TrimSuffix(fields[3], ","))
			if err := errors.Join(err1, err2); err != nil {
				return f, fmt.Errorf("wrk: %q: %w", strings.TrimSpace(line), err)
			}
			f.Requests, f.Seconds, haveReqs = n, d.Seconds(), true
		case len(fields) == 2 && fields[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return f, fmt.Errorf("wrk: %q: %w", strings.TrimSpace(line), err)
			}
			f.ReqPerSec, haveRate = v, true
		case len(fields) == 5 && fields[0] == "Latency":
			mean, err1 := parseToolDuration(fields[1])
			maxd, err2 := parseToolDuration(fields[3])
			if err := errors.Join(err1, err2); err != nil {
				return f, fmt.Errorf("wrk: %q: %w", strings.TrimSpace(line), err)
			}
			f.MeanUs, f.MaxUs, haveLat = us(mean), us(maxd), true
		case len(fields) == 2 && fields[0] == "99%":
			d, err := parseToolDuration(fields[1])
			if err != nil {
				return f, fmt.Errorf("wrk: %q: %w", strings.TrimSpace(line), err)
			}
			f.P99us, haveP99 = us(d), true
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"),
			strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			return f, fmt.Errorf("wrk reported %s", strings.TrimSpace(line))
		}
	}
	if !haveReqs || !haveRate || !haveLat || !haveP99 {
		return f, fmt.Errorf("wrk output lacks its summary (was --latency given?):\n%s", out)
	}
	if f.Requests == 0 {
		return f, errors.New("wrk completed no request")
	}
	return f, nil
}

// parseH2load reads the figures of an h2load run and fails unless every
// request succeeded with a 2xx status, and, for h2c, unless h2c was spoken.
// h2load reports no latency percentiles: the mean and maximum of its
// "time for request" line are what it gives.
func parseH2load(out string, h2c bool) (httpFigures, error) {
	var f httpFigures
	var haveFinished, haveReqs, haveStatus, haveTime bool
	proto := ""
	for line := range strings.Lines(out) {
		t := strings.TrimSpace(line)
		fields := strings.Fields(t)
		switch {
		case strings.HasPrefix(t, "Application protocol:"):
			proto = strings.TrimSpace(strings.TrimPrefix(t, "Application protocol:"))
		case strings.HasPrefix(t, "finished in ") && len(fields) >= 5:
			d, err1 := parseToolDuration(strings.TrimSuffix(fields[2], ","))
			v, err2 := strconv.ParseFloat(fields[3], 64)
			if err := errors.Join(err1, err2); err != nil || fields[4] != "req/s," {
				return f, fmt.Errorf("h2load: %q: %v", t, err)
			}
			f.Seconds, f.ReqPerSec, haveFinished = d.Seconds(), v, true
		case strings.HasPrefix(t, "requests:"):
			counts, err := h2loadCounts(strings.TrimPrefix(t, "requests:"))
			if err != nil {
				return f, fmt.Errorf("h2load: %q: %w", t, err)
			}
			for _, k := range []string{"failed", "errored", "timeout"} {
				if counts[k] != 0 {
					return f, fmt.Errorf("h2load reported %s", t)
				}
			}
			f.Requests, haveReqs = counts["succeeded"], true
		case strings.HasPrefix(t, "status codes:"):
			counts, err := h2loadCounts(strings.TrimPrefix(t, "status codes:"))
			if err != nil {
				return f, fmt.Errorf("h2load: %q: %w", t, err)
			}
			if counts["3xx"] != 0 || counts["4xx"] != 0 || counts["5xx"] != 0 {
				return f, fmt.Errorf("h2load reported %s", t)
			}
			haveStatus = true
		case strings.HasPrefix(t, "time for request:") && len(fields) >= 6:
			// min max mean sd +/-sd
			maxd, err1 := parseToolDuration(fields[4])
			mean, err2 := parseToolDuration(fields[5])
			if err := errors.Join(err1, err2); err != nil {
				return f, fmt.Errorf("h2load: %q: %w", t, err)
			}
			f.MeanUs, f.MaxUs, haveTime = us(mean), us(maxd), true
		}
	}
	if !haveFinished || !haveReqs || !haveStatus || !haveTime {
		return f, fmt.Errorf("h2load output lacks its summary:\n%s", out)
	}
	if h2c && proto != "h2c" {
		return f, fmt.Errorf("h2load spoke %q, not h2c", proto)
	}
	if f.Requests == 0 {
		return f, errors.New("h2load completed no request")
	}
	return f, nil
}

// h2loadCounts reads a list such as "10 total, 0 failed" into a map.
func h2loadCounts(s string) (map[string]uint64, error) {
	m := map[string]uint64{}
	for item := range strings.SplitSeq(s, ",") {
		f := strings.Fields(item)
		if len(f) != 2 {
			return nil, fmt.Errorf("malformed count %q", item)
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, err
		}
		m[f[1]] = n
	}
	return m, nil
}

// parseToolDuration reads a duration as wrk and h2load print them:
// 818.00us, 1.07ms, 2.08s, and for long ones 1.50m or 1.00h.
func parseToolDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return 0, fmt.Errorf("malformed duration %q", s)
			}
			return time.Duration(math.Round(f * float64(u.unit))), nil
		}
	}
	return 0, fmt.Errorf("malformed duration %q", s)
}

// httpFigure is one column of the http table, taken from each run.
type httpFigure struct {
	name   string
	value  func(httpRun) float64
	format func(float64) string
	ratio  bool
}

var httpTableFigures = []httpFigure{
	{"req/s", func(r httpRun) float64 { return r.ReqPerSec }, rate, true},
	{"p99 µs", func(r httpRun) float64 { return r.P99us }, latencyCell, true},
	{"mean µs", func(r httpRun) float64 { return r.MeanUs }, num, false},
	{"max µs", func(r httpRun) float64 { return r.MaxUs }, num, false},
	{"server CPU µs/req", func(r httpRun) float64 { return r.ServerCPUus }, num, true},
}

// httpSpreads gathers, per workload and server, each figure's spread over
// the rounds.
func (p httpPlan) spreads(runs []httpRun) map[[2]string][]spread {
	m := map[[2]string][]spread{}
	for _, w := range p.workloads {
		for _, s := range p.servers {
			key := [2]string{w.name, s.String()}
			for _, f := range httpTableFigures {
				var v []float64
				for _, r := range runs {
					if r.Workload == w.name && r.Server == s.String() {
						v = append(v, f.value(r))
					}
				}
				if len(v) > 0 {
					m[key] = append(m[key], spreadOf(v))
				}
			}
		}
	}
	return m
}

// httpSection builds the http family's table and notes.
func (p httpPlan) section(runs []httpRun, env familyEnv, measure time.Duration) *section {
	base := p.servers[0].String()
	sec := &section{
		Name:    "http",
		Title:   "net/http hello world under wrk and h2load",
		Columns: []string{"workload", "server"},
		Raw:     runs,
	}
	for _, f := range httpTableFigures {
		sec.Columns = append(sec.Columns, f.name)
		if f.ratio {
			sec.Columns = append(sec.Columns, "×"+base)
		}
	}
	spreads := p.spreads(runs)
	for _, w := range p.workloads {
		b, ok := spreads[[2]string{w.name, base}]
		if !ok {
			continue
		}
		for _, s := range p.servers {
			sp, ok := spreads[[2]string{w.name, s.String()}]
			if !ok {
				continue
			}
			row := []string{w.name, s.String()}
			for i, f := range httpTableFigures {
				row = append(row, sp[i].format(f.format))
				if f.ratio {
					row = append(row, ratioCell(sp[i].med, b[i].med))
				}
			}
			sec.Rows = append(sec.Rows, row)
		}
	}
	sec.Notes = []string{
		fmt.Sprintf("bench/httpserver's hello world (a 13-byte text/plain body) on loopback, net/http or fasthttp on a package net or uringnet listener, each a fresh process per run. %d round(s) per server and workload, servers alternating %s each round; every run warms the server up for %gs with h2load (--h1 for the HTTP/1.1 workloads) and then measures one %gs run. Each cell is the median over rounds (min..max); ×%s is the ratio of medians to %s.",
			env.rounds, p.serverNames(), env.warmup.Seconds(), measure.Seconds(), base, base),
		fmt.Sprintf("keep-alive: wrk -t1 -c%d --latency. Connection: close: the same with -H \"Connection: close\", so every request opens a TCP connection. h2c: h2load -t1 -c%d -m10 over HTTP/2 with prior knowledge; fasthttp speaks no HTTP/2, so it has no h2c rows. p99 is wrk's latency distribution; h2load reports no percentiles, so its rows have mean and max of h2load's \"time for request\" and no p99. Every run must have had no socket error and only 2xx (wrk: no non-2xx/3xx) responses, or the benchmark fails.", httpConns, httpConns),
		"Server CPU is the on-CPU time of the server's threads, the first field of /proc/PID/task/*/schedstat (ns), over the measured tool run (its connection set-up included), per request completed.",
	}
	if v := p.verdict(spreads); v != "" {
		sec.Notes = append(sec.Notes, v)
	}
	return sec
}

func (p httpPlan) serverNames() string {
	var names []string
	for _, s := range p.servers {
		names = append(names, s.String())
	}
	return strings.Join(names, " ")
}

// httpVerdict says, per workload, whether net/http on uringnet meets the
// project's target against net/http on package net: at least 1.0x the
// requests per second, at most 1.0x the CPU per request, p99 (h2c: mean
// latency, h2load having no p99) no worse.
func (p httpPlan) verdict(spreads map[[2]string][]spread) string {
	if len(p.servers) < 2 {
		return ""
	}
	base, cand := p.servers[0].String(), p.servers[1].String()
	var parts []string
	for _, w := range p.workloads {
		b, ok1 := spreads[[2]string{w.name, base}]
		c, ok2 := spreads[[2]string{w.name, cand}]
		if !ok1 || !ok2 {
			continue
		}
		lat, latName := 1, "p99"
		if w.tool == "h2load" {
			lat, latName = 2, "mean latency"
		}
		rps, cpu, l := c[0].med/b[0].med, c[4].med/b[4].med, c[lat].med/b[lat].med
		met := "met"
		if rps < 1 || cpu > 1 || l > 1 {
			met = "not met"
		}
		parts = append(parts, fmt.Sprintf("%s %s (%.2fx req/s, %.2fx CPU/req, %.2fx %s)", w.name, met, rps, cpu, l, latName))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("Target, %s against %s (≥1.00x req/s, ≤1.00x CPU per request, latency no worse): %s.", cand, base, strings.Join(parts, "; "))
}

// httpCharts writes two ratio charts into dir, one bar per server in each
// workload's cluster: requests per second and server CPU per request, each
// divided by the baseline's.
func (p httpPlan) charts(runs []httpRun, dir string) ([]string, error) {
	base := p.servers[0].String()
	spreads := p.spreads(runs)
	var groups []string
	for _, w := range p.workloads {
		groups = append(groups, w.name)
	}
	charts := []struct {
		file, title, yLabel string
		figure              int
	}{
		{"http-reqs.svg", "net/http hello world: requests per second", "req/s ÷ " + base, 0},
		{"http-cpu.svg", "net/http hello world: server CPU per request", "CPU/req ÷ " + base, 4},
	}
	var names []string
	for _, c := range charts {
		var series []barSeries
		for _, s := range p.servers {
			bs := barSeries{Name: s.String()}
			for _, w := range p.workloads {
				v := math.NaN() // no bar: fasthttp has no h2c
				sp, ok1 := spreads[[2]string{w.name, s.String()}]
				b, ok2 := spreads[[2]string{w.name, base}]
				if ok1 && ok2 && b[c.figure].med != 0 {
					v = sp[c.figure].med / b[c.figure].med
				}
				bs.Values = append(bs.Values, v)
			}
			series = append(series, bs)
		}
		if err := groupedBars(filepath.Join(dir, c.file), c.title, c.yLabel, groups, series); err != nil {
			return nil, fmt.Errorf("%s: %w", c.file, err)
		}
		names = append(names, c.file)
	}
	return names, nil
}
