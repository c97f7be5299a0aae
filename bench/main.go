// Command bench runs Ourio's servers side by side with package net and the
// event-loop peers, and reports each figure beside package net's:
//
//	go run -C bench .            # 5 rounds of 3 s per server and workload
//	go run -C bench . -quick     # 2 short rounds, under a minute
//
// (from the repository's root; bench is a module of its own, so that the
// peers it measures stay out of the library's module graph).
//
// The echo workloads come first: ping-pong at 64 B and 4 KiB, 1, 64 and
// 1,000 connections, giving messages per second, p50 and p99 round trip,
// server CPU and context switches per message, syscalls per message and
// the load generator's own CPU. Each server (bench/echoserver with -impl
// net, uringnet, callback, callback-epoll, callback-rings, callback-epoll-rings, gnet or netpoll) is built into a
// temporary directory and run as its own process, so its CPU time, summed
// from /proc/PID/task/*/schedstat, is apart from the load generator's. The
// generator is in this process: by default (-gen ring) every connection on
// one of Ourio's own rings on one locked thread, or (-gen net) package net
// clients, one goroutine per connection; either way each connection sends
// a message and waits for its whole echo before the next, recording every
// round trip into a fixed histogram. For every
// workload the servers run in turn, A B C A B C over the rounds, so drift
// in the machine spreads over all of them. After the table come the
// targets the project sets for the callback API and uringnet, PASS or FALL
// SHORT.
//
// Then each family registered in its own file (net/http, bulk transfer,
// idle connections, UDP echo, quic-go's HTTP/3) runs and adds a section; -workloads picks which, echo
// included. A family that fails is reported and the rest still run; the
// command then exits 1.
//
// Everything goes to stdout and, with the raw per-round figures and SVG
// charts, to results.md and results.json: a full run's to the repository's
// docs/benchmarks, a quick run's to a new temporary directory it names, so
// that a quick look never overwrites the committed results (-out chooses
// the directory, -out "" writes nothing). Progress goes to stderr.
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
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is what one invocation measures.
type config struct {
	workloads []string // "echo" and family names, in the order to run them
	servers   []string
	sizes     []int
	conns     []int
	rounds    int
	warmup    time.Duration
	duration  time.Duration
	bufSize   int  // the servers' read buffer
	quick     bool // passed on to the families
	pin       bool // server on CPU 1, generator on CPU 0
	syscalls  bool // count the servers' syscalls per message in round 1
	outDir    string
	gen       string // the load generator, one of generators; "" is defaultGen

	buildFlags []string // extra go build flags for the server
	// against are git revisions whose echo servers run beside the working
	// tree's in the echo workload, as servers named IMPL@REV (uringnet@REV
	// unless -servers names another).
	against []string
}

