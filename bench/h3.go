package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ourio-go/ourio/bench/internal/h3"
)

// The h3 family: quic-go's HTTP/3 server (bench/h3server) on a package net
// and on a uringnet UDP socket, under one load generator on package net:
// requests per second for a small response over many streams, and
// download throughput of a large body.

func init() {
	register(family{name: "h3", run: func(ctx context.Context, env familyEnv) (*section, error) {
		p := h3Default
		if env.quick {
			p.bodyLen = 4 << 20
		}
		return p.run(ctx, env)
	}})
}

// h3Plan is what one run of the family measures.
type h3Plan struct {
	reqConns, reqStreams int   // the requests workload's QUIC connections and streams on each
	dlConns              int   // the download workload's connections, one stream each
	bodyLen              int64 // each download's body
	transports           []string
}

var h3Default = h3Plan{reqConns: 8, reqStreams: 16, dlConns: 2, bodyLen: 16 << 20, transports: h3.Transports}

// h3Workload is one of the family's two ways of driving a server.
type h3Workload struct {
	name     string
	download bool
}

func (p h3Plan) workloads() []h3Workload {
	return []h3Workload{
		{name: fmt.Sprintf("requests (%d B × %s × %d streams)", len(h3.Small), connsName(p.reqConns), p.reqStreams)},
		{name: fmt.Sprintf("download (%s bodies × %s)", sizeName(p.bodyLen), connsName(p.dlConns)), download: true},
	}
}

