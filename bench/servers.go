package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// buildCommand compiles bench/NAME (echoserver, httpserver, h3server)
// into dir, with extra go build flags, and returns the binary.
func buildCommand(ctx context.Context, dir, name string, flags []string) (string, error) {
	bin := filepath.Join(dir, name)
	args := append(append([]string{"build", "-o", bin}, flags...), "github.com/ourio-go/ourio/bench/"+name)
	cmd := exec.CommandContext(ctx, "go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build bench/%s: %v\n%s", name, err, out)
	}
	return bin, nil
}

// familyCommand builds bench/NAME for a family's runs, into a directory of
// its own under env.tmp.
func familyCommand(ctx context.Context, env familyEnv, family, name string) (string, error) {
	dir, err := os.MkdirTemp(env.tmp, family+"-")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(env.progress, "building bench/%s\n", name)
	return buildCommand(ctx, dir, name, nil)
}

// serverProc is one running echo server process.
type serverProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr lockedBuffer
}

// lockedBuffer collects a server's stderr: os/exec's goroutine writes it
// while the server runs, and explain may read it then.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs bin -impl impl on a free loopback port and waits until it
// says where it listens.
func startServer(bin, impl string, bufSize int) (*serverProc, error) {
	return startServerPinned(bin, impl, bufSize, false)
}

// startServerPinned is startServer, and with pin runs the server under
// taskset on CPU 1, so that every thread it starts stays there.
func startServerPinned(bin, impl string, bufSize int, pin bool) (*serverProc, error) {
	args := []string{bin, "-impl", impl, "-addr", "127.0.0.1:0", "-buf", strconv.Itoa(bufSize)}
	if pin {
		args = append([]string{"taskset", "-c", "1"}, args...)
	}
	return startProc("echoserver -impl "+impl, args)
}

// explain adds what the server wrote to its stderr, if anything, to err,
// which a run that failed against it returned.
func (s *serverProc) explain(err error) error {
	if msg := strings.TrimSpace(s.stderr.String()); msg != "" {
		return fmt.Errorf("%w (server: %s)", err, msg)
	}
	return err
}

// startProc runs a server command whose first line on stdout is "listening
// on ADDR", and waits for that line; name says which server in errors.
func startProc(name string, args []string) (*serverProc, error) {
	s := &serverProc{cmd: exec.Command(args[0], args[1:]...)}
	s.cmd.Stderr = &s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
		io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		if addr, ok := strings.CutPrefix(strings.TrimSpace(l), "listening on "); ok {
			s.addr = addr
			return s, nil
		}
		s.stop()
		return nil, fmt.Errorf("%s did not start: %q %s", name, l, strings.TrimSpace(s.stderr.String()))
	case <-time.After(10 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s: no address after 10s", name)
	}
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

// stop kills the server and reaps it.
func (s *serverProc) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// procUsage is what a process's threads have used so far: time on a CPU
// and context switches, voluntary and not.
type procUsage struct {
	cpu      time.Duration
	switches int64
}

// readProcUsage sums /proc/PID/task/*/schedstat (the first field is
// nanoseconds on a CPU, exact where /proc/PID/stat counts 10 ms ticks) and
// the context switch counts in /proc/PID/task/*/status over every thread
// pid has now. A thread that ended takes its figures with it; the servers
// keep theirs for the whole run.
func readProcUsage(pid int) (procUsage, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return procUsage{}, err
	}
	var u procUsage
	for _, t := range tasks {
		sched, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread ended since the directory was read
		}
		if err != nil {
			return procUsage{}, err
		}
		status, err := os.ReadFile(filepath.Join(dir, t.Name(), "status"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return procUsage{}, err
		}
		cpu, err := parseTaskSchedstat(sched)
		if err != nil {
			return procUsage{}, err
		}
		cs, err := parseSwitches(status)
		if err != nil {
			return procUsage{}, err
		}
		u.cpu += cpu
		u.switches += cs
	}
	return u, nil
}

// parseTaskSchedstat reads the time on CPU, the first of the three fields of
// a schedstat line ("run_ns wait_ns timeslices").
func parseTaskSchedstat(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 0, fmt.Errorf("schedstat: want 3 fields, got %q", b)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat: %w", err)
	}
	return time.Duration(ns), nil
}

// parseSwitches adds voluntary_ctxt_switches and nonvoluntary_ctxt_switches
// from a /proc status file; both must be there.
func parseSwitches(b []byte) (int64, error) {
	var sum int64
	found := 0
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "voluntary_ctxt_switches" && k != "nonvoluntary_ctxt_switches") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status %s: %w", k, err)
		}
		sum += n
		found++
	}
	if found != 2 {
		return 0, errors.New("status: no context switch counts")
	}
	return sum, nil
}
