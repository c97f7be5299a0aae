package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// The outputs below were captured from wrk 4.1.0 and h2load 1.52.0 (Debian)
// against bench/httpserver, and, for the failures, against a killed server
// and Python's http.server.

const wrkKeepAlive = `
Running 1s test @ http://127.0.0.1:41917/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.17ms    1.20ms  10.61ms   89.64%
    Req/Sec    58.67k     4.33k   63.41k    60.00%
  Latency Distribution
     50%  848.00us
     75%    1.31ms
     90%    2.42ms
     99%    6.00ms
  58368 requests in 1.00s, 6.40MB read
Requests/sec:  58229.07
Transfer/sec:      6.39MB
`

const wrkClose = `
Running 1s test @ http://127.0.0.1:43855/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.84ms    3.96ms  32.66ms   87.55%
    Req/Sec     8.94k     2.90k   15.11k    70.00%
  Latency Distribution
     50%    4.10ms
     75%    5.80ms
     90%    7.59ms
     99%   24.73ms
  9070 requests in 1.02s, 1.16MB read
Requests/sec:   8866.92
Transfer/sec:      1.13MB
`

// The server was killed during the run.
const wrkSocketErrors = `
Running 1s test @ http://127.0.0.1:40607/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.18ms    2.14ms  12.15ms   67.58%
    Req/Sec    11.17k     2.46k   14.68k    75.00%
  Latency Distribution
     50%    2.86ms
     75%    4.45ms
     90%    6.10ms
     99%    9.72ms
  4574 requests in 1.01s, 598.55KB read
  Socket errors: connect 0, read 66, write 12536, timeout 0
Requests/sec:   4506.74
Transfer/sec:    589.75KB
`

// Python's http.server answering 404.
const wrkNon2xx = `
Running 1s test @ http://127.0.0.1:18999/nothere
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.14ms    1.96ms  15.56ms   79.57%
    Req/Sec     1.30k   280.62     1.82k    60.00%
  Latency Distribution
     50%    2.43ms
     75%    4.17ms
     90%    5.71ms
     99%    9.06ms
  1292 requests in 1.00s, 656.46KB read
  Non-2xx or 3xx responses: 1292
Requests/sec:   1290.36
Transfer/sec:    655.62KB
`

const h2loadH2c = `
starting benchmark...
spawning thread #0: 64 total client(s). Timing-based test with 0s of warm-up time and 1s of main duration for measurements.
Warm-up started for thread #0.
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Application protocol: h2c
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.01s, 41897.00 req/s, 1.41MB/s
requests: 41897 total, 42537 started, 41897 done, 41897 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 42096 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.41MB (1476534) total, 168.00KB (172032) headers (space savings 94.95%), 531.90KB (544661) data
                     min         max         mean         sd        +/- sd
time for request:      129us     58.55ms     14.70ms      7.12ms    69.52%
time for connect:       85us      1.27ms       683us       353us    57.81%
time to 1st byte:     2.93ms     40.74ms     21.45ms      7.65ms    75.00%
req/s           :     600.23      698.57      654.09       26.39    62.50%
`

const h2loadH1 = `
starting benchmark...
spawning thread #0: 64 total client(s). Timing-based test with 0s of warm-up time and 0.25s of main duration for measurements.
Warm-up started for thread #0.
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Application protocol: http/1.1
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 253.75ms, 65312.00 req/s, 8.41MB/s
requests: 16328 total, 16392 started, 16328 done, 16328 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 16328 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 2.10MB (2204280) total, 1.36MB (1426104) headers (space savings 0.00%), 208.10KB (213096) data
                     min         max         mean         sd        +/- sd
time for request:       37us      9.36ms       975us       546us    84.59%
time for connect:       13us       506us       261us       146us    57.81%
time to 1st byte:     3.01ms      4.65ms      3.82ms       741us    51.56%
req/s           :     948.80     1099.74     1016.17       33.89    73.44%
`

