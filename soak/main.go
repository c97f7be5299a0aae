//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(serveMain(os.Args[2:]))
	}
	os.Exit(soakMain(os.Args[1:], os.Stdout))
}

// soakMain parses the flags, runs the scenarios and prints the table; it
// returns 1 if any invariant was violated.
func soakMain(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	cfg := &config{out: out}
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "load time per scenario and transport, split over the rounds")
	fs.IntVar(&cfg.rounds, "rounds", 2, "rounds per scenario, alternating the transports' order")
	transports := fs.String("transports", "uringnet,net", "listeners to compare: uringnet, net")
	names := fs.String("scenarios", "chaos,fdlimit,storm,idle", "scenarios to run")
	fs.IntVar(&cfg.clients, "clients", 32, "chaos's clients; storm has a quarter as many normal clients")
	fs.Int64Var(&cfg.maxSize, "max-size", 4<<20, "the largest body in bytes")
	fs.DurationVar(&cfg.bound, "bound", 10*time.Second, "no client operation may take longer")
	fs.IntVar(&cfg.storm, "storm", 128, "storm's resetting connections at a time")
	fs.IntVar(&cfg.stormTotal, "storm-total", 0, "if not 0, storm ends (and its normal clients with it) after this many resetting connections")
	fs.IntVar(&cfg.idle, "idle", 2000, "idle's idle connections")
	fs.IntVar(&cfg.nofile, "nofile", 256, "fdlimit's RLIMIT_NOFILE for the server")
	fs.DurationVar(&cfg.settle, "settle", 5*time.Second, "how long the server's descriptors and goroutines may take to return to the baseline")
	fs.DurationVar(&cfg.progress, "progress", 5*time.Second, "between progress lines (0: none)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "a directory to write each server's CPU profile in")
	fs.Uint64Var(&cfg.seed, "seed", 0, "the clients' random seed (0: from the clock)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.transports = strings.Split(*transports, ",")
	cfg.scenarios = strings.Split(*names, ",")
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	cfg.self = self
	sums := soak(cfg)
	printTable(out, sums)
	if printViolations(out, sums) {
		return 1
	}
	return 0
}

func (cfg *config) check() error {
	for _, t := range cfg.transports {
		if t != "uringnet" && t != "net" {
			return fmt.Errorf("unknown transport %q (uringnet, net)", t)
		}
	}
	for _, n := range cfg.scenarios {
		if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == n }) {
			return fmt.Errorf("unknown scenario %q", n)
		}
	}
	switch {
	case cfg.rounds < 1 || cfg.duration < time.Duration(cfg.rounds)*time.Second:
		return fmt.Errorf("-rounds %d and -duration %s: need at least one round of a second", cfg.rounds, cfg.duration)
	case cfg.clients < 1 || cfg.storm < 1 || cfg.idle < 1 || cfg.maxSize < 1 || cfg.bound <= 0 || cfg.stormTotal < 0:
		return fmt.Errorf("-clients, -storm, -idle, -max-size and -bound must be positive, -storm-total not negative")
	case cfg.nofile < 32:
		return fmt.Errorf("-nofile %d: the server needs at least 32 descriptors to start", cfg.nofile)
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	if cfg.cpuprofile != "" {
		if err := os.MkdirAll(cfg.cpuprofile, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// soak runs every scenario asked for, round after round, the transports
// in turn (in reverse order every other round), and merges each
// scenario's rounds per transport.
func soak(cfg *config) []*summary {
	var sums []*summary
	fmt.Fprintf(cfg.out, "soak: seed %d, %s per scenario and transport in %d rounds\n", cfg.seed, cfg.duration, cfg.rounds)
	for _, sc := range scenarios {
		if !slices.Contains(cfg.scenarios, sc.name) {
			continue
		}
		per := make(map[string][]*result)
		for round := 1; round <= cfg.rounds; round++ {
			order := slices.Clone(cfg.transports)
			if round%2 == 0 {
				slices.Reverse(order)
			}
			for _, t := range order {
				start := time.Now()
				res := runOne(cfg, sc, t, round, cfg.duration/time.Duration(cfg.rounds))
				fmt.Fprintf(cfg.out, "%-8s %-8s r%d done in %.1fs: %d exchanges, %d aborted, %d violations\n",
					sc.name, t, round, time.Since(start).Seconds(), res.exchanges.Load(), res.aborted.Load(), res.nviolations())
				per[t] = append(per[t], res)
			}
		}
		for _, t := range cfg.transports {
			sums = append(sums, merge(per[t]))
		}
	}
	return sums
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }

func mib(b int64) string { return fmt.Sprintf("%.0f", float64(b)/(1<<20)) }

// printTable prints one row per scenario and transport, and for each
// scenario run on both the uringnet/net ratios.
func printTable(out io.Writer, sums []*summary) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttransport\texchanges\taborted\tviolations\tp50\tp99\tmax wait\tfds base/peak/end\tgoroutines base/peak/end\tthreads\tRSS MiB q1/end\tsettled in\t")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%d/%d/%d\t%d/%d/%d\t%d\t%s/%s\t%.1fs\t\n",
			s.scenario, s.transport, s.exchanges, s.aborted, s.nviol,
			ms(quantile(s.lat, 0.5)), ms(quantile(s.lat, 0.99)), ms(s.maxWait),
			s.base.fds, s.peak.fds, s.end.fds, s.base.goroutines, s.peak.goroutines, s.end.goroutines,
			s.peak.threads, mib(s.rssFirst), mib(s.rssLast), s.settle.Seconds())
	}
	tw.Flush()
	for _, u := range sums {
		if u.transport != "uringnet" {
			continue
		}
		for _, n := range sums {
			if n.transport != "net" || n.scenario != u.scenario {
				continue
			}
			fmt.Fprintf(out, "%-8s uringnet/net: exchanges/s %s, p99 %s (medians of %d and %d rounds); over all rounds p50 %s, p99 %s, max wait %s\n", u.scenario,
				ratio(median(u.rates), median(n.rates)), ratio(median(u.p99s), median(n.p99s)), len(u.rates), len(n.rates),
				ratio(float64(quantile(u.lat, 0.5)), float64(quantile(n.lat, 0.5))),
				ratio(float64(quantile(u.lat, 0.99)), float64(quantile(n.lat, 0.99))),
				ratio(float64(u.maxWait), float64(n.maxWait)))
		}
	}
	for _, s := range sums {
		for _, n := range s.notes {
			fmt.Fprintf(out, "%-8s %-8s %s\n", s.scenario, s.transport, n)
		}
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// printViolations lists every violation found and reports whether any was.
func printViolations(out io.Writer, sums []*summary) bool {
	any := false
	for _, s := range sums {
		if s.nviol == 0 {
			continue
		}
		any = true
		fmt.Fprintf(out, "VIOLATIONS %s on %s: %d\n", s.scenario, s.transport, s.nviol)
		for _, v := range s.violations {
			fmt.Fprintf(out, "  %s\n", v)
		}
		if s.nviol > len(s.violations) {
			fmt.Fprintf(out, "  ... and %d more\n", s.nviol-len(s.violations))
		}
	}
	if !any {
		fmt.Fprintln(out, "no violations")
	}
	return any
}
