//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// server is one "soak serve" process and what the parent knows of it.
type server struct {
	cmd  *exec.Cmd
	addr string
	pid  int

	// last is the latest counters line read from descriptor 3; written by
	// the reader goroutine only, read by anyone.
	last atomic.Pointer[statsLine]

	// exited is closed when the process has exited; waitErr is set before.
	exited  chan struct{}
	waitErr error
	// stopping is set before the parent signals the process to stop, so
	// an exit before it is the server dying.
	stopping atomic.Bool

	// stderr holds the process's stderr lines; mu guards it.
	mu     sync.Mutex
	stderr []string
}

// startServer starts self as "soak serve" with the transport and the
// descriptor limit (0: unchanged), and waits for it to listen.
func startServer(self, transport string, nofile int, cpuprofile string) (*server, error) {
	args := []string{"serve", "-transport", transport}
	if nofile > 0 {
		args = append(args, "-nofile", strconv.Itoa(nofile))
	}
	if cpuprofile != "" {
		args = append(args, "-cpuprofile", cpuprofile)
	}
	cmd := exec.Command(self, args...)
	statsR, statsW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{statsW}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		statsR.Close()
		statsW.Close()
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		statsR.Close()
		statsW.Close()
		return nil, err
	}
	// The server dies with the parent rather than outliving it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		statsR.Close()
		statsW.Close()
		return nil, err
	}
	statsW.Close()
	s := &server{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		defer statsR.Close()
		sc := bufio.NewScanner(statsR)
		for sc.Scan() {
			if l, ok := parseStatsLine(sc.Bytes()); ok {
				s.last.Store(&l)
			}
		}
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			if len(s.stderr) < 100 {
				s.stderr = append(s.stderr, sc.Text())
			}
			s.mu.Unlock()
		}
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	go func() {
		readers.Wait() // Wait closes the pipes; read them to their end first
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	select {
	case a, ok := <-addr:
		if ok {
			s.addr = a
			for s.last.Load() == nil {
				select {
				case <-s.exited:
					return nil, s.deathError()
				case <-time.After(10 * time.Millisecond):
				}
			}
			return s, nil
		}
		<-s.exited
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-s.exited
	}
	return nil, s.deathError()
}

// deathError describes how the process ended, with its stderr.
func (s *server) deathError() error {
	return fmt.Errorf("server exited (%v): %s", s.waitErr, strings.Join(s.stderrLines(), " | "))
}

// alive reports whether the server is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *server) stderrLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stderr...)
}

// stop ends the server with SIGTERM (so a CPU profile is written), then
// SIGKILL if it has not exited within 10s.
func (s *server) stop() {
	s.stopping.Store(true)
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// sample is one reading of the server's resources.
type sample struct {
	fds, threads int
	rss          int64 // bytes
	statsLine          // from the server's own report
}

// sample reads /proc/PID for descriptors, threads and RSS, and takes the
// latest counters the server reported.
func (s *server) sample() (sample, error) {
	var r sample
	if l := s.last.Load(); l != nil {
		r.statsLine = *l
	}
	dir := filepath.Join("/proc", strconv.Itoa(s.pid))
	f, err := os.Open(filepath.Join(dir, "fd"))
	if err != nil {
		return r, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return r, err
	}
	r.fds = len(names)
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return r, err
	}
	for line := range bytes.Lines(status) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		fields := bytes.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(string(fields[0]), 10, 64)
		switch string(k) {
		case "Threads":
			r.threads = int(n)
		case "VmRSS":
			r.rss = n << 10 // kB
		}
	}
	if r.threads == 0 {
		return r, errors.New("no Threads line in " + filepath.Join(dir, "status"))
	}
	return r, nil
}
