package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The idle family: many connected clients that have each done one round
// trip and then sit idle, and what they cost each echo server in memory.

func init() {
	register(family{name: "idle", run: func(ctx context.Context, env familyEnv) (*section, error) {
		conns := 10000
		if env.quick {
			conns = 2000
		}
		return idlePlan{conns: conns}.run(ctx, env)
	}})
}

const (
	idleMsg     = 16   // bytes of each connection's one round trip
	idleBuf     = 4096 // the servers' -buf, as in the echo table
	idleDialers = 32   // connections being set up at once
	// idleSpareFds is what this process needs beside the connections.
	idleSpareFds = 64
)

// idlePlan is one run of the idle family; impls, when set, replaces the
// echo servers the binary offers.
type idlePlan struct {
	conns int
	impls []string
}

// idleRun is one server's figures in one round.
type idleRun struct {
	Round      int     `json:"round"`
	Server     string  `json:"server"`
	Conns      int     `json:"conns"`
	RSSBefore  int64   `json:"rss_before_kib"`
	RSSAfter   int64   `json:"rss_after_kib"`
	KiBPerConn float64 `json:"kib_per_conn"`
	SetupS     float64 `json:"setup_s"`
}

func (p idlePlan) run(ctx context.Context, env familyEnv) (*section, error) {
	if p.conns <= 0 {
		return nil, fmt.Errorf("idle: %d connections", p.conns)
	}
	if err := raiseNofile(p.conns + idleSpareFds); err != nil {
		return nil, err
	}
	bin, impls, err := echoServers(ctx, env, "idle")
	if err != nil {
		return nil, err
	}
	if p.impls != nil {
		impls = p.impls
	}
	runs, err := alternate(ctx, env, "idle", impls,
		func(round int, impl string) (idleRun, error) {
			r, err := idleOnce(ctx, bin, impl, p.conns)
			r.Round = round
			return r, err
		},
		func(r idleRun) string {
			return fmt.Sprintf("%d conns  RSS %d → %d KiB  %5s KiB/conn", r.Conns, r.RSSBefore, r.RSSAfter, num(r.KiBPerConn))
		})
	if err != nil {
		return nil, err
	}
	sec := idleSection(runs, impls, env, p.conns)
	if env.outDir != "" {
		vals := make([]float64, len(impls))
		for i, impl := range impls {
			vals[i] = spreadOf(idleValues(runs, impl)).med
		}
		const file = "idle-kib.svg"
		if err := groupedBars(filepath.Join(env.outDir, file), fmt.Sprintf("Server memory per idle connection (%d connections)", p.conns), "KiB of RSS per connection",
			impls, []barSeries{{Name: "KiB/conn", Values: vals}}); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		sec.Charts = []string{file}
	}
	return sec, nil
}

// idleOnce starts a fresh server, reads its resident memory, connects
// conns clients that each echo one message, reads it again, and closes
// them all.
func idleOnce(ctx context.Context, bin, impl string, conns int) (idleRun, error) {
	srv, err := startServer(bin, impl, idleBuf)
	if err != nil {
		return idleRun{}, err
	}
	defer srv.stop()
	fail := func(err error) (idleRun, error) {
		err = srv.explain(err)
		return idleRun{}, err
	}
	before, err := vmRSS(srv.pid())
	if err != nil {
		return fail(err)
	}
	t0 := time.Now()
	clients, err := idleConnect(ctx, srv.addr, conns)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	if err != nil {
		return fail(err)
	}
	setup := time.Since(t0)
	// The last echoes have been read, but the server may still be between
	// its write and its next read on them.
	time.Sleep(50 * time.Millisecond)
	after, err := vmRSS(srv.pid())
	if err != nil {
		return fail(err)
	}
	return idleRun{
		Server:     impl,
		Conns:      conns,
		RSSBefore:  before,
		RSSAfter:   after,
		KiBPerConn: float64(after-before) / float64(conns),
		SetupS:     setup.Seconds(),
	}, nil
}

