// Command bench runs Ourio's echo servers side by side and reports
// messages per second, p50 and p99 round-trip latency and server CPU per
// message for each, beside package net:
//
//	go run ./bench            # 5 rounds of 3 s per server and workload
//	go run ./bench -quick     # 2 rounds of 1 s, under a minute
//
// Each server (bench/echoserver with -impl net, uringnet, callback, or the
// event-loop peers gnet and netpoll) is
// built into a temporary directory and run as its own process, so its CPU
// time, read from /proc/PID/stat, is apart from the load generator's. The
// generator is in this process: package net clients, one goroutine per
// connection, each sending a message and waiting for its whole echo before
// the next, recording every round trip into a fixed histogram. For every
// workload (message size × connections) the servers run in turn, A B C A B
// C over the rounds, so drift in the machine spreads over all of them.
//
// The table goes to stdout and, with the raw per-round figures, to
// docs/benchmarks/results.md and results.json (-out changes the directory,
// -out "" writes nothing). Progress goes to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// config is what one invocation measures.
type config struct {
	servers  []string
	sizes    []int
	conns    []int
	rounds   int
	warmup   time.Duration
	duration time.Duration
	bufSize  int // the servers' read buffer

	buildFlags []string // extra go build flags for the server
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	quick := flag.Bool("quick", false, "2 rounds of 1 s after 250 ms warm-up (rounds, duration and warmup set explicitly still apply)")
	servers := flag.String("servers", "net,uringnet,callback,gnet,netpoll", "servers to compare, in order; the first is the baseline unless net is listed")
	sizes := flag.String("sizes", "64,4096", "message sizes in bytes")
	conns := flag.String("conns", "1,64", "connection counts")
	rounds := flag.Int("rounds", 5, "rounds; each runs every server once per workload")
	duration := flag.Duration("duration", 3*time.Second, "measured time per run")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "unmeasured time per run before measuring")
	bufSize := flag.Int("buf", 4096, "server read buffer in bytes")
	out := flag.String("out", "", `directory for results.json and results.md (default docs/benchmarks in the module; "" after -out= writes nothing)`)
	flag.Parse()

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["rounds"] {
			*rounds = 2
		}
		if !set["duration"] {
			*duration = time.Second
		}
		if !set["warmup"] {
			*warmup = 250 * time.Millisecond
		}
	}
	cfg := config{servers: splitList(*servers), rounds: *rounds, warmup: *warmup, duration: *duration, bufSize: *bufSize}
	var err error
	if cfg.sizes, err = intList(*sizes); err != nil {
		log.Fatalf("-sizes: %v", err)
	}
	if cfg.conns, err = intList(*conns); err != nil {
		log.Fatalf("-conns: %v", err)
	}
	if err := cfg.check(); err != nil {
		log.Fatal(err)
	}
	dir := *out
	if !set["out"] {
		dir = filepath.Join(moduleDir(), "docs", "benchmarks")
	}

	res, err := run(context.Background(), cfg, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	res.Meta.Command = strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " "))
	if err := res.writeText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	if dir != "" {
		if err := res.writeFiles(dir); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s and %s\n", filepath.Join(dir, "results.json"), filepath.Join(dir, "results.md"))
	}
}

func (c config) check() error {
	if len(c.servers) == 0 || len(c.sizes) == 0 || len(c.conns) == 0 {
		return fmt.Errorf("need at least one server, size and connection count")
	}
	for _, s := range c.servers {
		switch s {
		case "net", "uringnet", "callback", "gnet", "netpoll":
		default:
			return fmt.Errorf("unknown server %q (want net, uringnet, callback, gnet or netpoll)", s)
		}
	}
	for _, n := range append(append([]int{c.rounds, c.bufSize}, c.sizes...), c.conns...) {
		if n <= 0 {
			return fmt.Errorf("rounds, sizes, connections and -buf must be positive")
		}
	}
	if c.duration <= 0 || c.warmup < 0 {
		return fmt.Errorf("-duration must be positive and -warmup not negative")
	}
	return nil
}

// run builds the server, then measures every workload on every server for
// cfg.rounds rounds, writing one progress line per run to progress.
func run(ctx context.Context, cfg config, progress io.Writer) (*results, error) {
	tmp, err := os.MkdirTemp("", "ourio-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(progress, "building bench/echoserver\n")
	bin, err := buildServer(ctx, tmp, cfg.buildFlags)
	if err != nil {
		return nil, err
	}

	res := &results{Meta: newMeta(cfg)}
	total := cfg.rounds * len(cfg.sizes) * len(cfg.conns) * len(cfg.servers)
	perRun := cfg.warmup + cfg.duration + 100*time.Millisecond // about, with process start
	fmt.Fprintf(progress, "%d runs of about %.1fs: about %s\n", total, perRun.Seconds(), (time.Duration(total) * perRun).Round(time.Second))
	n := 0
	for round := 1; round <= cfg.rounds; round++ {
		for _, size := range cfg.sizes {
			for _, conns := range cfg.conns {
				for _, srv := range cfg.servers {
					if err := ctx.Err(); err != nil {
						return nil, err
					}
					n++
					s, err := runOne(bin, srv, cfg, size, conns)
					if err != nil {
						return nil, fmt.Errorf("round %d, %s, %s: %w", round, workload{size, conns}, srv, err)
					}
					res.Runs = append(res.Runs, runRecord{Round: round, Server: srv, Size: size, Conns: conns, sample: s})
					fmt.Fprintf(progress, "[%*d/%d] round %d/%d  %-18s %-9s %9s msgs/s  p50 %6s µs  p99 %6s µs  server %5s µs/msg  gen %5s µs/msg\n",
						len(strconv.Itoa(total)), n, total, round, cfg.rounds, workload{size, conns}, srv,
						rate(s.MsgsPerSec), num(s.P50us), num(s.P99us), num(s.ServerCPU), num(s.GenCPU))
				}
			}
		}
	}
	return res, nil
}

// runOne starts a fresh server process for one measurement.
func runOne(bin, impl string, cfg config, size, conns int) (sample, error) {
	srv, err := startServer(bin, impl, cfg.bufSize)
	if err != nil {
		return sample{}, err
	}
	defer srv.stop()
	s, err := load{addr: srv.addr, serverPID: srv.pid(), conns: conns, size: size, warmup: cfg.warmup, duration: cfg.duration}.run()
	if err != nil {
		if msg := strings.TrimSpace(srv.stderr.String()); msg != "" {
			err = fmt.Errorf("%w (server: %s)", err, msg)
		}
	}
	return s, err
}

func newMeta(cfg config) meta {
	m := meta{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		GoVersion:  runtime.Version(),
		Kernel:     kernelRelease(),
		CPU:        cpuModel(),
		CPUs:       runtime.NumCPU(),
		Servers:    cfg.servers,
		Baseline:   cfg.servers[0],
		Sizes:      cfg.sizes,
		Conns:      cfg.conns,
		Rounds:     cfg.rounds,
		WarmupS:    cfg.warmup.Seconds(),
		DurationS:  cfg.duration.Seconds(),
		ServerBufB: cfg.bufSize,
	}
	for _, s := range cfg.servers {
		if s == "net" {
			m.Baseline = "net"
		}
	}
	return m
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// moduleDir is the directory of the main module, so the default output
// lands in the repository's docs/ wherever the command is run from.
func moduleDir() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod)
	}
	return "."
}
