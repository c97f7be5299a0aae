package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ourio-go/ourio/bench/internal/pattern"
)

// The bulk family: one connection streams a large payload through each
// echo server, written and read back at once by this process.

func init() {
	register(family{name: "bulk", run: func(ctx context.Context, env familyEnv) (*section, error) {
		total := int64(1 << 30)
		if env.quick {
			total = 128 << 20
		}
		return bulkPlan{total: total}.run(ctx, env)
	}})
}

const (
	bulkChunk = 64 << 10 // the generator's writes and reads, and the server's -buf
	// bulkPeriod is the length of the repeating pattern the stream carries,
	// longer than a chunk and not a multiple of it.
	bulkPeriod = pattern.Period
)

// bulkPlan is one run of the bulk family; impls, when set, replaces the
// echo servers the binary offers.
type bulkPlan struct {
	total int64 // measured payload bytes per run
	impls []string
}

// bulkRun is one server's figures in one round.
type bulkRun struct {
	Round      int     `json:"round"`
	Server     string  `json:"server"`
	Bytes      int64   `json:"bytes"` // payload measured, one direction
	Seconds    float64 `json:"seconds"`
	GBps       float64 `json:"gb_per_s"`
	ServerCPUs float64 `json:"server_cpu_s_per_gb"`
}

func (p bulkPlan) run(ctx context.Context, env familyEnv) (*section, error) {
	bin, impls, err := echoServers(ctx, env, "bulk")
	if err != nil {
		return nil, err
	}
	if p.impls != nil {
		impls = p.impls
	}
	warm := p.total / 32
	runs, err := alternate(ctx, env, "bulk", impls,
		func(round int, impl string) (bulkRun, error) {
			r, err := bulkOnce(bin, impl, warm, p.total)
			r.Round = round
			return r, err
		},
		func(r bulkRun) string {
			return fmt.Sprintf("%6s GB/s  server %5s s/GB", num(r.GBps), num(r.ServerCPUs))
		})
	if err != nil {
		return nil, err
	}
	sec := bulkSection(runs, impls, env, warm, p.total)
	if env.outDir != "" {
		vals := make([]float64, len(impls))
		for i, impl := range impls {
			vals[i] = spreadOf(bulkValues(runs, impl, func(r bulkRun) float64 { return r.GBps })).med
		}
		const file = "bulk-gbps.svg"
		if err := groupedBars(filepath.Join(env.outDir, file), "Bulk stream through the echo servers", "GB/s (payload, one direction)",
			impls, []barSeries{{Name: "GB/s", Values: vals}}); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		sec.Charts = []string{file}
	}
	return sec, nil
}

// bulkOnce streams warm+total bytes through a fresh server impl over one
// connection and measures the last total of them.
func bulkOnce(bin, impl string, warm, total int64) (bulkRun, error) {
	srv, err := startServer(bin, impl, bulkChunk)
	if err != nil {
		return bulkRun{}, err
	}
	defer srv.stop()
	r, err := bulkStream(srv.addr, srv.pid(), warm, total)
	if err != nil {
		err = srv.explain(err)
		return bulkRun{}, err
	}
	r.Server = impl
	return r, nil
}

