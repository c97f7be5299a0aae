package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// results is everything one invocation measured; it is written out as
// results.json.
type results struct {
	Meta meta        `json:"meta"`
	Runs []runRecord `json:"runs"`
}

type meta struct {
	Date       string   `json:"date"`
	Command    string   `json:"command"`
	GoVersion  string   `json:"go_version"`
	Kernel     string   `json:"kernel"`
	CPU        string   `json:"cpu"`
	CPUs       int      `json:"cpus"`
	Servers    []string `json:"servers"`
	Baseline   string   `json:"baseline"`
	Sizes      []int    `json:"sizes"`
	Conns      []int    `json:"conns"`
	Rounds     int      `json:"rounds"`
	WarmupS    float64  `json:"warmup_s"`
	DurationS  float64  `json:"duration_s"`
	ServerBufB int      `json:"server_buf_bytes"`
}

// runRecord is one server's figures for one workload in one round.
type runRecord struct {
	Round  int    `json:"round"`
	Server string `json:"server"`
	Size   int    `json:"size"`
	Conns  int    `json:"conns"`
	sample
}

type workload struct{ size, conns int }

func (w workload) String() string {
	size := fmt.Sprintf("%d B", w.size)
	if w.size >= 1024 && w.size%1024 == 0 {
		size = fmt.Sprintf("%d KiB", w.size/1024)
	}
	unit := "conns"
	if w.conns == 1 {
		unit = "conn"
	}
	return fmt.Sprintf("%s × %d %s", size, w.conns, unit)
}

// The figures the table summarises, in column order; the first four are
// also given as a ratio to the baseline server.
var figures = []struct {
	name   string
	value  func(sample) float64
	format func(float64) string
	ratio  bool
}{
	{"msgs/s", func(s sample) float64 { return s.MsgsPerSec }, rate, true},
	{"p50 µs", func(s sample) float64 { return s.P50us }, num, true},
	{"p99 µs", func(s sample) float64 { return s.P99us }, num, true},
	{"server CPU µs/msg", func(s sample) float64 { return s.ServerCPU }, num, true},
	{"gen CPU µs/msg", func(s sample) float64 { return s.GenCPU }, num, false},
	{"gen cores", func(s sample) float64 { return s.GenCPU * s.MsgsPerSec / 1e6 }, num, false},
}

// spread is the median and range of one figure over the rounds.
type spread struct{ med, min, max float64 }

// format gives the median and, when the rounds differ, the range.
func (s spread) format(f func(float64) string) string {
	if f(s.min) == f(s.max) {
		return f(s.med)
	}
	return fmt.Sprintf("%s (%s..%s)", f(s.med), f(s.min), f(s.max))
}

func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{med, s[0], s[len(s)-1]}
}

// table returns the header and rows of the summary: one row per workload
// and server, each figure as "median (min..max)" and, where it applies, its
// median's ratio to the baseline's.
func (r *results) table() (header []string, rows [][]string) {
	header = []string{"workload", "server"}
	for _, f := range figures {
		header = append(header, f.name)
		if f.ratio {
			header = append(header, "×"+r.Meta.Baseline)
		}
	}
	for _, size := range r.Meta.Sizes {
		for _, conns := range r.Meta.Conns {
			w := workload{size, conns}
			meds := map[string][]spread{}
			for _, srv := range r.Meta.Servers {
				for _, f := range figures {
					var v []float64
					for _, run := range r.Runs {
						if run.Server == srv && run.Size == size && run.Conns == conns {
							v = append(v, f.value(run.sample))
						}
					}
					meds[srv] = append(meds[srv], spreadOf(v))
				}
			}
			for _, srv := range r.Meta.Servers {
				row := []string{w.String(), srv}
				for i, f := range figures {
					s := meds[srv][i]
					row = append(row, s.format(f.format))
					if f.ratio {
						base := meds[r.Meta.Baseline][i].med
						if base == 0 {
							row = append(row, "-")
						} else {
							row = append(row, fmt.Sprintf("%.2fx", s.med/base))
						}
					}
				}
				rows = append(rows, row)
			}
		}
	}
	return header, rows
}

// num formats a figure with three or so significant digits, abbreviating
// only rates (k, M): latencies and CPU times stay in whole microseconds.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// rate formats a rate such as messages per second.
func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return num(v)
}

func (r *results) notes() []string {
	m := r.Meta
	return []string{
		fmt.Sprintf("Echo ping-pong on loopback, closed loop, one goroutine per connection in an in-process package net load generator; servers run as separate processes. %d round(s) of %gs after %gs warm-up per server and workload, servers alternating %s each round. Each cell is the median over rounds (min..max); ×%s is the ratio of medians to %s.",
			m.Rounds, m.DurationS, m.WarmupS, strings.Join(m.Servers, " "), m.Baseline, m.Baseline),
		"Server CPU is the server process's user+system time from /proc/PID/stat (10 ms resolution) per echoed message; gen CPU is the load generator's own, and gen cores how many CPUs it kept busy, since generator and server share the machine.",
		fmt.Sprintf("%s, Linux %s, %s (%d CPUs), %s.", m.Date, m.Kernel, m.CPU, m.CPUs, m.GoVersion),
		"Command: " + m.Command,
	}
}

// writeText prints the table for a terminal.
func (r *results) writeText(w io.Writer) error {
	header, rows := r.table()
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i, row := range rows {
		if i > 0 && row[0] != rows[i-1][0] {
			fmt.Fprintln(tw, strings.Repeat("\t", len(row)-1)) // a blank line that keeps the columns aligned
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(buf.String()) {
		fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
	fmt.Fprintln(w)
	for _, n := range r.notes() {
		fmt.Fprintln(w, n)
	}
	return nil
}

// writeMarkdown renders the same table as results.md.
func (r *results) writeMarkdown(w io.Writer) error {
	header, rows := r.table()
	var b strings.Builder
	b.WriteString("# Echo benchmark\n\nWritten by `go run ./bench`; raw per-round figures are in results.json.\n\n")
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n")
	for _, n := range r.notes() {
		b.WriteString(n + "\n\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// writeFiles writes results.json and results.md into dir.
func (r *results) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	if err := r.writeMarkdown(&md); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644)
}