// h3Run is one server's figures on one workload in one round. A requests
// run has ReqPerSec and CPUPerReq, a download MBps and CPUPerMB.
type h3Run struct {
	Round     int     `json:"round"`
	Workload  string  `json:"workload"`
	Server    string  `json:"server"`
	Requests  int64   `json:"requests"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	ReqPerSec float64 `json:"req_per_s,omitempty"`
	MBps      float64 `json:"mb_per_s,omitempty"`
	CPUPerReq float64 `json:"server_cpu_us_per_req,omitempty"`
	CPUPerMB  float64 `json:"server_cpu_ms_per_mb,omitempty"`
	Transport string  `json:"transport"` // what the server said it runs on
}

// rate and cpu are the run's two figures, whichever workload it is.
func (r h3Run) rate() float64 {
	if r.MBps != 0 {
		return r.MBps
	}
	return r.ReqPerSec
}

func (r h3Run) cpu() float64 {
	if r.CPUPerMB != 0 {
		return r.CPUPerMB
	}
	return r.CPUPerReq
}

func (p h3Plan) run(ctx context.Context, env familyEnv) (*section, error) {
	bin, err := familyCommand(ctx, env, "h3", "h3server")
	if err != nil {
		return nil, err
	}
	var runs []h3Run
	for _, w := range p.workloads() {
		rs, err := alternate(ctx, env, "h3 "+w.name, p.transports,
			func(round int, transport string) (h3Run, error) {
				r, err := p.once(bin, transport, w, env.warmup, env.duration)
				r.Round = round
				return r, err
			},
			func(r h3Run) string {
				if w.download {
					return fmt.Sprintf("%7s MB/s   server %5s ms/MB", num(r.MBps), num(r.CPUPerMB))
				}
				return fmt.Sprintf("%7s req/s  server %5s µs/req", rate(r.ReqPerSec), num(r.CPUPerReq))
			})
		if err != nil {
			return nil, err
		}
		runs = append(runs, rs...)
	}
	sec := p.section(runs, env)
	if env.outDir != "" {
		charts, err := p.charts(runs, env.outDir)
		if err != nil {
			return nil, err
		}
		sec.Charts = charts
	}
	return sec, nil
}

// once starts a fresh server on transport and measures one run of w.
func (p h3Plan) once(bin, transport string, w h3Workload, warmup, duration time.Duration) (h3Run, error) {
	srv, err := startProc("h3server -transport "+transport, []string{bin, "-transport", transport, "-addr", "127.0.0.1:0"})
	if err != nil {
		return h3Run{}, err
	}
	defer srv.stop()
	l := h3Load{addr: srv.addr, serverPID: srv.pid(), transport: transport, conns: p.reqConns, streams: p.reqStreams,
		path: h3.SmallPath, bodyLen: int64(len(h3.Small)), warmup: warmup, duration: duration}
	if w.download {
		l.conns, l.streams, l.download = p.dlConns, 1, true
		l.path, l.bodyLen = fmt.Sprintf("%s?n=%d", h3.BytesPath, p.bodyLen), p.bodyLen
	}
	s, err := l.run()
	if err != nil {
		return h3Run{}, srv.explain(err)
	}
	r := h3Run{Workload: w.name, Server: transport, Requests: s.requests, Bytes: s.bytes, Seconds: s.seconds, Transport: s.desc}
	if w.download {
		mb := float64(s.bytes) / 1e6
		r.MBps, r.CPUPerMB = mb/s.seconds, s.serverCPU.Seconds()*1e3/mb
	} else {
		r.ReqPerSec, r.CPUPerReq = float64(s.requests)/s.seconds, usPer(s.serverCPU, uint64(s.requests))
	}
	return r, nil
}

// spread gathers one figure of one server on one workload over the rounds.
func h3Spread(runs []h3Run, workload, server string, f func(h3Run) float64) spread {
	var v []float64
	for _, r := range runs {
		if r.Workload == workload && r.Server == server {
			v = append(v, f(r))
		}
	}
	return spreadOf(v)
}

func (p h3Plan) section(runs []h3Run, env familyEnv) *section {
	base := p.transports[0]
	sec := &section{
		Name:    "h3",
		Title:   "quic-go HTTP/3 on uringnet and package net",
		Columns: []string{"workload", "server", "req/s or MB/s", "×" + base, "server CPU µs/req or ms/MB", "×" + base},
		Raw:     runs,
	}
	for _, w := range p.workloads() {
		fmtRate := num
		if !w.download {
			fmtRate = rate
		}
		br, bc := h3Spread(runs, w.name, base, h3Run.rate), h3Spread(runs, w.name, base, h3Run.cpu)
		for _, t := range p.transports {
			r, c := h3Spread(runs, w.name, t, h3Run.rate), h3Spread(runs, w.name, t, h3Run.cpu)
			sec.Rows = append(sec.Rows, []string{w.name, "quic-go/" + t, r.format(fmtRate), ratioCell(r.med, br.med), c.format(num), ratioCell(c.med, bc.med)})
		}
	}
	var descs []string
	for _, t := range p.transports {
		for _, r := range runs {
			if r.Server == t {
				descs = append(descs, r.Transport)
				break
			}
		}
	}
	sec.Notes = []string{
		fmt.Sprintf("quic-go's HTTP/3 server (bench/h3server, a fresh process per run, a self-signed certificate made at start-up) on loopback UDP; each server answered at /transport what it ran on: %s. The load generator is the same for both: quic-go's HTTP/3 client in this process on package net, one UDP socket per QUIC connection. requests: %s × %d streams, each stream a goroutine issuing GET of the %d-byte response one after another, every body compared. download: %s, each issuing GET of a %s body after another, every byte compared with the deterministic pattern sent (and its length checked). %s warm-up, %s measured, %d round(s), servers alternating %s; median (min..max), ×%s the ratio of medians. MB/s is body bytes (10^6) received per second, partial bodies included.",
			strings.Join(descs, "; "), connsName(p.reqConns), p.reqStreams, len(h3.Small), connsName(p.dlConns), sizeName(p.bodyLen), env.warmup, env.duration, env.rounds, strings.Join(p.transports, " "), base),
		"Server CPU is the on-CPU time of the server's threads (/proc/PID/task/*/schedstat) over the measured window, per request completed (µs) or per MB sent (ms).",
	}
	if v := p.verdict(runs); v != "" {
		sec.Notes = append(sec.Notes, v)
	}
	return sec
}

// verdict says whether quic-go on uringnet meets the project's target
// against quic-go on package net: at least 1.0x both the requests per
// second and the download throughput.
func (p h3Plan) verdict(runs []h3Run) string {
	if !slices.Contains(p.transports, "uringnet") || p.transports[0] == "uringnet" {
		return ""
	}
	base := p.transports[0]
	var parts []string
	met := true
	for _, w := range p.workloads() {
		b, c := h3Spread(runs, w.name, base, h3Run.rate), h3Spread(runs, w.name, "uringnet", h3Run.rate)
		bc, cc := h3Spread(runs, w.name, base, h3Run.cpu), h3Spread(runs, w.name, "uringnet", h3Run.cpu)
		if b.n == 0 || c.n == 0 || b.med == 0 || bc.med == 0 {
			return ""
		}
		unit, per := "req/s", "request"
		if w.download {
			unit, per = "MB/s", "MB"
		}
		q := c.med / b.med
		met = met && q >= 1
		parts = append(parts, fmt.Sprintf("%s %.2fx %s (CPU per %s %.2fx)", w.name, q, unit, per, cc.med/bc.med))
	}
	v := "met"
	if !met {
		v = "not met"
	}
	return fmt.Sprintf("Target, quic-go on uringnet against quic-go on %s (≥1.00x requests per second and ≥1.00x download throughput): %s: %s.", base, v, strings.Join(parts, "; "))
}

// charts writes one ratio chart into dir: for each workload, each server's
// rate and CPU per unit divided by the baseline's, with a line at 1.
func (p h3Plan) charts(runs []h3Run, dir string) ([]string, error) {
	base := p.transports[0]
	var groups []string
	var series []barSeries
	for _, t := range p.transports {
		series = append(series, barSeries{Name: "quic-go/" + t})
	}
	for _, w := range p.workloads() {
		unit, per := "req/s", "CPU/req"
		if w.download {
			unit, per = "MB/s", "CPU/MB"
		}
		for _, f := range []struct {
			name  string
			value func(h3Run) float64
		}{{unit, h3Run.rate}, {per, h3Run.cpu}} {
			groups = append(groups, f.name)
			b := h3Spread(runs, w.name, base, f.value)
			for i, t := range p.transports {
				v := math.NaN()
				if s := h3Spread(runs, w.name, t, f.value); s.n > 0 && b.med != 0 {
					v = s.med / b.med
				}
				series[i].Values = append(series[i].Values, v)
			}
		}
	}
	const file = "h3-ratios.svg"
	c := barChart{title: "quic-go HTTP/3: requests, download and server CPU", yLabel: "× quic-go/" + base, groups: groups, series: series, ref: 1}
	if err := c.write(filepath.Join(dir, file)); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return []string{file}, nil
}
