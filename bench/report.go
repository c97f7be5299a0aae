package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// results is everything one invocation measured; it is written out as
// results.json.
type results struct {
	Meta     meta          `json:"meta"`
	Runs     []runRecord   `json:"runs"`               // the echo runs
	Targets  []targetCheck `json:"targets"`            // the echo targets, from the medians
	Charts   []string      `json:"charts"`             // the echo charts, file names in the output directory
	Sections []*section    `json:"sections"`           // one per family, in the order run
	Failures []failure     `json:"failures,omitempty"` // workloads that could not finish
}

type meta struct {
	Date        string   `json:"date"`
	Command     string   `json:"command"`
	GoVersion   string   `json:"go_version"`
	Kernel      string   `json:"kernel"`
	CPU         string   `json:"cpu"`
	CPUs        int      `json:"cpus"`
	Workloads   []string `json:"workloads"`
	Servers     []string `json:"servers"`
	Baseline    string   `json:"baseline"`
	Sizes       []int    `json:"sizes"`
	Conns       []int    `json:"conns"`
	Rounds      int      `json:"rounds"`
	WarmupS     float64  `json:"warmup_s"`
	DurationS   float64  `json:"duration_s"`
	ServerBufB  int      `json:"server_buf_bytes"`
	Pinned      bool     `json:"pinned"`
	SyscallTool string   `json:"syscall_tool"`
	Generator   string   `json:"generator"` // the -gen value
}

// failure is a workload that stopped with an error.
type failure struct {
	Workload string `json:"workload"`
	Error    string `json:"error"`
}

func (r *results) fail(workload string, err error) {
	r.Failures = append(r.Failures, failure{workload, err.Error()})
}

func (r *results) failed(workload string) *failure {
	for i := range r.Failures {
		if r.Failures[i].Workload == workload {
			return &r.Failures[i]
		}
	}
	return nil
}

// runRecord is one server's figures for one workload in one round.
type runRecord struct {
	Round  int    `json:"round"`
	Server string `json:"server"`
	Size   int    `json:"size"`
	Conns  int    `json:"conns"`
	Error  string `json:"error,omitempty"` // the run failed; its figures are zero
	sample
}

type workload struct{ size, conns int }

func (w workload) String() string { return msgSizeName(w.size) + " × " + connsName(w.conns) }

func connsName(n int) string {
	if n == 1 {
		return "1 conn"
	}
	return fmt.Sprintf("%d conns", n)
}

func msgSizeName(size int) string {
	if size >= 1024 && size%1024 == 0 {
		return fmt.Sprintf("%d KiB", size/1024)
	}
	return fmt.Sprintf("%d B", size)
}

func (r *results) workloads() []workload {
	var ws []workload
	for _, size := range r.Meta.Sizes {
		for _, conns := range r.Meta.Conns {
			ws = append(ws, workload{size, conns})
		}
	}
	return ws
}

// figure is one column of the echo table.
type figure struct {
	name   string
	value  func(sample) (float64, bool)
	format func(float64) string
	ratio  bool // also given as a ratio to the baseline
}

func always(f func(sample) float64) func(sample) (float64, bool) {
	return func(s sample) (float64, bool) { return f(s), true }
}

// The figures the table summarises, in column order.
var figures = []figure{
	figMsgs,
	{"p50 µs", always(func(s sample) float64 { return s.P50us }), num, true},
	figP99,
	figCPU,
	{"server cs/msg", always(func(s sample) float64 { return s.ServerCS }), num, false},
	{"syscalls/msg", func(s sample) (float64, bool) {
		if s.Syscalls == nil {
			return 0, false
		}
		return *s.Syscalls, true
	}, num, false},
	{"gen CPU µs/msg", always(func(s sample) float64 { return s.GenCPU }), num, false},
	figGenCores,
}

// The figures the targets and charts are about.
var (
	figMsgs = figure{"msgs/s", always(func(s sample) float64 { return s.MsgsPerSec }), rate, true}
	figP99  = figure{"p99 µs", always(func(s sample) float64 { return s.P99us }), num, true}
	figCPU  = figure{"server CPU µs/msg", always(func(s sample) float64 { return s.ServerCPU }), num, true}

	figGenCores = figure{"gen cores", always(func(s sample) float64 { return s.GenCPU * s.MsgsPerSec / 1e6 }), num, false}
)

// spread is the median and range of one figure over the rounds; n is how
// many rounds had it.
type spread struct {
	med, min, max float64
	n             int
}

