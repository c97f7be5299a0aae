//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// config is the command's flags.
type config struct {
	self       string        // the binary to run as the server
	duration   time.Duration // per scenario and transport, split over the rounds
	rounds     int
	transports []string
	scenarios  []string
	clients    int           // chaos's clients; storm has a quarter as many normal clients
	maxSize    int64         // the largest body
	bound      time.Duration // no client operation may take longer
	storm      int           // storm's resetting connections at a time
	stormTotal int           // if not 0, storm ends after this many
	idle       int           // idle's connections
	nofile     int           // fdlimit's RLIMIT_NOFILE
	settle     time.Duration // how long resources may take to return after the load
	progress   time.Duration // between progress lines; 0 for none
	cpuprofile string        // a directory for the servers' CPU profiles
	seed       uint64
	out        io.Writer // progress lines
}

// scenario is a load run against a server until ctx is done.
type scenario struct {
	name string
	// nofile is the server's RLIMIT_NOFILE, 0 to leave it.
	nofile func(*config) int
	load   func(ctx context.Context, r *run)
}

var scenarios = []scenario{
	{name: "chaos", load: chaos},
	{name: "fdlimit", nofile: func(c *config) int { return c.nofile }, load: fdLimit},
	{name: "storm", load: storm},
	{name: "idle", load: idle},
}

// run is one scenario on one transport against one server process.
type run struct {
	cfg   *config
	srv   *server
	res   *result
	watch *watchdog
	round int
}

// runOne starts a server, warms it up, takes the baseline, runs the load
// for d while sampling, then checks that the server's resources return.
func runOne(cfg *config, sc scenario, transport string, round int, d time.Duration) *result {
	res := &result{scenario: sc.name, transport: transport}
	nofile := 0
	if sc.nofile != nil {
		nofile = sc.nofile(cfg)
	}
	prof := ""
	if cfg.cpuprofile != "" {
		prof = filepath.Join(cfg.cpuprofile, fmt.Sprintf("%s-%s-r%d.pprof", sc.name, transport, round))
	}
	srv, err := startServer(cfg.self, transport, nofile, prof)
	if err != nil {
		res.violate("starting the server: %v", err)
		return res
	}
	defer srv.stop()
	r := &run{cfg: cfg, srv: srv, res: res, round: round}
	if err := r.warm(); err != nil {
		res.violate("warming up: %v", err)
		return res
	}
	res.base = r.steady()

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r.watch = newWatchdog(res, cfg.bound)
	samplerDone := make(chan struct{})
	go r.sampler(ctx, d, samplerDone)
	loadStart := time.Now()
	sc.load(ctx, r)
	res.mu.Lock()
	res.elapsed = time.Since(loadStart)
	res.mu.Unlock()
	cancel()
	r.watch.stop()
	<-samplerDone

	if !srv.alive() {
		res.violate("%v", srv.deathError())
		return res
	}
	r.settleCheck()
	if !srv.alive() {
		res.violate("%v", srv.deathError())
	}
	for _, l := range srv.stderrLines() {
		res.violate("server stderr: %s", l)
	}
	return res
}

// warm makes the server set up what it keeps (uringnet's rings, the
// runtime's threads) with a few connections, which it then closes.
func (r *run) warm() error {
	for range 4 {
		tr := r.transport(1)
		c := &http.Client{Transport: tr, Timeout: r.cfg.bound}
		resp, err := c.Get("http://" + r.srv.addr + "/warm")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
	}
	return nil
}

// steady waits (up to 3s) for two samples 300ms apart that agree on
// descriptors and goroutines, and returns the last.
func (r *run) steady() sample {
	prev, _ := r.srv.sample()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		s, _ := r.srv.sample()
		if s.fds == prev.fds && s.goroutines == prev.goroutines && s.started == s.finished {
			return s
		}
		prev = s
	}
	return prev
}

