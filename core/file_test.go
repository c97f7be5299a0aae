//go:build linux

package core

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ktTempFile creates a file with content and opens it read-write.
func ktTempFile(t *testing.T, content string) (path string, fd int) {
	t.Helper()
	path = t.TempDir() + "/data"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return path, fd
}

func TestOpReadWrite(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	path, fd := ktTempFile(t, "")
	var rec ktRec
	// Out of order, at offsets.
	_, err := r.Write(fd, []byte("world"), 6, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	_, err = r.Write(fd, []byte("hello "), 0, Ctx{Callback: rec.cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 2)
	for _, res := range rec.list {
		require.Equal(t, OpWrite, res.op)
		require.NoError(t, res.err)
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "hello world", string(got))

	rec = ktRec{}
	buf := make([]byte, 5)
	_, err = r.Read(fd, buf, 6, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, OpRead, rec.last().op)
	require.Equal(t, 5, rec.last().n)
	require.Equal(t, "world", string(buf))

	// Reading past the end returns 0.
	_, err = r.Read(fd, buf, 100, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, rec.last().err)
	require.Zero(t, rec.last().n)

	// Offset -1 uses and advances the file position.
	_, err = unix.Seek(fd, 0, 0)
	require.NoError(t, err)
	for _, want := range []string{"hello", " worl"} {
		_, err = r.Read(fd, buf, -1, rec.ctx())
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		require.Equal(t, want, string(buf[:rec.last().n]))
	}
	_, err = r.Write(fd, []byte("D!"), -1, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "hello worlD!", string(got))

	// Writing to a read-only descriptor fails with EBADF.
	ro, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(ro)
	_, err = r.Write(ro, []byte("x"), 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EBADF, rec.last().err)
	require.Zero(t, rec.last().n)
}

func TestOpReadvWritev(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	path, fd := ktTempFile(t, "0123456789")
	var rec ktRec
	_, err := r.Writev(fd, [][]byte{[]byte("ab"), nil, []byte("cde"), []byte("f")}, 4, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, OpWritev, rec.last().op)
	require.NoError(t, rec.last().err)
	require.Equal(t, 6, rec.last().n)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "0123abcdef", string(got))

	a, b, c := make([]byte, 3), make([]byte, 4), make([]byte, 10)
	_, err = r.Readv(fd, [][]byte{a, b, c}, 2, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, OpReadv, rec.last().op)
	require.Equal(t, 8, rec.last().n)
	require.Equal(t, "23a", string(a))
	require.Equal(t, "bcde", string(b))
	require.Equal(t, "f", string(c[:1]))

	// Several vectored operations in flight at once keep their own iovecs.
	bufs := make([][]byte, 5)
	for i := range bufs {
		bufs[i] = make([]byte, 2)
		_, err = r.Readv(fd, [][]byte{bufs[i][:1], bufs[i][1:]}, int64(2*i), rec.ctx())
		require.NoError(t, err)
	}
	require.NoError(t, r.Run(UntilDone))
	for i := range bufs {
		require.Equal(t, string(got[2*i:2*i+2]), string(bufs[i]))
	}

	// No buffers at all is a zero-length operation.
	_, err = r.Readv(fd, nil, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, rec.last().err)
	require.Zero(t, rec.last().n)
}

func TestOpSplice(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	_, fd := ktTempFile(t, "0123456789")
	rd, wr := ktPipe(t)
	var rec ktRec
	_, err := r.Splice(fd, 3, wr, -1, 5, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, OpSplice, rec.last().op)
	require.NoError(t, rec.last().err)
	require.Equal(t, 5, rec.last().n)
	buf := make([]byte, 16)
	n, err := unix.Read(rd, buf)
	require.NoError(t, err)
	require.Equal(t, "34567", string(buf[:n]))
	// The file position did not move: the offset was explicit.
	pos, err := unix.Seek(fd, 0, 1)
	require.NoError(t, err)
	require.Zero(t, pos)

	// And back: pipe -> file at an offset.
	_, err = unix.Write(wr, []byte("XY"))
	require.NoError(t, err)
	_, err = r.Splice(rd, -1, fd, 8, 2, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, 2, rec.last().n)
	n, err = unix.Pread(fd, buf, 0)
	require.NoError(t, err)
	require.Equal(t, "01234567XY", string(buf[:n]))

	// Neither end a pipe: EINVAL.
	_, err = r.Splice(fd, 0, fd, 0, 1, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EINVAL, rec.last().err)
}

func TestOpCloseFd(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fds[1])
	var rec ktRec
	_, err = r.CloseFd(fds[0], rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	require.Equal(t, OpClose, rec.list[0].op)
	require.NoError(t, rec.list[0].err)
	// The peer sees the close as end of stream.
	buf := make([]byte, 4)
	n, err := unix.Read(fds[1], buf)
	require.NoError(t, err)
	require.Zero(t, n)

	_, err = r.CloseFd(1<<20, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EBADF, rec.last().err)
}

func TestOpOpenat(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(dir+"/existing", []byte("contents"), 0o600))
	var fd int = -1
	var rec ktRec
	_, err := r.Openat(unix.AT_FDCWD, dir+"/existing", unix.O_RDONLY|unix.O_CLOEXEC, 0, Ctx{Callback: func(rt Runtime, task *Task) error {
		fd = task.Fd()
		return rec.cb(rt, task)
	}})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, OpOpenat, rec.last().op)
	require.NoError(t, rec.last().err)
	require.GreaterOrEqual(t, fd, 0)
	buf := make([]byte, 16)
	n, err := unix.Read(fd, buf)
	require.NoError(t, err)
	require.Equal(t, "contents", string(buf[:n]))
	require.NoError(t, unix.Close(fd))

	// Relative to a directory descriptor, creating a file with a mode.
	dirfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(dirfd)
	_, err = r.Openat(dirfd, "created", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o640, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, rec.last().err)
	created := rec.last().fd
	_, err = unix.Write(created, []byte("new"))
	require.NoError(t, err)
	require.NoError(t, unix.Close(created))
	st, err := os.Stat(dir + "/created")
	require.NoError(t, err)
	require.Zero(t, st.Mode().Perm()&^0o640, "mode bits beyond the requested 0640 (umask only removes)")
	require.NotZero(t, st.Mode().Perm()&0o200)
	require.EqualValues(t, 3, st.Size())

	// O_EXCL on an existing file.
	_, err = r.Openat(dirfd, "created", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o640, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EEXIST, rec.last().err)

	// A missing file: ENOENT as a syscall.Errno.
	_, err = r.Openat(unix.AT_FDCWD, dir+"/missing", unix.O_RDONLY|unix.O_CLOEXEC, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	got := rec.last().err
	var errno syscall.Errno
	require.True(t, errors.As(got, &errno), "%T", got)
	require.Equal(t, syscall.ENOENT, errno)
	require.ErrorIs(t, got, os.ErrNotExist)
	require.Equal(t, -1, rec.last().fd)

	// EACCES needs a user the permission bits apply to.
	if os.Geteuid() != 0 {
		require.NoError(t, os.WriteFile(dir+"/secret", nil, 0o000))
		_, err = r.Openat(unix.AT_FDCWD, dir+"/secret", unix.O_RDONLY|unix.O_CLOEXEC, 0, rec.ctx())
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		require.Equal(t, syscall.EACCES, rec.last().err)
	}
	// A directory opened for writing: EISDIR, for root too.
	_, err = r.Openat(unix.AT_FDCWD, dir, unix.O_WRONLY|unix.O_CLOEXEC, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EISDIR, rec.last().err)
}