// idleConnect dials n connections to addr, idleDialers at a time, each
// sending one message and reading its echo before the next is dialed, so
// that when it returns the server has answered every one. It returns the
// connections made so far also on error, for the caller to close.
func idleConnect(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+time.Duration(n)*time.Millisecond)
	defer cancel()
	conns := make([]net.Conn, n)
	next := make(chan int)
	errs := make(chan error, idleDialers)
	var wg sync.WaitGroup
	for range idleDialers {
		wg.Go(func() {
			msg, buf := []byte("idle connection\n"), make([]byte, idleMsg)
			var d net.Dialer
			for i := range next {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
				dl, _ := ctx.Deadline()
				c.SetDeadline(dl)
				if _, err := c.Write(msg); err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs <- fmt.Errorf("connection %d: echo: %w", i, err)
					return
				}
				if string(buf) != string(msg) {
					errs <- fmt.Errorf("connection %d: echo %q, sent %q", i, buf, msg)
					return
				}
				c.SetDeadline(time.Time{})
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	var made []net.Conn
	for _, c := range conns {
		if c != nil {
			made = append(made, c)
		}
	}
	return made, err
}

// raiseNofile makes sure this process may hold need descriptors. Go raises
// the soft RLIMIT_NOFILE to the hard one at start, so only a hard limit
// below need is a failure.
func raiseNofile(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= uint64(need) {
		return nil
	}
	if lim.Max < uint64(need) {
		return fmt.Errorf("idle needs %d file descriptors but RLIMIT_NOFILE's hard limit is %d: raise it (ulimit -Hn, or LimitNOFILE for a service) or ask for fewer connections", need, lim.Max)
	}
	lim.Cur = uint64(need)
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// vmRSS returns process pid's resident set size in KiB, from the VmRSS
// line of /proc/PID/status.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", sc.Text())
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS line in /proc status")
}

func idleValues(runs []idleRun, impl string) []float64 {
	var v []float64
	for _, r := range runs {
		if r.Server == impl {
			v = append(v, r.KiBPerConn)
		}
	}
	return v
}

func idleSection(runs []idleRun, impls []string, env familyEnv, conns int) *section {
	base := impls[0]
	sec := &section{
		Name:    "idle",
		Title:   fmt.Sprintf("Idle connections: server memory for %d connected clients", conns),
		Columns: []string{"workload", "server", "KiB/conn", "×" + base, "RSS before KiB", "RSS after KiB"},
		Raw:     runs,
	}
	b := spreadOf(idleValues(runs, base))
	w := fmt.Sprintf("%d idle conns", conns)
	for _, impl := range impls {
		k := spreadOf(idleValues(runs, impl))
		var before, after []float64
		for _, r := range runs {
			if r.Server == impl {
				before, after = append(before, float64(r.RSSBefore)), append(after, float64(r.RSSAfter))
			}
		}
		sec.Rows = append(sec.Rows, []string{w, impl, k.format(num), ratioCell(k.med, b.med),
			spreadOf(before).format(kib), spreadOf(after).format(kib)})
	}
	sec.Notes = []string{
		fmt.Sprintf("%d loopback connections to bench/echoserver (-buf %d, a fresh process per run), dialed %d at a time; each sends one %d-byte message and reads its echo, so the server has reached its read on every connection, and then stays open and idle. KiB/conn is the growth of the server's VmRSS (/proc/PID/status) from just after it started listening to 50 ms after the last echo, divided by the connections. %d round(s), servers alternating %s each round; median (min..max), ×%s the ratio of medians.",
			conns, idleBuf, idleDialers, idleMsg, env.rounds, strings.Join(impls, " "), base),
		"RSS counts pages touched, not memory reserved: a buffer allocated but never written, or memory the Go runtime has not yet returned, shows only in part.",
	}
	return sec
}

func kib(v float64) string { return strconv.FormatInt(int64(v), 10) }
