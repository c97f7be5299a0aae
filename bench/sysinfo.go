package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// kernelRelease returns uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// cpuModel returns the first "model name" in /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// pinSelf binds every thread of this process to cpu; threads the runtime
// starts later inherit it from the thread that creates them.
// sched_setaffinity applies to one thread, hence the walk over
// /proc/self/task.
func pinSelf(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("sched_setaffinity(%d, CPU %d): %w", tid, cpu, err)
		}
	}
	return nil
}

// syscallCounter counts the syscalls process pid makes, all threads
// together, over window.
type syscallCounter interface {
	count(pid int, window time.Duration) (uint64, error)
}

// perfCounter counts the raw_syscalls:sys_enter tracepoint with perf stat:
// an in-kernel counter, so the server runs at about its normal speed.
type perfCounter struct{ path string }

func (p perfCounter) count(pid int, window time.Duration) (uint64, error) {
	cmd := exec.Command(p.path, "stat", "-e", "raw_syscalls:sys_enter", "-x", ",", "-p", strconv.Itoa(pid),
		"--", "sleep", strconv.FormatFloat(window.Seconds(), 'f', 3, 64))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("perf stat: %v: %s", err, bytes.TrimSpace(out))
	}
	return parsePerfStat(out)
}

// parsePerfStat reads the count from perf stat -x, output
// ("12345,,raw_syscalls:sys_enter,..."); "<not counted>" means the process
// ran no syscall while counted.
func parsePerfStat(out []byte) (uint64, error) {
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 || f[2] != "raw_syscalls:sys_enter" {
			continue
		}
		if f[0] == "<not counted>" {
			return 0, nil
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("perf stat: count %q", f[0])
		}
		return n, nil
	}
	return 0, fmt.Errorf("perf stat: no raw_syscalls:sys_enter line in %q", bytes.TrimSpace(out))
}

// straceCounter counts with strace -c -f, which stops the server at every
// syscall: its rate drops, and with it, a little, the mix of calls.
type straceCounter struct{ path string }

func (s straceCounter) count(pid int, window time.Duration) (uint64, error) {
	var out bytes.Buffer
	cmd := exec.Command(s.path, "-q", "-c", "-f", "-p", strconv.Itoa(pid))
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	time.Sleep(window)
	cmd.Process.Signal(os.Interrupt) // detaches and prints the summary
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("strace: %v: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return parseStraceSummary(out.Bytes())
}

// parseStraceSummary reads the calls column of strace -c's total line:
// "100.00  0.123456  3  40000  12  total", errors optional.
func parseStraceSummary(out []byte) (uint64, error) {
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 5 || f[len(f)-1] != "total" {
			continue
		}
		n, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("strace: calls %q", f[3])
		}
		return n, nil
	}
	return 0, fmt.Errorf("strace: no total line in %q", bytes.TrimSpace(out))
}

// findSyscallCounter picks the tool that counts syscalls here and says
// which, for the notes: perf stat if it works (installing linux-perf when
// it is missing and we are root), else strace, else none and why.
func findSyscallCounter(progress io.Writer) (syscallCounter, string) {
	var why []string
	if err := ensureTool(context.Background(), "perf", "linux-perf", progress); err != nil && os.Geteuid() == 0 {
		why = append(why, strings.SplitN(err.Error(), "\n", 2)[0])
	}
	perf, err := exec.LookPath("perf")
	if err != nil {
		why = append(why, "no perf")
	} else {
		// A short count on this process proves that perf may trace here.
		if _, err := (perfCounter{perf}).count(os.Getpid(), 20*time.Millisecond); err == nil {
			return perfCounter{perf}, "perf stat -e raw_syscalls:sys_enter"
		} else {
			why = append(why, strings.SplitN(err.Error(), "\n", 2)[0])
		}
	}
	if st, err := exec.LookPath("strace"); err == nil {
		if out, err := exec.Command(st, "-q", "-c", "-f", "-o", os.DevNull, "true").CombinedOutput(); err == nil {
			return straceCounter{st}, "strace -c -f (perf unusable: " + strings.Join(why, "; ") + "); strace stops the server at every syscall, so it runs slower while counted"
		} else {
			why = append(why, fmt.Sprintf("strace: %v: %s", err, lastLine(out)))
		}
	} else {
		why = append(why, "no strace")
	}
	return nil, "n/a: " + strings.Join(why, "; ")
}

// lastLine is the last non-empty line of a tool's output, for an error.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