func TestOpStatx(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	path, fd := ktTempFile(t, "twelve bytes")
	var size uint64
	var mask uint32
	var mode uint16
	var rec ktRec
	statCb := func(rt Runtime, task *Task) error {
		if st := task.Statx(); st != nil && task.Err() == nil {
			size, mask, mode = st.Size, st.Mask, st.Mode
		}
		return rec.cb(rt, task)
	}
	_, err := r.Statx(unix.AT_FDCWD, path, 0, unix.STATX_SIZE|unix.STATX_MODE, Ctx{Callback: statCb})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, OpStatx, rec.last().op)
	require.NoError(t, rec.last().err)
	require.NotZero(t, mask&unix.STATX_SIZE)
	require.EqualValues(t, 12, size)
	require.Equal(t, uint16(unix.S_IFREG|0o600), mode)

	// Of the descriptor itself, after it grew.
	_, err = unix.Pwrite(fd, []byte("!!"), 12)
	require.NoError(t, err)
	size = 0
	_, err = r.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_SIZE, Ctx{Callback: statCb})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, rec.last().err)
	require.EqualValues(t, 14, size)

	// A directory, and a missing path.
	_, err = r.Statx(unix.AT_FDCWD, t.TempDir(), 0, unix.STATX_TYPE, Ctx{Callback: statCb})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, rec.last().err)
	require.Equal(t, uint16(unix.S_IFDIR), mode&unix.S_IFMT)
	_, err = r.Statx(unix.AT_FDCWD, path+".missing", 0, unix.STATX_SIZE, Ctx{Callback: statCb})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.ENOENT, rec.last().err)
}