// settleCheck waits for the server's descriptors and goroutines to fall
// back to the baseline and every handler started to have returned.
func (r *run) settleCheck() {
	base := r.res.base
	start := time.Now()
	var s sample
	for {
		var err error
		s, err = r.srv.sample()
		if err != nil {
			r.res.violate("sampling the server: %v", err)
			return
		}
		// Goroutines are read from the server's 200ms report: wait for
		// one made after this sample's descriptors were counted.
		if s.fds <= base.fds && s.goroutines <= base.goroutines && s.started == s.finished {
			break
		}
		if time.Since(start) > r.cfg.settle {
			r.res.violate("after the load, %s: descriptors %d (baseline %d), goroutines %d (baseline %d), handlers unfinished %d",
				r.cfg.settle, s.fds, base.fds, s.goroutines, base.goroutines, s.started-s.finished)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.res.mu.Lock()
	r.res.end, r.res.settle = s, time.Since(start)
	r.res.mu.Unlock()
}

// sampler records the server's resources every second and prints
// progress lines until ctx is done.
func (r *run) sampler(ctx context.Context, d time.Duration, done chan<- struct{}) {
	defer close(done)
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastProgress := start
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s, err := r.srv.sample()
		if err != nil {
			if r.srv.alive() {
				r.res.violate("sampling the server: %v", err)
			}
			return
		}
		r.res.mu.Lock()
		r.res.samples = append(r.res.samples, s)
		nviol := r.res.nviol
		r.res.mu.Unlock()
		if p := r.cfg.progress; p > 0 && time.Since(lastProgress) >= p {
			lastProgress = time.Now()
			fmt.Fprintf(r.cfg.out, "  %-8s %-8s r%d %4.0fs/%.0fs  exchanges %d  aborted %d  violations %d  fds %d  goroutines %d  threads %d  rss %.1f MiB\n",
				r.res.scenario, r.res.transport, r.round, time.Since(start).Seconds(), d.Seconds(),
				r.res.exchanges.Load(), r.res.aborted.Load(), nviol, s.fds, s.goroutines, s.threads, float64(s.rss)/(1<<20))
		}
	}
}

// transport returns a client transport to the server that keeps up to
// idle connections; the clients are package net's on both transports.
func (r *run) transport(idle int) *http.Transport {
	d := &net.Dialer{Timeout: r.cfg.bound}
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		DisableCompression:  true,
	}
}

// url is the server's URL for path (with its query).
func (r *run) url(path string) string { return "http://" + r.srv.addr + path }

// clients runs n goroutines calling fn(ctx, id) until ctx is done.
func clients(ctx context.Context, n int, fn func(ctx context.Context, id int)) {
	var wg sync.WaitGroup
	for id := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				fn(ctx, id)
			}
		})
	}
	wg.Wait()
}

// watchdog watches client operations in progress and reports each one
// that takes longer than bound, with what it was doing, while it waits.
type watchdog struct {
	res   *result
	bound time.Duration
	// ops holds the operations in progress; mu guards it.
	mu   sync.Mutex
	ops  map[*op]struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// op is one client operation. progress is an atomic word; reported is set
// once, by whoever first sees the operation past the bound.
type op struct {
	w        *watchdog
	what     string
	start    time.Time
	progress atomic.Int64
	reported atomic.Bool
}

func newWatchdog(res *result, bound time.Duration) *watchdog {
	w := &watchdog{res: res, bound: bound, ops: make(map[*op]struct{}), done: make(chan struct{})}
	w.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			w.mu.Lock()
			for o := range w.ops {
				o.check(" (still waiting)")
			}
			w.mu.Unlock()
		}
	})
	return w
}

func (w *watchdog) stop() {
	close(w.done)
	w.wg.Wait()
}

// begin starts watching an operation described by what.
func (w *watchdog) begin(what string) *op {
	o := &op{w: w, what: what, start: time.Now()}
	w.mu.Lock()
	w.ops[o] = struct{}{}
	w.mu.Unlock()
	return o
}

// end stops watching o and returns how long it took.
func (o *op) end() time.Duration {
	o.w.mu.Lock()
	delete(o.w.ops, o)
	o.w.mu.Unlock()
	o.check("")
	d := time.Since(o.start)
	o.w.res.waited(d)
	return d
}

func (o *op) check(state string) {
	if d := time.Since(o.start); d > o.w.bound && o.reported.CompareAndSwap(false, true) {
		o.w.res.violate("a client waited %.1fs%s (bound %s) in %s, %d bytes in", d.Seconds(), state, o.w.bound, o.what, o.progress.Load())
	}
}

// opContext is the context every client operation runs under: past the
// bound, so the watchdog reports it first, but bounded, so it ends. It is
// not the load's: an operation under way when the load ends finishes.
func (r *run) opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*r.cfg.bound)
}
