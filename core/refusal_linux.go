//go:build linux

package core

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Why io_uring_setup was refused. The kernel answers EPERM, ENOSYS or
// ENOMEM for several causes; what the process can read of its system
// tells them apart, so that UnsupportedError.Cause names the one to fix.

// setupEnv is what the refusal's cause is told from, read on the thread
// that made the failed call: seccomp filters, capabilities and groups are
// per thread.
type setupEnv struct {
	disabled    int  // kernel.io_uring_disabled: 0, 1, 2, or -1 unknown
	group       int  // kernel.io_uring_group, -1 for none
	inGroup     bool // the thread's credentials include group
	capSysAdmin bool // CAP_SYS_ADMIN is in the thread's effective set
	seccomp     int  // the thread's seccomp mode: 0 none, 1 strict, 2 filter; -1 unknown
	release     string
	major       int
	minor       int
	memlock     uint64 // RLIMIT_MEMLOCK's soft limit, in bytes
}

// capSysAdmin is CAP_SYS_ADMIN's bit in the capability sets.
const capSysAdmin = 21

// readSetupEnv reads setupEnv on the calling thread, which the caller has
// locked.
func readSetupEnv() setupEnv {
	env := setupEnv{disabled: -1, group: -1, seccomp: -1}
	if v, err := readProcInt("/proc/sys/kernel/io_uring_disabled"); err == nil {
		env.disabled = v
	}
	if v, err := readProcInt("/proc/sys/kernel/io_uring_group"); err == nil {
		env.group = v
	}
	if status, err := os.ReadFile("/proc/thread-self/status"); err == nil {
		fields := statusFields(status)
		if v, err := strconv.Atoi(fields["Seccomp"]); err == nil {
			env.seccomp = v
		}
		if v, err := strconv.ParseUint(fields["CapEff"], 16, 64); err == nil {
			env.capSysAdmin = v&(1<<capSysAdmin) != 0
		}
		if env.group >= 0 {
			// Gid: real, effective, saved, filesystem; the kernel's
			// in_group_p looks at the filesystem gid and the groups.
			ids := strings.Fields(fields["Gid"])
			if len(ids) == 4 && ids[3] == strconv.Itoa(env.group) {
				env.inGroup = true
			}
			for _, g := range strings.Fields(fields["Groups"]) {
				if g == strconv.Itoa(env.group) {
					env.inGroup = true
				}
			}
		}
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		env.release = unix.ByteSliceToString(uts.Release[:])
		fmt.Sscanf(env.release, "%d.%d", &env.major, &env.minor)
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil {
		env.memlock = lim.Cur
	}
	return env
}

func readProcInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(bytes.TrimSpace(b)))
}

// statusFields splits /proc/*/status into its "Name:\tvalue" lines.
func statusFields(status []byte) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// atLeast reports whether the kernel is at least major.minor.
func (env setupEnv) atLeast(major, minor int) bool {
	return env.major > major || env.major == major && env.minor >= minor
}

// cause names why io_uring_setup failed with errno, or returns "" when
// nothing in env explains it.
func (env setupEnv) cause(errno unix.Errno) string {
	filtered := env.seccomp == 2
	switch errno {
	case unix.EPERM:
		switch {
		case env.disabled == 2:
			return "the kernel.io_uring_disabled sysctl is 2, which disables io_uring for every process"
		case env.disabled == 1 && !env.capSysAdmin && !env.inGroup:
			if env.group < 0 {
				return "the kernel.io_uring_disabled sysctl is 1, which allows io_uring only to processes with CAP_SYS_ADMIN, and kernel.io_uring_group names no group"
			}
			return fmt.Sprintf("the kernel.io_uring_disabled sysctl is 1, which allows io_uring only to processes with CAP_SYS_ADMIN or in the group kernel.io_uring_group names (gid %d), and this process has neither", env.group)
		case filtered:
			return "a seccomp filter denies io_uring_setup (the default profiles of Docker and containerd do)"
		}
		return "the kernel refused io_uring_setup (a security module such as SELinux may deny it)"
	case unix.ENOSYS:
		switch {
		case filtered:
			return "a seccomp filter denies io_uring_setup, or the kernel lacks io_uring"
		case env.major > 0 && !env.atLeast(5, 1):
			return fmt.Sprintf("the kernel (%s) is older than 5.1, which brought io_uring", env.release)
		case env.major > 0:
			return fmt.Sprintf("the kernel (%s) was built without io_uring (CONFIG_IO_URING)", env.release)
		}
	case unix.ENOMEM:
		if env.major > 0 && !env.atLeast(5, 12) {
			return fmt.Sprintf("kernels before 5.12 (this is %s) charge a ring's memory to RLIMIT_MEMLOCK, here %d KiB: raise it (ulimit -l) or ask for fewer entries", env.release, env.memlock/1024)
		}
	}
	return ""
}
