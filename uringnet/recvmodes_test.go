package uringnet_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childContext bounds a child test process by the test's own deadline, less
// time to report its output.
func childContext(t *testing.T) context.Context {
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-5*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// TestRecvModes runs the package's tests again in child processes, with
// Reads that wait arming receives on the ring instead of waiting for
// readiness (ready.go): multishot receives for Reads behind a poller (the
// default on the ring), multishot receives off (the path where the kernel
// has no provided buffer rings or no limit on them, and where the ring
// runs dry), and a multishot receive for every waiting Read.
func TestRecvModes(t *testing.T) {
	if os.Getenv("OURIO_RECV") != "" {
		t.Skip("this is a child")
	}
	if testing.Short() {
		t.Skip("runs the whole package again")
	}
	for _, mode := range []string{"", "0", "always"} {
		name := "multishot=" + mode
		if mode == "" {
			name = "multishot"
		}
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(childContext(t), os.Args[0], "-test.skip=^TestRecvModes$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "OURIO_RECV=ring", "OURIO_RECV_MULTISHOT="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tests with OURIO_RECV=ring OURIO_RECV_MULTISHOT=%s failed: %v\n%s", mode, err, tail(out, 60))
			}
			if !strings.Contains(string(out), "--- PASS: TestInterruptedReadStaysInFlight") {
				t.Fatalf("the child did not run the package's tests:\n%s", tail(out, 60))
			}
		})
	}
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
