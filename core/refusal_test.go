//go:build linux

package core

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/internal/denyuring"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The causes that can be produced here, a seccomp filter and the
// kernel.io_uring_disabled sysctl, are produced for real on one thread;
// TestSetupRefusalCauses covers the rest from what the process would read.

func TestSetupRefusalCauses(t *testing.T) {
	modern := setupEnv{disabled: 0, group: -1, seccomp: 0, release: "6.18.0", major: 6, minor: 18, memlock: 8 << 20}
	with := func(f func(*setupEnv)) setupEnv { e := modern; f(&e); return e }
	for _, c := range []struct {
		name  string
		env   setupEnv
		errno unix.Errno
		want  string // "" for no cause
	}{
		{"sysctl 2", with(func(e *setupEnv) { e.disabled = 2; e.capSysAdmin = true }), unix.EPERM, "io_uring_disabled sysctl is 2"},
		{"sysctl 1, no group", with(func(e *setupEnv) { e.disabled = 1 }), unix.EPERM, "names no group"},
		{"sysctl 1, not in group", with(func(e *setupEnv) { e.disabled = 1; e.group = 1234 }), unix.EPERM, "gid 1234"},
		{"sysctl 1, in group, seccomp", with(func(e *setupEnv) { e.disabled = 1; e.group = 1234; e.inGroup = true; e.seccomp = 2 }), unix.EPERM, "seccomp filter denies"},
		{"sysctl 1, admin, seccomp", with(func(e *setupEnv) { e.disabled = 1; e.capSysAdmin = true; e.seccomp = 2 }), unix.EPERM, "seccomp filter denies"},
		{"seccomp EPERM", with(func(e *setupEnv) { e.seccomp = 2 }), unix.EPERM, "Docker"},
		{"EPERM unexplained", modern, unix.EPERM, "security module"},
		{"seccomp ENOSYS", with(func(e *setupEnv) { e.seccomp = 2 }), unix.ENOSYS, "seccomp filter denies io_uring_setup, or"},
		{"old kernel", with(func(e *setupEnv) { e.release, e.major, e.minor = "4.19.0", 4, 19 }), unix.ENOSYS, "older than 5.1"},
		{"no CONFIG_IO_URING", modern, unix.ENOSYS, "CONFIG_IO_URING"},
		{"memlock, old kernel", with(func(e *setupEnv) { e.release, e.major, e.minor, e.memlock = "5.10.0", 5, 10, 64<<10 }), unix.ENOMEM, "RLIMIT_MEMLOCK, here 64 KiB"},
		{"ENOMEM, new kernel", modern, unix.ENOMEM, ""},
		{"EINVAL", modern, unix.EINVAL, ""},
	} {
		got := c.env.cause(c.errno)
		if c.want == "" {
			require.Empty(t, got, c.name)
			continue
		}
		require.Contains(t, got, c.want, c.name)
	}
}

// ktOnTaintedThread runs f on a goroutine locked to a thread that dies with
// it, for tests that change the thread's credentials or filters for good.
func ktOnTaintedThread(t *testing.T, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		done <- f()
	}()
	require.NoError(t, <-done)
}

func TestSetupRefusedBySeccomp(t *testing.T) {
	ktOnTaintedThread(t, func() error {
		if err := denyuring.Install(false); err != nil {
			return err
		}
		_, err := New(Options{Backend: BackendIOURing})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, syscall.EPERM) {
			return errors.New("New under the filter: " + errorString(err) + ", want an UnsupportedError with EPERM")
		}
		if !strings.Contains(ue.Cause, "seccomp") || !strings.Contains(err.Error(), "seccomp filter denies io_uring_setup") {
			return errors.New("the error does not name the seccomp filter: " + err.Error())
		}
		return nil
	})
}

func errorString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// TestSetupRefusedBySysctl sets kernel.io_uring_disabled to 1 for the
// test's length: processes with CAP_SYS_ADMIN, as every other test here
// runs, still create rings. One thread drops CAP_SYS_ADMIN, is refused, and
// then, in the group kernel.io_uring_group names, is allowed.
func TestSetupRefusedBySysctl(t *testing.T) {
	const disabled, groupFile = "/proc/sys/kernel/io_uring_disabled", "/proc/sys/kernel/io_uring_group"
	oldDisabled, err1 := os.ReadFile(disabled)
	oldGroup, err2 := os.ReadFile(groupFile)
	if err1 != nil || err2 != nil || os.Geteuid() != 0 {
		t.Skipf("needs root and the io_uring sysctls (Linux 6.6): %v %v", err1, err2)
	}
	if strings.TrimSpace(string(oldDisabled)) != "0" {
		t.Skipf("kernel.io_uring_disabled is %s already", strings.TrimSpace(string(oldDisabled)))
	}
	// Test processes of this package running at once (go test -count,
	// two checkouts) take turns with the sysctl.
	lock, err := os.OpenFile(os.TempDir()+"/ourio-io_uring_disabled.lock", os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, unix.Flock(int(lock.Fd()), unix.LOCK_EX))
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if err := os.WriteFile(disabled, []byte("1"), 0); err != nil {
		t.Skipf("cannot set kernel.io_uring_disabled here: %v", err)
	}
	t.Cleanup(func() {
		os.WriteFile(disabled, oldDisabled, 0)
		os.WriteFile(groupFile, oldGroup, 0)
	})
	const gid = 48151
	require.NoError(t, os.WriteFile(groupFile, []byte(strconv.Itoa(gid)), 0))

	ktOnTaintedThread(t, func() error {
		// Capabilities are per thread; so are groups set with the raw
		// system call (unix.Setgroups, where syscall's applies to all).
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return err
		}
		data[0].Effective &^= 1 << capSysAdmin
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return err
		}
		_, err := New(Options{Backend: BackendIOURing})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, syscall.EPERM) {
			return errors.New("New without CAP_SYS_ADMIN under io_uring_disabled=1: " + errorString(err))
		}
		if !strings.Contains(ue.Cause, "io_uring_disabled sysctl is 1") || !strings.Contains(ue.Cause, strconv.Itoa(gid)) {
			return errors.New("the error does not name the sysctl and its group: " + err.Error())
		}
		if err := unix.Setgroups([]int{gid}); err != nil {
			return err
		}
		r, err := New(Options{Backend: BackendIOURing})
		if err != nil {
			return errors.New("New in io_uring_group: " + err.Error())
		}
		return r.Close()
	})
}
