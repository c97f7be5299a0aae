//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary is also the server: runs re-execute it as "serve".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(serveMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// lineWriter passes each line written to t.Log.
type lineWriter struct {
	t   *testing.T
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Log(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// TestSoak is the command's short version: every scenario for a couple
// of seconds on each transport, failing on any invariant violation and on
// a scenario that did not do what it exists for.
func TestSoak(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := &lineWriter{t: t}
	cfg := &config{
		self:       self,
		duration:   2 * time.Second,
		rounds:     1,
		transports: []string{"uringnet", "net"},
		clients:    8,
		maxSize:    1 << 20,
		bound:      10 * time.Second,
		storm:      32,
		idle:       200,
		nofile:     64,
		settle:     5 * time.Second,
		out:        out,
	}
	for _, s := range scenarios {
		cfg.scenarios = append(cfg.scenarios, s.name)
	}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	sums := soak(cfg)
	printTable(out, sums)
	if len(sums) != len(scenarios)*len(cfg.transports) {
		t.Fatalf("%d summaries, want %d", len(sums), len(scenarios)*len(cfg.transports))
	}
	for _, s := range sums {
		for _, v := range s.violations {
			t.Errorf("%s on %s: %s", s.scenario, s.transport, v)
		}
		if s.nviol > len(s.violations) {
			t.Errorf("%s on %s: %d more violations", s.scenario, s.transport, s.nviol-len(s.violations))
		}
		if s.exchanges == 0 {
			t.Errorf("%s on %s: no exchange completed", s.scenario, s.transport)
		}
		switch s.scenario {
		case "chaos":
			for _, op := range chaosOps {
				if s.ops[op] == 0 {
					t.Errorf("chaos on %s: no %s exchange", s.transport, op)
				}
			}
		case "storm":
			if s.aborted == 0 {
				t.Errorf("storm on %s: no connection reset", s.transport)
			}
		case "fdlimit":
			if s.acceptErrors == 0 {
				t.Errorf("fdlimit on %s: the server never ran out of descriptors", s.transport)
			}
		case "idle":
			if s.peak.fds < s.base.fds+cfg.idle {
				t.Errorf("idle on %s: the server peaked at %d descriptors, baseline %d: the %d idle connections were not all open",
					s.transport, s.peak.fds, s.base.fds, cfg.idle)
			}
		}
	}
}

// TestCheckBody shows the content check failing on each way a body can
// be wrong.
func TestCheckBody(t *testing.T) {
	const seed, size = 7, 100000
	good := make([]byte, size)
	fill(seed, 0, good)
	if n, err := checkBody(bytes.NewReader(good), seed, size, nil); err != nil || n != size {
		t.Fatalf("the right body: %d, %v", n, err)
	}
	var fromReader bytes.Buffer
	io.Copy(&fromReader, &contentReader{seed: seed, size: size})
	if !bytes.Equal(fromReader.Bytes(), good) {
		t.Fatal("contentReader and fill disagree")
	}
	flipped := bytes.Clone(good)
	flipped[77777] ^= 1
	for _, c := range []struct {
		name    string
		body    []byte
		content bool // a *contentError, not a read error
		want    string
	}{
		{"flipped", flipped, true, "offset 77777"},
		{"long", append(bytes.Clone(good), 0), true, "past"},
		{"short", good[:size-1], false, "ended at 99999"},
		{"other seed", func() []byte { b := make([]byte, size); fill(seed+1, 0, b); return b }(), true, "offset 0"},
	} {
		_, err := checkBody(bytes.NewReader(c.body), seed, size, nil)
		var ce *contentError
		if err == nil || errors.As(err, &ce) != c.content || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q (content error: %v)", c.name, err, c.want, c.content)
		}
	}
}

// TestWatchdogReports shows an operation past the bound reported while
// it still waits, with what it was doing.
func TestWatchdogReports(t *testing.T) {
	res := &result{}
	w := newWatchdog(res, 50*time.Millisecond)
	o := w.begin("GET /slow")
	o.progress.Store(42)
	deadline := time.Now().Add(5 * time.Second)
	for res.nviolations() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	o.end()
	quick := w.begin("GET /quick")
	quick.end()
	w.stop()
	if res.nviol != 1 || !strings.Contains(res.violations[0], "still waiting") ||
		!strings.Contains(res.violations[0], "GET /slow, 42 bytes in") {
		t.Fatalf("violations %d: %q", res.nviol, res.violations)
	}
}

// TestRunDetects shows a run failing when the server dies under load and
// when a connection outlives the load, so its resources never return.
func TestRunDetects(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config{self: self, bound: 10 * time.Second, settle: time.Second, out: io.Discard, seed: 1}
	var leaked net.Conn
	defer func() {
		if leaked != nil {
			leaked.Close()
		}
	}()
	for _, c := range []struct {
		name string
		load func(context.Context, *run)
		want string
	}{
		{"death", func(ctx context.Context, r *run) {
			r.srv.cmd.Process.Kill()
			<-r.srv.exited
		}, "server exited"},
		{"leak", func(ctx context.Context, r *run) {
			c, err := net.Dial("tcp", r.srv.addr)
			if err != nil {
				t.Error(err)
				return
			}
			leaked = c
			<-ctx.Done()
		}, "descriptors"},
	} {
		res := runOne(cfg, scenario{name: c.name, load: c.load}, "uringnet", 1, 500*time.Millisecond)
		t.Logf("%s: %q", c.name, res.violations)
		if res.nviol == 0 || !strings.Contains(strings.Join(res.violations, "\n"), c.want) {
			t.Errorf("%s: violations %q, want one saying %q", c.name, res.violations, c.want)
		}
	}
}