// echoImpls are the -impl values of bench/echoserver, in the default order.
var echoImpls = []string{"net", "uringnet", "callback", "callback-epoll", "callback-rings", "callback-epoll-rings", "gnet", "netpoll"}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	quick := flag.Bool("quick", false, "2 short rounds, under a minute with every workload (rounds, duration and warmup set explicitly still apply)")
	workloads := flag.String("workloads", strings.Join(workloadNames(), ","), "workloads to run: echo and the families, in order")
	servers := flag.String("servers", strings.Join(echoImpls, ","), "echo servers to compare, in order; the first is the baseline unless net is listed")
	sizes := flag.String("sizes", "64,4096", "echo message sizes in bytes")
	conns := flag.String("conns", "1,64,1000", "echo connection counts")
	rounds := flag.Int("rounds", 5, "rounds; each runs every server once per workload")
	duration := flag.Duration("duration", 3*time.Second, "measured time per run")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "unmeasured time per run before measuring")
	bufSize := flag.Int("buf", 4096, "server read buffer in bytes")
	pin := flag.Bool("pin", false, "pin echo servers to CPU 1 and the load generator to CPU 0 (off by default: a server with a ring per CPU needs both)")
	syscalls := flag.Bool("syscalls", true, "count each echo server's syscalls per message in a short extra pass in round 1 (perf stat, else strace)")
	gen := flag.String("gen", defaultGen, "echo load generator: ring (every connection on one of Ourio's rings, on one thread) or net (package net, a goroutine per connection)")
	against := flag.String("against", "", "git revisions, comma-separated: bench/echoserver built from each revision of the repository, its servers named IMPL@REV in -servers (callback-epoll@HEAD), or uringnet@REV added when none is, measured beside the working tree's servers in the same run (echo only)")
	out := flag.String("out", "", `directory for results.json, results.md and the charts (default: docs/benchmarks in the repository, or a new temporary directory with -quick; "" after -out= writes nothing)`)
	flag.Parse()

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["rounds"] {
			*rounds = 2
		}
		if !set["duration"] {
			*duration = quickDuration
		}
		if !set["warmup"] {
			*warmup = quickWarmup
		}
	}
	cfg := config{
		workloads: splitList(*workloads), servers: splitList(*servers),
		rounds: *rounds, warmup: *warmup, duration: *duration, bufSize: *bufSize,
		quick: *quick, pin: *pin, syscalls: *syscalls, gen: *gen,
		against: splitList(*against),
	}
	cfg.servers = withAgainstServers(cfg.servers, cfg.against)
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
	if cfg.outDir, err = resultsDir(cfg.quick, *out, set["out"]); err != nil {
		log.Fatal(err)
	}
	if cfg.quick && !set["out"] {
		fmt.Fprintf(os.Stderr, "quick run: results go to %s, docs/benchmarks is left as it is\n", cfg.outDir)
	}
	if cfg.pin {
		if err := pinSelf(0); err != nil {
			log.Fatalf("-pin: %v", err)
		}
	}

	res, err := run(context.Background(), cfg, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	res.Meta.Command = strings.TrimSpace("go run -C bench . " + strings.Join(os.Args[1:], " "))
	if cfg.outDir != "" {
		if err := res.writeCharts(cfg.outDir); err != nil {
			log.Fatal(err)
		}
	}
	if err := res.writeText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	if cfg.outDir != "" {
		if err := res.writeFiles(cfg.outDir); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s and %s\n", filepath.Join(cfg.outDir, "results.json"), filepath.Join(cfg.outDir, "results.md"))
	}
	failed := len(res.Failures) > 0
	for _, f := range res.Failures {
		log.Printf("%s failed: %s", f.Workload, f.Error)
	}
	for _, r := range res.Runs {
		if r.Error != "" {
			log.Printf("echo round %d, %s, %s failed: %s", r.Round, workload{r.Size, r.Conns}, r.Server, r.Error)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// quick mode's run lengths: with six servers, two rounds of the six echo
// workloads are 72 runs, which at these lengths take about 25 s with the
// syscall pass, leaving the rest of the minute to the families.
const (
	quickDuration = 150 * time.Millisecond
	quickWarmup   = 50 * time.Millisecond
)

// workloadNames is echo and then every registered family, in registry order.
func workloadNames() []string {
	names := []string{"echo"}
	for _, f := range families {
		names = append(names, f.name)
	}
	return names
}

func findFamily(name string) (family, bool) {
	for _, f := range families {
		if f.name == name {
			return f, true
		}
	}
	return family{}, false
}

func (c config) check() error {
	if len(c.workloads) == 0 {
		return fmt.Errorf("need at least one workload (known: %s)", strings.Join(workloadNames(), ", "))
	}
	for i, w := range c.workloads {
		if _, ok := findFamily(w); !ok && w != "echo" {
			return fmt.Errorf("unknown workload %q (known: %s)", w, strings.Join(workloadNames(), ", "))
		}
		if slices.Contains(c.workloads[:i], w) {
			return fmt.Errorf("workload %q listed twice", w)
		}
	}
	if len(c.servers) == 0 || len(c.sizes) == 0 || len(c.conns) == 0 {
		return fmt.Errorf("need at least one server, size and connection count")
	}
	for i, s := range c.servers {
		impl, rev, at := strings.Cut(s, "@")
		if at && rev == "" {
			return fmt.Errorf("server %q: empty revision after @", s)
		}
		if slices.Contains(c.servers[:i], s) {
			return fmt.Errorf("server %q listed twice", s)
		}
		if at && !slices.Contains(c.against, rev) {
			return fmt.Errorf("server %q: no -against %s builds it", s, rev)
		}
		if !slices.Contains(echoImpls, impl) {
			return fmt.Errorf("unknown server %q (want one of %s)", s, strings.Join(echoImpls, ", "))
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
	if c.gen != "" && !slices.Contains(generators, c.gen) {
		return fmt.Errorf("unknown -gen %q (want one of %s)", c.gen, strings.Join(generators, ", "))
	}
	if c.pin && runtime.NumCPU() < 2 {
		return fmt.Errorf("-pin needs at least 2 CPUs, this machine has %d", runtime.NumCPU())
	}
	return nil
}

// run measures the echo workloads, if selected, then runs each selected
// family, writing progress lines to progress. A workload that fails is
// recorded in the results and the rest still run; run itself fails only
// when it cannot start.
func run(ctx context.Context, cfg config, progress io.Writer) (*results, error) {
	tmp, err := os.MkdirTemp("", "ourio-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if cfg.outDir != "" {
		if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
			return nil, err
		}
	}
	res := &results{Meta: newMeta(cfg)}
	for _, w := range cfg.workloads {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if w == "echo" {
			if err := runEcho(ctx, cfg, tmp, res, progress); err != nil {
				res.fail("echo", err)
				fmt.Fprintf(progress, "echo failed: %v\n", err)
			}
			continue
		}
		f, _ := findFamily(w)
		dir := filepath.Join(tmp, f.name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "running %s\n", f.name)
		sec, err := f.run(ctx, familyEnv{
			rounds: cfg.rounds, warmup: cfg.warmup, duration: cfg.duration, quick: cfg.quick,
			tmp: dir, outDir: cfg.outDir, progress: progress,
		})
		switch {
		case err != nil:
			res.fail(f.name, err)
			fmt.Fprintf(progress, "%s failed: %v\n", f.name, err)
		case sec != nil:
			res.Sections = append(res.Sections, sec)
		}
	}
	return res, nil
}

// runEcho builds the echo server, then measures every echo workload on
// every server for cfg.rounds rounds, one progress line per run.
func runEcho(ctx context.Context, cfg config, tmp string, res *results, progress io.Writer) error {
	fmt.Fprintf(progress, "building bench/echoserver\n")
	bin, err := buildCommand(ctx, tmp, "echoserver", cfg.buildFlags)
	if err != nil {
		return err
	}
	bins := map[string]string{}
	for _, rev := range cfg.against {
		fmt.Fprintf(progress, "building bench/echoserver at %s\n", rev)
		b, err := buildServerAt(ctx, rev, filepath.Join(tmp, "against", strconv.Itoa(len(bins))), cfg.buildFlags)
		if err != nil {
			return err
		}
		bins[rev] = b
	}
	var counter syscallCounter
	if cfg.syscalls {
		counter, res.Meta.SyscallTool = findSyscallCounter(progress)
		fmt.Fprintf(progress, "syscalls per message: %s\n", res.Meta.SyscallTool)
	} else {
		res.Meta.SyscallTool = "not counted (-syscalls=false)"
	}

	total := cfg.rounds * len(cfg.sizes) * len(cfg.conns) * len(cfg.servers)
	perRun := cfg.warmup + cfg.duration + 150*time.Millisecond // about, with process start and dialling
	est := time.Duration(total) * perRun
	if counter != nil {
		est += time.Duration(total/cfg.rounds) * (syscallWindow(cfg) + 100*time.Millisecond)
	}
	fmt.Fprintf(progress, "%d echo runs of about %.1fs: about %s\n", total, perRun.Seconds(), est.Round(time.Second))
	n := 0
	for round := 1; round <= cfg.rounds; round++ {
		for _, size := range cfg.sizes {
			for _, conns := range cfg.conns {
				for _, srv := range cfg.servers {
					if err := ctx.Err(); err != nil {
						return err
					}
					n++
					var c syscallCounter
					if round == 1 {
						c = counter
					}
					b, impl := bin, srv
					if name, rev, ok := strings.Cut(srv, "@"); ok {
						b, impl = bins[rev], name
					}
					s, err := runOne(b, impl, cfg, size, conns, c)
					if err != nil {
						// One server failing one run leaves a gap in its row;
						// the others are still measured.
						res.Runs = append(res.Runs, runRecord{Round: round, Server: srv, Size: size, Conns: conns, Error: err.Error()})
						fmt.Fprintf(progress, "[%*d/%d] round %d/%d  %-20s %-14s failed: %v\n",
							len(strconv.Itoa(total)), n, total, round, cfg.rounds, workload{size, conns}, srv, err)
						continue
					}
					res.Runs = append(res.Runs, runRecord{Round: round, Server: srv, Size: size, Conns: conns, sample: s})
					sys := ""
					if s.Syscalls != nil {
						sys = fmt.Sprintf("  %s syscalls/msg", num(*s.Syscalls))
					}
					fmt.Fprintf(progress, "[%*d/%d] round %d/%d  %-20s %-14s %9s msgs/s  p50 %6s µs  p99 %6s µs  server %5s µs/msg %5s cs/msg  gen %5s µs/msg%s\n",
						len(strconv.Itoa(total)), n, total, round, cfg.rounds, workload{size, conns}, srv,
						rate(s.MsgsPerSec), num(s.P50us), num(s.P99us), num(s.ServerCPU), num(s.ServerCS), num(s.GenCPU), sys)
				}
			}
		}
	}
	return nil
}

// syscallWindow is how long the syscall pass counts: a fraction of the
// measured window, since the count needs no great precision.
func syscallWindow(cfg config) time.Duration {
	return min(max(cfg.duration/4, 50*time.Millisecond), time.Second)
}

// runOne starts a fresh server process for one measurement; counter, if
// not nil, counts its syscalls after the measured window.
func runOne(bin, impl string, cfg config, size, conns int, counter syscallCounter) (sample, error) {
	srv, err := startServerPinned(bin, impl, cfg.bufSize, cfg.pin)
	if err != nil {
		return sample{}, err
	}
	defer srv.stop()
	l := load{addr: srv.addr, serverPID: srv.pid(), conns: conns, size: size, warmup: cfg.warmup, duration: cfg.duration, gen: cfg.gen}
	if counter != nil {
		l.syscalls, l.syscallWindow = counter, syscallWindow(cfg)
	}
	s, err := l.run()
	if err != nil {
		return s, srv.explain(err)
	}
	return s, nil
}

func newMeta(cfg config) meta {
	m := meta{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		GoVersion:  runtime.Version(),
		Kernel:     kernelRelease(),
		CPU:        cpuModel(),
		CPUs:       runtime.NumCPU(),
		Workloads:  cfg.workloads,
		Servers:    cfg.servers,
		Baseline:   cfg.servers[0],
		Sizes:      cfg.sizes,
		Conns:      cfg.conns,
		Rounds:     cfg.rounds,
		WarmupS:    cfg.warmup.Seconds(),
		DurationS:  cfg.duration.Seconds(),
		ServerBufB: cfg.bufSize,
		Pinned:     cfg.pin,
		Generator:  cfg.gen,
	}
	if m.Generator == "" {
		m.Generator = defaultGen
	}
	if slices.Contains(cfg.servers, "net") {
		m.Baseline = "net"
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

// resultsDir is where a run writes its files. An explicit -out wins, ""
// meaning nowhere. Otherwise a full run writes docs/benchmarks in the
// repository, the figures the README quotes, and a quick run, too short to
// stand for anything, writes a new temporary directory rather than
// overwrite them.
func resultsDir(quick bool, out string, outSet bool) (string, error) {
	switch {
	case outSet:
		return out, nil
	case quick:
		return os.MkdirTemp("", "ourio-bench-quick-")
	}
	return filepath.Join(repoDir(), "docs", "benchmarks"), nil
}

// repoDir is the directory of the ourio module that bench's module, where
// go run runs the command, builds against: its go.mod replaces that module
// with the repository, one directory up.
func repoDir() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ourio-go/ourio").Output()
	if dir := strings.TrimSpace(string(out)); err == nil && dir != "" {
		return dir
	}
	return ".."
}
