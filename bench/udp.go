package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// The udp family: datagram echo through UDP servers on package net, on
// uringnet and on core's callback API, from flows that each keep one
// datagram in flight.

func init() {
	register(family{name: "udp", run: func(ctx context.Context, env familyEnv) (*section, error) {
		return udpPlan{sizes: []int{64, 1200}, flows: []int{1, 64}}.run(ctx, env)
	}})
}

// udpImpls are the UDP servers of bench/echoserver, package net first.
var udpImpls = []string{"udp-net", "udp-uringnet", "udp-callback"}

type udpPlan struct {
	sizes, flows []int
	impls        []string // when set, replaces udpImpls
}

// udpRun is one server's figures on one workload in one round.
type udpRun struct {
	Round     int     `json:"round"`
	Server    string  `json:"server"`
	Size      int     `json:"size"`
	Flows     int     `json:"flows"`
	Datagrams int64   `json:"datagrams"`
	Rate      float64 `json:"datagrams_per_s"`
	ServerCPU float64 `json:"server_cpu_us_per_datagram"`
	P50       float64 `json:"p50_us"`
	P99       float64 `json:"p99_us"`
	Timeouts  int64   `json:"timeouts"`
}

func (p udpPlan) run(ctx context.Context, env familyEnv) (*section, error) {
	bin, err := familyCommand(ctx, env, "udp", "echoserver")
	if err != nil {
		return nil, err
	}
	impls := udpImpls
	if p.impls != nil {
		impls = p.impls
	}
	var runs []udpRun
	for _, size := range p.sizes {
		for _, flows := range p.flows {
			name := fmt.Sprintf("udp %s × %d flows", msgSizeName(size), flows)
			rs, err := alternate(ctx, env, name, impls,
				func(round int, impl string) (udpRun, error) {
					r, err := udpOnce(bin, impl, size, flows, env.warmup, env.duration)
					r.Round = round
					return r, err
				},
				func(r udpRun) string {
					return fmt.Sprintf("%9s dgrams/s  p50 %6s µs  p99 %6s µs  server %5s µs/dgram", rate(r.Rate), num(r.P50), num(r.P99), num(r.ServerCPU))
				})
			if err != nil {
				return nil, err
			}
			runs = append(runs, rs...)
		}
	}
	sec := udpSection(runs, impls, p, env)
	if env.outDir != "" {
		var series []barSeries
		for _, size := range p.sizes {
			for _, flows := range p.flows {
				vals := make([]float64, len(impls))
				for i, impl := range impls {
					var v []float64
					for _, r := range runs {
						if r.Server == impl && r.Size == size && r.Flows == flows {
							v = append(v, r.ServerCPU)
						}
					}
					vals[i] = spreadOf(v).med
				}
				series = append(series, barSeries{Name: fmt.Sprintf("%s × %d flows", msgSizeName(size), flows), Values: vals})
			}
		}
		const file = "udp-cpu.svg"
		if err := groupedBars(filepath.Join(env.outDir, file), "UDP echo: server CPU per datagram", "µs per datagram (lower is better)", impls, series); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		sec.Charts = []string{file}
	}
	return sec, nil
}

// udpOnce runs one server with flows connected client sockets on the
// echo table's load generator (one ring, one thread: the generator's cost
// stays small beside the servers'), each keeping one datagram of size in
// flight, and measures the last duration.
func udpOnce(bin, impl string, size, flows int, warmup, duration time.Duration) (udpRun, error) {
	srv, err := startServer(bin, impl, max(size, 2048))
	if err != nil {
		return udpRun{}, err
	}
	defer srv.stop()
	s, err := load{addr: srv.addr, serverPID: srv.pid(), conns: flows, size: size, warmup: warmup, duration: duration, network: "udp"}.run()
	if err != nil {
		return udpRun{}, srv.explain(err)
	}
	return udpRun{
		Server: impl, Size: size, Flows: flows, Datagrams: int64(s.Msgs),
		Rate: s.MsgsPerSec, ServerCPU: s.ServerCPU, P50: s.P50us, P99: s.P99us,
	}, nil
}

func udpSection(runs []udpRun, impls []string, p udpPlan, env familyEnv) *section {
	base := impls[0]
	sec := &section{
		Name:    "udp",
		Title:   "UDP echo",
		Columns: []string{"workload", "server", "datagrams/s", "×" + base, "p50 µs", "p99 µs", "×" + base, "server CPU µs/datagram", "×" + base},
		Raw:     runs,
	}
	pick := func(impl string, size, flows int, f func(udpRun) float64) spread {
		var v []float64
		for _, r := range runs {
			if r.Server == impl && r.Size == size && r.Flows == flows {
				v = append(v, f(r))
			}
		}
		return spreadOf(v)
	}
	rateOf := func(r udpRun) float64 { return r.Rate }
	cpuOf := func(r udpRun) float64 { return r.ServerCPU }
	p50Of := func(r udpRun) float64 { return r.P50 }
	p99Of := func(r udpRun) float64 { return r.P99 }
	for _, size := range p.sizes {
		for _, flows := range p.flows {
			w := fmt.Sprintf("%s × %d flows", msgSizeName(size), flows)
			br, b99, bc := pick(base, size, flows, rateOf), pick(base, size, flows, p99Of), pick(base, size, flows, cpuOf)
			for _, impl := range impls {
				r, c := pick(impl, size, flows, rateOf), pick(impl, size, flows, cpuOf)
				p50, p99 := pick(impl, size, flows, p50Of), pick(impl, size, flows, p99Of)
				sec.Rows = append(sec.Rows, []string{w, impl, r.format(rate), ratioCell(r.med, br.med), p50.format(num), p99.format(num), ratioCell(p99.med, b99.med), c.format(num), ratioCell(c.med, bc.med)})
			}
		}
	}
	sec.Notes = []string{
		fmt.Sprintf("Loopback UDP through bench/echoserver (a fresh process per run): udp-net and udp-uringnet echo from one goroutine (ReadFromUDPAddrPort, WriteToUDPAddrPort) on package net's and uringnet's sockets, udp-callback with core's callback API on one ring (a multishot recvmsg into a buffer ring, a sendmsg per datagram). Each flow is a connected UDP socket on the echo table's load generator (every flow on one core.Ring driven from one thread), keeping one datagram in flight and checking the echo; %s warm-up, %s measured, %d round(s), servers alternating %s; median (min..max), ×%s the ratio of medians.",
			env.warmup, env.duration, env.rounds, strings.Join(impls, " "), base),
		"Server CPU is the on-CPU time of the server's threads (/proc/PID/task/*/schedstat) over the measured window, per datagram echoed.",
	}
	return sec
}