// bulkStream writes warm+total bytes of the pattern to addr from one
// goroutine while reading the echo back in another, checking every byte
// against the pattern (a memcmp, cheap beside the copy through the
// kernel). The measured window opens when warm bytes have come back and
// closes at the last byte; the server's CPU time is read at both ends.
func bulkStream(addr string, pid int, warm, total int64) (bulkRun, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return bulkRun{}, err
	}
	// At worse than 16 MiB/s something is wrong; give up rather than hang.
	conn.SetDeadline(time.Now().Add(30*time.Second + time.Duration(warm+total)*time.Second/(16<<20)))
	pat := pattern.Bytes()
	all := warm + total

	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		for off := int64(0); off < all; {
			n := min(int64(bulkChunk), all-off)
			i := off % bulkPeriod
			if _, err := conn.Write(pat[i : i+n]); err != nil {
				werr = fmt.Errorf("write after %d of %d bytes: %w", off, all, err)
				conn.Close() // unblock the reader
				return
			}
			off += n
		}
	})
	// Closing first unblocks a writer the server stopped reading from.
	defer func() { conn.Close(); wg.Wait() }()

	buf := make([]byte, bulkChunk)
	var got, got0 int64
	var t0 time.Time
	var cpu0 time.Duration
	for got < all {
		n, err := conn.Read(buf)
		if n > 0 {
			if i := got % bulkPeriod; !bytes.Equal(buf[:n], pat[i:i+int64(n)]) {
				return bulkRun{}, fmt.Errorf("echo differs from what was sent at byte %d", got+firstDiff(buf[:n], pat[i:]))
			}
			got += int64(n)
			if t0.IsZero() && got >= warm {
				if cpu0, err = serverCPU(pid); err != nil {
					return bulkRun{}, err
				}
				t0, got0 = time.Now(), got
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) { // the writer failed and closed it
				wg.Wait()
				return bulkRun{}, werr
			}
			if errors.Is(err, io.EOF) {
				return bulkRun{}, fmt.Errorf("server closed the connection after echoing %d of %d bytes", got, all)
			}
			return bulkRun{}, fmt.Errorf("read after %d of %d bytes: %w", got, all, err)
		}
	}
	elapsed := time.Since(t0)
	cpu1, err := serverCPU(pid)
	if err != nil {
		return bulkRun{}, err
	}
	measured := got - got0
	if measured <= 0 || elapsed <= 0 {
		return bulkRun{}, errors.New("nothing measured: the warm-up took the whole stream")
	}
	gb := float64(measured) / 1e9
	return bulkRun{
		Bytes:      measured,
		Seconds:    elapsed.Seconds(),
		GBps:       gb / elapsed.Seconds(),
		ServerCPUs: (cpu1 - cpu0).Seconds() / gb,
	}, nil
}

func firstDiff(a, b []byte) int64 {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return int64(i)
		}
	}
	return int64(len(a))
}

func bulkValues(runs []bulkRun, impl string, f func(bulkRun) float64) []float64 {
	var v []float64
	for _, r := range runs {
		if r.Server == impl {
			v = append(v, f(r))
		}
	}
	return v
}

func bulkSection(runs []bulkRun, impls []string, env familyEnv, warm, total int64) *section {
	base := impls[0]
	sec := &section{
		Name:    "bulk",
		Title:   "Bulk stream through the echo servers",
		Columns: []string{"workload", "server", "GB/s", "×" + base, "server CPU s/GB", "×" + base},
		Raw:     runs,
	}
	gbps := func(r bulkRun) float64 { return r.GBps }
	cpu := func(r bulkRun) float64 { return r.ServerCPUs }
	bg, bc := spreadOf(bulkValues(runs, base, gbps)), spreadOf(bulkValues(runs, base, cpu))
	w := sizeName(total) + " × 1 conn"
	for _, impl := range impls {
		g, c := spreadOf(bulkValues(runs, impl, gbps)), spreadOf(bulkValues(runs, impl, cpu))
		sec.Rows = append(sec.Rows, []string{w, impl, g.format(num), ratioCell(g.med, bg.med), c.format(num), ratioCell(c.med, bc.med)})
	}
	sec.Notes = []string{
		fmt.Sprintf("One loopback connection per run through bench/echoserver (-buf %d, a fresh process per run), written in %d KiB chunks by one goroutine and read back by another in this process, every byte compared with the pseudo-random pattern sent. The first %s warm up; the next %s are measured. GB/s is payload bytes (10^9) one direction per second. %d round(s), servers alternating %s each round; median (min..max), ×%s the ratio of medians.",
			bulkChunk, bulkChunk>>10, sizeName(warm), sizeName(total), env.rounds, strings.Join(impls, " "), base),
		"Server CPU is the on-CPU time of the server's threads (/proc/PID/task/*/schedstat) over the measured window, in seconds per GB echoed.",
	}
	return sec
}

// sizeName writes a byte count in MiB or GiB.
func sizeName(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%g MiB", float64(n)/(1<<20))
}

// echoServers builds bench/echoserver into a directory of its own under
// env.tmp and returns it with the servers it offers (echoImpls, package
// net first).
func echoServers(ctx context.Context, env familyEnv, family string) (string, []string, error) {
	bin, err := familyCommand(ctx, env, family, "echoserver")
	if err != nil {
		return "", nil, err
	}
	return bin, slices.Clone(echoImpls), nil
}
