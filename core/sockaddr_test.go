//go:build linux

package core

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// bindRaw binds fd to sa through RawSockaddr, as uringnet does.
func bindRaw(fd int, sa unix.Sockaddr) error {
	raw := new(unix.RawSockaddrAny)
	n, err := RawSockaddr(sa, raw)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(raw)), uintptr(n))
	if errno != 0 {
		return errno
	}
	return nil
}

// TestRawSockaddrUnixMatchesSyscall binds unix names through RawSockaddr
// and through package syscall, which package net uses, and checks that the
// kernel sees the same address or the same error for each: the 108-byte
// abstract name x/sys/unix refuses, a 108-byte path that has no room for
// its NUL, names too long for either, names spelt with a leading NUL, and
// the empty name the kernel autobinds.
func TestRawSockaddrUnixMatchesSyscall(t *testing.T) {
	dir := t.TempDir()
	tag := fmt.Sprintf("ourio-core-%d-", unix.Getpid())
	pathOf := func(n int) string { return dir + "/" + strings.Repeat("p", n-len(dir)-1) }
	cases := []struct {
		name    string
		addr    string // with "!" for the variant each binder uses
		wantErr error
	}{
		{"abstract-108", "@" + tag + strings.Repeat("a", 107-len(tag)-1) + "!", nil},
		{"abstract-109", "@" + tag + strings.Repeat("a", 108-len(tag)-1) + "!", unix.EINVAL},
		{"nul-abstract", "\x00" + tag + "nul!", nil},
		{"nul-abstract-108", "\x00" + tag + strings.Repeat("n", 107-len(tag)-1) + "!", nil},
		{"nul-abstract-109", "\x00" + tag + strings.Repeat("n", 108-len(tag)-1) + "!", unix.EINVAL},
		{"path-107", pathOf(106) + "!", nil},
		{"path-108", pathOf(107) + "!", unix.EINVAL},
		{"path-200", pathOf(199) + "!", unix.EINVAL},
		{"empty", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := tc.addr, tc.addr
			if strings.HasSuffix(tc.addr, "!") {
				ours, theirs = strings.TrimSuffix(tc.addr, "!")+"o", strings.TrimSuffix(tc.addr, "!")+"s"
			}
			fd1, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			require.NoError(t, err)
			fd2, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			require.NoError(t, err)
			defer unix.Close(fd2)
			errOurs := bindRaw(fd1, &unix.SockaddrUnix{Name: ours})
			got, _ := unix.Getsockname(fd1)
			defer unix.Close(fd1)
			errTheirs := syscall.Bind(fd2, &syscall.SockaddrUnix{Name: theirs})
			want, _ := syscall.Getsockname(fd2)
			require.Equal(t, tc.wantErr, toUnixErr(errTheirs), "package syscall's outcome")
			require.Equal(t, tc.wantErr, toUnixErr(errOurs), "RawSockaddr's outcome")
			if tc.wantErr != nil {
				return
			}
			gotName, wantName := got.(*unix.SockaddrUnix).Name, want.(*syscall.SockaddrUnix).Name
			if tc.name == "empty" {
				// Autobound: '@' and five hex digits, different names.
				require.Len(t, gotName, 6)
				require.Len(t, wantName, 6)
				require.Equal(t, byte('@'), gotName[0])
				return
			}
			if ours != theirs {
				gotName, wantName = strings.TrimSuffix(gotName, "o"), strings.TrimSuffix(wantName, "s")
			}
			require.Equal(t, wantName, gotName)
		})
	}
}

func toUnixErr(err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		return unix.Errno(errno)
	}
	return err
}

// TestConnectAbstract108 connects on the ring to a listener whose abstract
// name fills sun_path, and refuses over-long names before submitting.
func TestConnectAbstract108(t *testing.T) {
	name := "@" + fmt.Sprintf("ourio-core-c-%d-", unix.Getpid())
	name += strings.Repeat("z", 108-len(name))
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(ln)
	require.NoError(t, bindRaw(ln, &unix.SockaddrUnix{Name: name}))
	require.NoError(t, unix.Listen(ln, 4))
	bound, err := unix.Getsockname(ln)
	require.NoError(t, err)
	require.Equal(t, name, bound.(*unix.SockaddrUnix).Name)

	r := ktRing(t, Options{Entries: 8})
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	var got error = syscall.EBADMSG // overwritten by the callback
	_, err = r.Connect(fd, &unix.SockaddrUnix{Name: name}, Ctx{Callback: func(_ Runtime, task *Task) error { got = task.Err(); return nil }})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, got)
	peer, err := unix.Getpeername(fd)
	require.NoError(t, err)
	require.Equal(t, name, peer.(*unix.SockaddrUnix).Name)

	_, err = r.Connect(fd, &unix.SockaddrUnix{Name: name + "z"}, Ctx{})
	require.ErrorIs(t, err, unix.EINVAL, "a 109-byte abstract name is refused before submission")
	_, err = r.Connect(fd, &unix.SockaddrUnix{Name: "/" + name[1:]}, Ctx{})
	require.ErrorIs(t, err, unix.EINVAL, "a 108-byte path has no room for its NUL")
	require.Zero(t, r.Active())
}
