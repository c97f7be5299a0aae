package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	dir, err := os.MkdirTemp(env.tmp, "udp-")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.progress, "building bench/echoserver\n")
	bin, err := buildServer(ctx, dir, nil)
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

// udpOnce runs one server with flows client sockets, each echoing
// datagrams of size one at a time, and measures the last duration.
func udpOnce(bin, impl string, size, flows int, warmup, duration time.Duration) (udpRun, error) {
	srv, err := startServer(bin, impl, max(size, 2048))
	if err != nil {
		return udpRun{}, err
	}
	defer srv.stop()
	var measuring atomic.Bool
	var count, timeouts atomic.Int64
	stop := make(chan struct{})
	hists := make([]histogram, flows)
	errs := make(chan error, flows)
	var wg sync.WaitGroup
	for f := 0; f < flows; f++ {
		c, err := net.Dial("udp", srv.addr)
		if err != nil {
			close(stop)
			wg.Wait()
			return udpRun{}, err
		}
		wg.Add(1)
		go func(c net.Conn, h *histogram) {
			defer wg.Done()
			defer c.Close()
			out, in := make([]byte, size), make([]byte, size+1)
			for i := range out {
				out[i] = byte(f + i)
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				if _, err := c.Write(out); err != nil {
					errs <- err
					return
				}
				c.SetReadDeadline(t0.Add(time.Second))
				n, err := c.Read(in)
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						timeouts.Add(1) // lost on loopback: count it, send again
						continue
					}
					errs <- err
					return
				}
				if n != size || string(in[:n]) != string(out) {
					errs <- fmt.Errorf("echo of %d bytes came back as %d different ones", size, n)
					return
				}
				if measuring.Load() {
					h.record(time.Since(t0))
					count.Add(1)
				}
			}
		}(c, &hists[f])
	}
	fail := func(err error) (udpRun, error) {
		close(stop)
		wg.Wait()
		return udpRun{}, srv.explain(err)
	}
	select {
	case err := <-errs:
		return fail(err)
	case <-time.After(warmup):
	}
	cpu0, err := serverCPU(srv.pid())
	if err != nil {
		return fail(err)
	}
	measuring.Store(true)
	t0 := time.Now()
	select {
	case err := <-errs:
		return fail(err)
	case <-time.After(duration):
	}
	measuring.Store(false)
	elapsed := time.Since(t0)
	n := count.Load()
	cpu1, err := serverCPU(srv.pid())
	if err != nil {
		return fail(err)
	}
	close(stop)
	wg.Wait()
	if n == 0 {
		return udpRun{}, fmt.Errorf("%s: no datagram echoed in %v", impl, duration)
	}
	var all histogram
	for i := range hists {
		all.merge(&hists[i])
	}
	return udpRun{
		Server: impl, Size: size, Flows: flows, Datagrams: n,
		Rate:      float64(n) / elapsed.Seconds(),
		ServerCPU: float64((cpu1 - cpu0).Microseconds()) / float64(n),
		P50:       float64(all.quantile(0.50).Microseconds()),
		P99:       float64(all.quantile(0.99).Microseconds()),
		Timeouts:  timeouts.Load(),
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
	var lost int64
	for _, r := range runs {
		lost += r.Timeouts
	}
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
		fmt.Sprintf("Loopback UDP through bench/echoserver (a fresh process per run): udp-net and udp-uringnet echo from one goroutine (ReadFromUDPAddrPort, WriteToUDPAddrPort) on package net's and uringnet's sockets, udp-callback with core's callback API on one ring (a multishot recvmsg into a buffer ring, a sendmsg per datagram). Each flow is a connected package-net socket in this process that keeps one datagram in flight, checking every echo; %s warm-up, %s measured, %d round(s), servers alternating %s; median (min..max), ×%s the ratio of medians. Datagrams lost and sent again after a 1 s wait: %d in all.",
			env.warmup, env.duration, env.rounds, strings.Join(impls, " "), base, lost),
		"Server CPU is the on-CPU time of the server's threads (/proc/PID/task/*/schedstat) over the measured window, per datagram echoed.",
	}
	return sec
}
