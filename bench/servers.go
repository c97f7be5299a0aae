package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat; Linux
// fixes it at 100 for user space whatever the kernel's HZ.
const clockTicks = 100

// buildServer compiles bench/echoserver into dir, with extra go build flags,
// and returns the binary.
func buildServer(ctx context.Context, dir string, flags []string) (string, error) {
	bin := filepath.Join(dir, "echoserver")
	args := append(append([]string{"build", "-o", bin}, flags...), "github.com/ourio-go/ourio/bench/echoserver")
	cmd := exec.CommandContext(ctx, "go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build bench/echoserver: %v\n%s", err, out)
	}
	return bin, nil
}

// serverProc is one running echo server process.
type serverProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr bytes.Buffer
}

// startServer runs bin -impl impl on a free loopback port and waits until it
// says where it listens.
func startServer(bin, impl string, bufSize int) (*serverProc, error) {
	s := &serverProc{cmd: exec.Command(bin, "-impl", impl, "-addr", "127.0.0.1:0", "-buf", strconv.Itoa(bufSize))}
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
		return nil, fmt.Errorf("echoserver -impl %s did not start: %q %s", impl, l, strings.TrimSpace(s.stderr.String()))
	case <-time.After(10 * time.Second):
		s.stop()
		return nil, fmt.Errorf("echoserver -impl %s: no address after 10s", impl)
	}
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

// stop kills the server and reaps it.
func (s *serverProc) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// procCPU returns the user plus system time process pid has used so far,
// from /proc/PID/stat (10 ms resolution).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime, fields 14 and 15 of a /proc/PID/stat
// line; the command name (field 2) may hold spaces and parentheses, so
// fields are counted after its last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat line")
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, state
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
