//go:build linux

package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ourio-go/ourio/internal/denyuring"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The selection is tested where io_uring is really refused:
// TestSelectionUnderSeccomp runs this test binary again with
// ktSeccompEnv set, TestMain then installs a seccomp filter that fails
// io_uring_setup with EPERM in every thread (as Docker's default profile
// does), and TestSelectionChild checks that New picks epoll, says why, and
// that the runtime suite passes on what it picked.

const (
	ktSeccompEnv        = "OURIO_CORE_SECCOMP_CHILD"
	ktSeccompNoFilterRC = 3 // the kernel refused the filter itself
)

func TestMain(m *testing.M) {
	if os.Getenv(ktSeccompEnv) == "1" {
		if err := denyuring.Install(true); err != nil {
			fmt.Fprintf(os.Stderr, "cannot install the seccomp filter: %v\n", err)
			os.Exit(ktSeccompNoFilterRC)
		}
	}
	os.Exit(m.Run())
}

func TestSelectionUnderSeccomp(t *testing.T) {
	if os.Getenv(ktSeccompEnv) != "" {
		t.Skip("this is the child")
	}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-5*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSelectionChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), ktSeccompEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == ktSeccompNoFilterRC {
		t.Skipf("the kernel refuses seccomp filters here:\n%s", out)
	}
	require.NoError(t, err, "child under seccomp:\n%s", out)
	require.Contains(t, string(out), "--- PASS: TestSelectionChild ", "the child must have run:\n%s", out)
	require.NotContains(t, string(out), "--- SKIP: TestSelectionChild ")
	t.Logf("child output:\n%s", out)
}

// TestSelectionChild runs only in TestSelectionUnderSeccomp's child.
func TestSelectionChild(t *testing.T) {
	if os.Getenv(ktSeccompEnv) != "1" {
		t.Skip("run by TestSelectionUnderSeccomp in a child process")
	}
	var params [120]byte
	_, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 8, uintptr(unsafe.Pointer(&params)), 0)
	require.Equal(t, unix.EPERM, errno, "the filter must deny io_uring_setup")

	_, err := New(Options{Backend: BackendIOURing})
	require.ErrorIs(t, err, errors.ErrUnsupported, "forcing io_uring where it is denied")
	require.ErrorIs(t, err, syscall.EPERM)
	require.True(t, strings.Contains(err.Error(), "not permitted"), err.Error())

	r, err := New(Options{})
	require.NoError(t, err)
	require.Equal(t, BackendEpoll, r.Backend())
	require.ErrorIs(t, r.IOURingError(), syscall.EPERM)
	require.ErrorIs(t, r.IOURingError(), errors.ErrUnsupported)
	require.Contains(t, r.IOURingError().Error(), "seccomp", "the reason names the filter")
	t.Logf("New picked %v because: %v", r.Backend(), r.IOURingError())
	child, err := r.InitChild(Options{})
	require.NoError(t, err)
	require.Equal(t, BackendEpoll, child.Backend())
	require.NoError(t, child.Close())
	require.NoError(t, r.Close())

	// The whole runtime suite, on the rings New picks by itself.
	for _, tc := range ktBackendSuite {
		t.Run(tc.name, tc.fn)
	}
}
