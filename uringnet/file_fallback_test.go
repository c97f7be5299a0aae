//go:build linux

package uringnet_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/uringnet"
)

// TestFileFallbackUnderSeccomp runs TestFileFallbackChild in a child whose
// io_uring_setup is denied (TestMain installs the filter, as for
// TestFallbackUnderSeccomp): FileConn and FileListener must hand the file
// to package net there.
func TestFileFallbackUnderSeccomp(t *testing.T) {
	if os.Getenv(seccompChildEnv) != "" {
		t.Skip("this is the child")
	}
	cmd := exec.CommandContext(childContext(t), os.Args[0], "-test.run=^TestFileFallbackChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), seccompChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == seccompUnavailableExit {
		t.Skipf("the kernel refuses seccomp filters here:\n%s", out)
	}
	if err != nil {
		t.Fatalf("child under seccomp failed: %v\n--- child output ---\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestFileFallbackChild ") {
		t.Fatalf("child did not pass TestFileFallbackChild:\n%s", out)
	}
}

// TestFileFallbackChild runs only in the child under the seccomp filter.
func TestFileFallbackChild(t *testing.T) {
	if os.Getenv(seccompChildEnv) != "1" {
		t.Skip("run by TestFileFallbackUnderSeccomp in a child process")
	}
	if err := uringnet.Available(); err == nil {
		t.Fatal("io_uring is available under the filter")
	}
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			ln, err := uringnet.Listen(network, fbAddr(t, network))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			lf := fileOf(t, ln)
			adopted, err := uringnet.FileListener(lf)
			if err != nil {
				t.Fatalf("FileListener: %v", err)
			}
			defer adopted.Close()
			srv, cli := fbConnect(t, adopted, uringnet.Dial)
			fbWantStd(t, network, adopted, srv, cli)
			cf := fileOf(t, srv)
			srv.Close()
			c, err := uringnet.FileConn(cf)
			if err != nil {
				t.Fatalf("FileConn: %v", err)
			}
			defer c.Close()
			if _, ok := c.(syscall.Conn); !ok || strings.HasPrefix(fmt.Sprintf("%T", c), "*uringnet.") {
				t.Errorf("FileConn returned %s under the filter, want package net's conn", fmt.Sprintf("%T", c))
			}
			fbEcho(t, c, cli)
		})
	}
	f, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, stdErr := net.FileConn(f)
	_, urErr := uringnet.FileConn(f)
	if stdErr == nil || urErr == nil || stdErr.Error() != urErr.Error() {
		t.Errorf("FileConn of a regular file: net says %v, uringnet %v", stdErr, urErr)
	}
	if _, err := uringnet.FileConn(nil); err == nil {
		t.Error("FileConn(nil) succeeded under the filter")
	}
}