// Python's http.server, which speaks no HTTP/2.
const h2loadFailed = `
starting benchmark...
spawning thread #0: 4 total client(s). 50 total requests
Application protocol: h2c

finished in 4.95ms, 0.00 req/s, 268.15KB/s
requests: 50 total, 4 started, 0 done, 0 succeeded, 50 failed, 50 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.33KB (1360) total, 0B (0) headers (space savings 0.00%), 0B (0) data
                     min         max         mean         sd        +/- sd
time for request:        0us         0us         0us         0us     0.00%
time for connect:      218us       922us       478us       307us    75.00%
time to 1st byte:        0us         0us         0us         0us     0.00%
req/s           :       0.00        0.00        0.00        0.00   100.00%
`

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestParseWrk(t *testing.T) {
	for name, c := range map[string]struct {
		out  string
		want httpFigures
	}{
		"keep-alive": {wrkKeepAlive, httpFigures{Requests: 58368, Seconds: 1, ReqPerSec: 58229.07, P99us: 6000, MeanUs: 1170, MaxUs: 10610}},
		"close":      {wrkClose, httpFigures{Requests: 9070, Seconds: 1.02, ReqPerSec: 8866.92, P99us: 24730, MeanUs: 4840, MaxUs: 32660}},
	} {
		got, err := parseWrk(c.out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Requests != c.want.Requests || !near(got.Seconds, c.want.Seconds) || !near(got.ReqPerSec, c.want.ReqPerSec) ||
			!near(got.P99us, c.want.P99us) || !near(got.MeanUs, c.want.MeanUs) || !near(got.MaxUs, c.want.MaxUs) {
			t.Errorf("%s: got %+v, want %+v", name, got, c.want)
		}
	}
	for name, c := range map[string]struct{ out, want string }{
		"socket errors": {wrkSocketErrors, "Socket errors: connect 0, read 66, write 12536, timeout 0"},
		"non-2xx":       {wrkNon2xx, "Non-2xx or 3xx responses: 1292"},
		"no --latency":  {strings.ReplaceAll(wrkKeepAlive, "99%", "98%"), "lacks its summary"},
		"empty":         {"", "lacks its summary"},
	} {
		if _, err := parseWrk(c.out); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, c.want)
		}
	}
}

func TestParseH2load(t *testing.T) {
	got, err := parseH2load(h2loadH2c, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := (httpFigures{Requests: 41897, Seconds: 1.01, ReqPerSec: 41897, MeanUs: 14700, MaxUs: 58550}); got.Requests != want.Requests ||
		!near(got.Seconds, want.Seconds) || !near(got.ReqPerSec, want.ReqPerSec) || got.P99us != 0 || !near(got.MeanUs, want.MeanUs) || !near(got.MaxUs, want.MaxUs) {
		t.Errorf("h2c: got %+v, want %+v", got, want)
	}
	got, err = parseH2load(h2loadH1, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Requests != 16328 || !near(got.Seconds, 0.25375) || !near(got.MeanUs, 975) || !near(got.MaxUs, 9360) {
		t.Errorf("h1: got %+v", got)
	}
	for name, c := range map[string]struct {
		out  string
		h2c  bool
		want string
	}{
		"failed":     {h2loadFailed, true, "50 failed, 50 errored"},
		"not h2c":    {h2loadH1, true, `spoke "http/1.1"`},
		"4xx":        {strings.Replace(h2loadH1, "0 4xx", "3 4xx", 1), false, "3 4xx"},
		"timeout":    {strings.Replace(h2loadH1, "0 timeout", "2 timeout", 1), false, "2 timeout"},
		"no summary": {"starting benchmark...\n", false, "lacks its summary"},
	} {
		if _, err := parseH2load(c.out, c.h2c); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, c.want)
		}
	}
}

func TestParseToolDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"848.00us": 848 * time.Microsecond, "1.07ms": 1070 * time.Microsecond, "2.08s": 2080 * time.Millisecond,
		"1.50m": 90 * time.Second, "1.00h": time.Hour, "129us": 129 * time.Microsecond,
	} {
		if got, err := parseToolDuration(s); err != nil || got != want {
			t.Errorf("parseToolDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "ms", "1.0", "-1s", "1.0xs", "5.03MB"} {
		if _, err := parseToolDuration(s); err == nil {
			t.Errorf("parseToolDuration(%q) accepted", s)
		}
	}
	if got := wrkSeconds(300 * time.Millisecond); got != "1s" {
		t.Errorf("wrkSeconds(300ms) = %q, want 1s: wrk takes whole seconds", got)
	}
	if got := wrkSeconds(2600 * time.Millisecond); got != "3s" {
		t.Errorf("wrkSeconds(2.6s) = %q", got)
	}
}

// TestHTTPFamilyRun runs the family for real on one server pair, one round
// of the keep-alive and h2c workloads of one second each, and checks the
// section it returns and the charts it writes.
func TestHTTPFamilyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server processes under wrk and h2load")
	}
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	for _, tool := range []struct{ bin, pkg string }{{"wrk", "wrk"}, {"h2load", "nghttp2-client"}} {
		if err := ensureTool(context.Background(), tool.bin, tool.pkg, io.Discard); err != nil {
			t.Skipf("load generator unavailable: %v", err)
		}
	}
	plan := httpPlan{servers: httpServers[:2], workloads: []httpWorkload{httpWorkloads[0], httpWorkloads[2]}}
	var progress strings.Builder
	env := familyEnv{rounds: 1, warmup: 100 * time.Millisecond, duration: time.Second, tmp: t.TempDir(), outDir: t.TempDir(), progress: &progress}
	sec, err := plan.run(context.Background(), env)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if got := strings.Count(progress.String(), "req/s"); got != 4 {
		t.Errorf("%d progress lines, want 4:\n%s", got, progress.String())
	}
	t.Logf("%q\n%q\n%s", sec.Columns, sec.Rows, strings.Join(sec.Notes, "\n"))
	runs := sec.Raw.([]httpRun)
	if len(runs) != 4 {
		t.Fatalf("%d runs, want 4", len(runs))
	}
	for _, r := range runs {
		if r.Requests < 100 || r.ReqPerSec <= 0 || r.MeanUs <= 0 || r.MaxUs < r.MeanUs || r.ServerCPUus <= 0 {
			t.Errorf("implausible run: %+v", r)
		}
		if wrk := strings.Contains(r.Workload, "wrk"); wrk != (r.P99us > 0) {
			t.Errorf("%s: p99 %v: only wrk reports one", r.Workload, r.P99us)
		}
	}
	if len(sec.Rows) != 4 || len(sec.Rows[0]) != len(sec.Columns) {
		t.Fatalf("table %v rows %v", sec.Columns, sec.Rows)
	}
	if sec.Rows[0][1] != "nethttp/net" || sec.Rows[0][3] != "1.00x" || sec.Rows[1][1] != "nethttp/uringnet" {
		t.Errorf("first rows %v, %v", sec.Rows[0], sec.Rows[1])
	}
	if sec.Rows[2][4] != "-" {
		t.Errorf("h2c row has a p99: %v", sec.Rows[2])
	}
	if notes := strings.Join(sec.Notes, "\n"); !strings.Contains(notes, "Target, nethttp/uringnet against nethttp/net") {
		t.Errorf("notes lack the target verdict:\n%s", notes)
	}
	if _, err := json.Marshal(sec); err != nil {
		t.Errorf("section does not marshal: %v", err)
	}
	for _, c := range sec.Charts {
		b, err := os.ReadFile(filepath.Join(env.outDir, c))
		if err != nil || !strings.Contains(string(b), "<svg") {
			t.Errorf("chart %s: %v", c, err)
		}
	}
	if len(sec.Charts) != 2 {
		t.Errorf("charts %v, want 2", sec.Charts)
	}
}

func TestEnsureToolMissing(t *testing.T) {
	if err := ensureTool(context.Background(), "sh", "dash", io.Discard); err != nil {
		t.Errorf("sh: %v", err)
	}
	// As root this asks apt-get for a package that does not exist; either
	// way the error names the tool.
	err := ensureTool(context.Background(), "ourio-no-such-tool", "ourio-no-such-package", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ourio-no-such-tool") {
		t.Errorf("err = %v, want one naming the missing tool", err)
	}
}