// format gives the median and, when the rounds differ, the range; n/a
// when no round has the figure.
func (s spread) format(f func(float64) string) string {
	if s.n == 0 {
		return "n/a"
	}
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
	return spread{med, s[0], s[len(s)-1], len(s)}
}

// spread gathers one figure of one server and workload over the rounds.
func (r *results) spread(srv string, w workload, f figure) spread {
	var v []float64
	for _, run := range r.Runs {
		if run.Server == srv && run.Size == w.size && run.Conns == w.conns && run.Error == "" {
			if x, ok := f.value(run.sample); ok {
				v = append(v, x)
			}
		}
	}
	return spreadOf(v)
}

// ratio is the ratio of srv's median to versus', and false when either
// has no figure or versus' is zero.
func (r *results) ratio(srv, versus string, w workload, f figure) (float64, bool) {
	a, b := r.spread(srv, w, f), r.spread(versus, w, f)
	if a.n == 0 || b.n == 0 || b.med == 0 {
		return 0, false
	}
	return a.med / b.med, true
}

// table returns the header and rows of the echo summary: one row per
// workload and server, each figure as "median (min..max)" and, where it
// applies, its median's ratio to the baseline's.
func (r *results) table() (header []string, rows [][]string) {
	header = []string{"workload", "server"}
	for _, f := range figures {
		header = append(header, f.name)
		if f.ratio {
			header = append(header, "×"+r.Meta.Baseline)
		}
	}
	for _, w := range r.workloads() {
		for _, srv := range r.Meta.Servers {
			row := []string{w.String(), srv}
			for _, f := range figures {
				row = append(row, r.spread(srv, w, f).format(f.format))
				if f.ratio {
					if q, ok := r.ratio(srv, r.Meta.Baseline, w, f); ok {
						row = append(row, fmt.Sprintf("%.2fx", q))
					} else {
						row = append(row, "-")
					}
				}
			}
			rows = append(rows, row)
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

// failedRuns describes the echo runs that failed, one line each.
func (r *results) failedRuns() []string {
	var out []string
	for _, run := range r.Runs {
		if run.Error != "" {
			out = append(out, fmt.Sprintf("Failed: round %d, %s, %s: %s", run.Round, workload{run.Size, run.Conns}, run.Server, run.Error))
		}
	}
	return out
}

// genDescription names the load generator in the notes.
func genDescription(gen string) string {
	switch gen {
	case "net":
		return "in-process load generator -gen net: package net, one goroutine per connection"
	case "ring":
		return "in-process load generator -gen ring: every connection on one of Ourio's rings (core.Ring, single issuer) on one locked OS thread"
	}
	return "load generator " + gen
}

// genNote says how busy the load generator was at each connection count,
// the range of its median CPUs kept busy over servers and sizes, beside
// the CPUs the machine has.
func (r *results) genNote() string {
	var parts []string
	for _, conns := range r.Meta.Conns {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, size := range r.Meta.Sizes {
			for _, srv := range r.Meta.Servers {
				if s := r.spread(srv, workload{size, conns}, figGenCores); s.n > 0 {
					lo, hi = min(lo, s.med), max(hi, s.med)
				}
			}
		}
		if lo <= hi {
			parts = append(parts, fmt.Sprintf("%s %s..%s", connsName(conns), num(lo), num(hi)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("How busy the generator was (gen cores, medians over servers and sizes, of %d CPUs): %s.", r.Meta.CPUs, strings.Join(parts, "; "))
}

func (r *results) notes() []string {
	m := r.Meta
	pin := "Server and generator are not pinned (-pin puts the server on CPU 1 and the generator on CPU 0; it is off by default because with 2 CPUs a server with a ring per CPU, and gnet's loop per CPU, need both), so they compete for the same CPUs."
	if m.Pinned {
		pin = "Pinned (-pin): the server process on CPU 1 (taskset), the generator on CPU 0 (sched_setaffinity); a server with a ring or loop per CPU gets only one CPU this way."
	}
	notes := []string{
		fmt.Sprintf("Echo ping-pong on loopback, closed loop, %s; servers run as separate processes. %d round(s) of %gs after %gs warm-up per server and workload, servers alternating %s each round. Each cell is the median over rounds (min..max); ×%s is the ratio of medians to %s.",
			genDescription(m.Generator), m.Rounds, m.DurationS, m.WarmupS, strings.Join(m.Servers, " "), m.Baseline, m.Baseline),
		"Server CPU is the time on CPU of all the server's threads, summed from /proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat would count 10 ms ticks), per echoed message; server cs/msg is their voluntary and involuntary context switches (/proc/PID/task/*/status) per message, the cost of waking up. Gen CPU is the load generator's own CPU per message (getrusage), and gen cores how many CPUs it kept busy: generator and server share the machine, so where gen cores nears the CPUs left to it, the generator limits the rate.",
		r.genNote(),
		"Syscalls per message: " + syscallNote(m.SyscallTool),
		pin,
		fmt.Sprintf("%s, Linux %s, %s (%d CPUs), %s.", m.Date, m.Kernel, m.CPU, m.CPUs, m.GoVersion),
		"Command: " + m.Command,
	}
	return slices.DeleteFunc(notes, func(n string) bool { return n == "" })
}

func syscallNote(tool string) string {
	if strings.HasPrefix(tool, "n/a") || strings.HasPrefix(tool, "not counted") {
		return tool + "."
	}
	return "counted with " + tool + " on the server process (all threads) for a quarter of the measured time (at least 50 ms) right after the measured window of round 1, while the clients keep going; the count's rate over the clients' message rate. One count per server and workload, so the column has no range."
}

// writeTable prints a header and rows aligned for a terminal, with a blank
// line between rows whose first cell differs.
func writeTable(w io.Writer, header []string, rows [][]string) error {
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
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	return nil
}

// markdownTable renders a header and rows as a Markdown table.
func markdownTable(b *strings.Builder, header []string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// writeText prints the echo table, its targets and notes, then each
// section, for a terminal.
func (r *results) writeText(w io.Writer) error {
	var b strings.Builder
	if slices.Contains(r.Meta.Workloads, "echo") {
		b.WriteString("== Echo ==\n\n")
		if f := r.failed("echo"); f != nil {
			b.WriteString("failed: " + f.Error + "\n\n")
		} else {
			header, rows := r.table()
			if err := writeTable(&b, header, rows); err != nil {
				return err
			}
			if fails := r.failedRuns(); len(fails) > 0 {
				b.WriteString("\n" + strings.Join(fails, "\n") + "\n")
			}
			b.WriteString("\nTargets:\n")
			for _, t := range r.targetLines() {
				b.WriteString("  " + t + "\n")
			}
			b.WriteString("\n")
			for _, n := range r.notes() {
				b.WriteString(n + "\n")
			}
			if len(r.Charts) > 0 {
				b.WriteString("Charts: " + strings.Join(r.Charts, ", ") + "\n")
			}
			b.WriteString("\n")
		}
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "== %s ==\n\n", s.Title)
		if err := writeTable(&b, s.Columns, s.Rows); err != nil {
			return err
		}
		b.WriteString("\n")
		for _, n := range s.Notes {
			b.WriteString(n + "\n")
		}
		if len(s.Charts) > 0 {
			b.WriteString("Charts: " + strings.Join(s.Charts, ", ") + "\n")
		}
		b.WriteString("\n")
	}
	for _, f := range r.Failures {
		if f.Workload != "echo" {
			fmt.Fprintf(&b, "== %s ==\n\nfailed: %s\n\n", f.Workload, f.Error)
		}
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// chartEmbed is a Markdown image of a chart, its file name as the alt text.
func chartEmbed(file string) string {
	return fmt.Sprintf("![%s](%s)\n\n", strings.TrimSuffix(file, filepath.Ext(file)), file)
}

// writeMarkdown renders the same as results.md.
func (r *results) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\nWritten by `go run -C bench .`; raw per-round figures are in results.json.\n\n")
	if slices.Contains(r.Meta.Workloads, "echo") {
		b.WriteString("## Echo\n\n")
		if f := r.failed("echo"); f != nil {
			b.WriteString("Failed: " + f.Error + "\n\n")
		} else {
			header, rows := r.table()
			markdownTable(&b, header, rows)
			for _, f := range r.failedRuns() {
				b.WriteString(f + "\n\n")
			}
			b.WriteString("### Targets\n\n")
			for _, t := range r.targetLines() {
				b.WriteString("- " + t + "\n")
			}
			b.WriteString("\n")
			for _, n := range r.notes() {
				b.WriteString(n + "\n\n")
			}
			for _, c := range r.Charts {
				b.WriteString(chartEmbed(c))
			}
		}
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Title)
		markdownTable(&b, s.Columns, s.Rows)
		for _, n := range s.Notes {
			b.WriteString(n + "\n\n")
		}
		for _, c := range s.Charts {
			b.WriteString(chartEmbed(c))
		}
	}
	for _, f := range r.Failures {
		if f.Workload != "echo" {
			fmt.Fprintf(&b, "## %s\n\nFailed: %s\n\n", f.Workload, f.Error)
		}
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// writeFiles writes results.json and results.md into dir.
func (r *results) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.Targets = r.targets()
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

// targetSpec is one of the echo targets the issue sets: server's median of
// fig as a ratio to versus' median, at most (or, for atLeast, at least)
// limit; strict makes "at most" "below".
type targetSpec struct {
	server, versus string
	fig            figure
	limit          float64
	atLeast        bool
	strict         bool
}

func (t targetSpec) String() string {
	op := "≤"
	switch {
	case t.atLeast:
		op = "≥"
	case t.strict:
		op = "<"
	}
	return fmt.Sprintf("%s %s %s %.2fx %s", t.server, t.fig.name, op, t.limit, t.versus)
}

func (t targetSpec) pass(ratio float64) bool {
	switch {
	case t.atLeast:
		return ratio >= t.limit
	case t.strict:
		return ratio < t.limit
	}
	return ratio <= t.limit
}

// targetSpecs: the raw callback API (one ring and a ring per CPU) at most
// 0.70x package net's CPU per message and below gnet's and netpoll's;
// uringnet at least package net's throughput, at most its CPU and p99.
var targetSpecs = []targetSpec{
	{server: "callback", versus: "net", fig: figCPU, limit: 0.70},
	{server: "callback-rings", versus: "net", fig: figCPU, limit: 0.70},
	{server: "callback", versus: "gnet", fig: figCPU, limit: 1, strict: true},
	{server: "callback", versus: "netpoll", fig: figCPU, limit: 1, strict: true},
	{server: "callback-rings", versus: "gnet", fig: figCPU, limit: 1, strict: true},
	{server: "callback-rings", versus: "netpoll", fig: figCPU, limit: 1, strict: true},
	// The epoll backend: no more CPU per message than gnet, the best epoll
	// event loop in Go, and at least its throughput.
	{server: "callback-epoll", versus: "gnet", fig: figCPU, limit: 1},
	{server: "callback-epoll", versus: "gnet", fig: figMsgs, limit: 1, atLeast: true},
	{server: "callback-epoll-rings", versus: "gnet", fig: figCPU, limit: 1},
	{server: "callback-epoll-rings", versus: "gnet", fig: figMsgs, limit: 1, atLeast: true},
	{server: "uringnet", versus: "net", fig: figMsgs, limit: 1, atLeast: true},
	{server: "uringnet", versus: "net", fig: figCPU, limit: 1},
	{server: "uringnet", versus: "net", fig: figP99, limit: 1},
}

// targetCheck is one target in one workload.
type targetCheck struct {
	Target   string  `json:"target"`
	Workload string  `json:"workload"`
	Ratio    float64 `json:"ratio"`
	Pass     bool    `json:"pass"`
}

// targets checks every target whose two servers ran, in every workload
// where both have the figure.
func (r *results) targets() []targetCheck {
	var out []targetCheck
	for _, t := range targetSpecs {
		if !slices.Contains(r.Meta.Servers, t.server) || !slices.Contains(r.Meta.Servers, t.versus) {
			continue
		}
		for _, w := range r.workloads() {
			if q, ok := r.ratio(t.server, t.versus, w, t.fig); ok {
				out = append(out, targetCheck{Target: t.String(), Workload: w.String(), Ratio: q, Pass: t.pass(q)})
			}
		}
	}
	return out
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FALL SHORT"
}

// targetLines gives one line per target: PASS when every workload passes,
// else how many fall short, then each workload's ratio and verdict.
func (r *results) targetLines() []string {
	checks := r.targets()
	if len(checks) == 0 {
		return []string{"none apply: the targets compare callback, callback-rings and uringnet with net, gnet and netpoll"}
	}
	var lines []string
	for i := 0; i < len(checks); {
		j := i
		var parts []string
		short := 0
		for ; j < len(checks) && checks[j].Target == checks[i].Target; j++ {
			parts = append(parts, fmt.Sprintf("%s %.2fx %s", checks[j].Workload, checks[j].Ratio, verdict(checks[j].Pass)))
			if !checks[j].Pass {
				short++
			}
		}
		head := "PASS"
		if short > 0 {
			head = fmt.Sprintf("FALL SHORT in %d of %d", short, j-i)
		}
		lines = append(lines, fmt.Sprintf("%s: %s — %s", head, checks[i].Target, strings.Join(parts, "; ")))
		i = j
	}
	return lines
}
