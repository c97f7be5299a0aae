//go:build linux

package core

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A restricted ring is tested against the kernel itself: the package's
// own check refuses an operation the list leaves out, and an SQE that
// gets past that check (prepared here by hand) is refused by the kernel
// with EACCES, which only registered restrictions produce.

func TestRestrictedRingRunsWhatItAllows(t *testing.T) {
	r := ktRing(t, Options{Restrict: []Op{OpRecv, OpSend}})
	require.True(t, r.Restricted())
	for _, op := range []Op{OpRecv, OpSend, OpNop, OpTimer, OpCancel} {
		require.True(t, r.Allowed(op), "%v", op)
	}
	for _, op := range []Op{OpOpenat, OpSocket, OpAccept, OpClose, OpMsgRing} {
		require.False(t, r.Allowed(op), "%v", op)
	}

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	var rec ktRec
	out := []byte("restricted")
	in := make([]byte, 64)
	_, err = r.Send(fds[0], out, 0, rec.ctx())
	require.NoError(t, err)
	_, err = r.Recv(fds[1], in, 0, rec.ctx())
	require.NoError(t, err)
	// The runtime's own opcodes: a timer and a deadline (a linked timeout).
	_, err = r.Timer(time.Millisecond, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	// A deadline on a receive that gets nothing: it must end the receive
	// when it expires, not at once (a refused linked timeout fails the
	// receive it is linked to straight away).
	h, err := r.Recv(fds[0], make([]byte, 8), 0, rec.ctx())
	require.NoError(t, err)
	const wait = 30 * time.Millisecond
	start := time.Now()
	require.NoError(t, r.SetDeadline(h, start.Add(wait)))
	require.NoError(t, r.Run(UntilDone))
	require.GreaterOrEqual(t, time.Since(start), wait, "the deadline ended the receive early")

	got := map[Op][]int32{}
	for _, c := range rec.list {
		got[c.op] = append(got[c.op], c.res)
	}
	require.Equal(t, []int32{int32(len(out))}, got[OpSend])
	require.Contains(t, got[OpRecv], int32(len(out)))
	require.Contains(t, got[OpRecv], -int32(unix.ECANCELED), "the deadline's linked timeout ran")
	require.Equal(t, []int32{0}, got[OpTimer])
	require.Equal(t, "restricted", string(in[:len(out)]))
}

func TestRestrictedRingRefusesOtherOperations(t *testing.T) {
	r := ktRing(t, Options{Restrict: []Op{OpRecv}})
	_, err := r.Socket(unix.AF_INET, unix.SOCK_STREAM, 0, Ctx{})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.ErrorIs(t, err, syscall.EACCES)
	require.Contains(t, err.Error(), "restricted ring")
	_, err = r.Openat(unix.AT_FDCWD, "/dev/null", unix.O_RDONLY, 0, Ctx{})
	require.ErrorIs(t, err, syscall.EACCES)
	require.Zero(t, r.Active(), "a refused operation takes no task")
}

// ktRawOpcode submits one SQE with the given kernel opcode and no operands,
// bypassing the package's checks, and returns its result.
func ktRawOpcode(t *testing.T, r *Ring, opcode uint8) int32 {
	t.Helper()
	var rec ktRec
	_, s, err := r.start(OpNop, rec.ctx())
	require.NoError(t, err)
	s.opcode = opcode
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	return rec.list[0].res
}

func TestRestrictedRingKernelRefuses(t *testing.T) {
	// IORING_OP_SOCKET with domain 0 fails in the socket call (EAFNOSUPPORT
	// or EINVAL) on an unrestricted ring; a restricted ring that does not
	// allow it never gets that far.
	open := ktRing(t, Options{})
	res := ktRawOpcode(t, open, opSocket)
	require.Less(t, res, int32(0))
	require.NotEqual(t, -int32(unix.EACCES), res, "the control ring must not refuse with EACCES")

	r := ktRing(t, Options{Restrict: []Op{OpRecv}})
	require.Equal(t, -int32(unix.EACCES), ktRawOpcode(t, r, opSocket))
	require.Equal(t, -int32(unix.EACCES), ktRawOpcode(t, r, opOpenat))
	require.Equal(t, int32(0), ktRawOpcode(t, r, opNop))

	// Register calls are bound as well: file registration is not in the
	// list, buffer rings are.
	fd := int32(-1)
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), 2 /* IORING_REGISTER_FILES */, uintptr(unsafe.Pointer(&fd)), 1, 0, 0)
	require.Equal(t, unix.EACCES, errno)
	br, err := r.NewBufRing(1, 4, 64)
	require.NoError(t, err)
	br.Close()
}

func TestRestrictedRingSingleIssuerAndChild(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, err := New(Options{SingleIssuer: true, Restrict: []Op{OpRecv}})
		if err != nil {
			done <- err
			return
		}
		defer r.Close()
		if _, err := r.PollableFd(); err != nil {
			done <- err
			return
		}
		_, err = r.Nop(Ctx{})
		if err == nil {
			err = r.Run(UntilDone)
		}
		done <- err
	}()
	require.NoError(t, <-done)

	parent := ktRing(t, Options{})
	child, err := parent.InitChild(Options{Restrict: []Op{OpSend}})
	require.NoError(t, err)
	defer child.Close()
	require.True(t, child.Allowed(OpSend))
	require.False(t, child.Allowed(OpRecv))
	require.False(t, parent.Restricted())
}

func TestRestrictBadList(t *testing.T) {
	for _, op := range []Op{OpNone, OpMessage, opInternal, Op(200)} {
		_, err := New(Options{Restrict: []Op{OpRecv, op}})
		require.ErrorIs(t, err, syscall.EINVAL, "%v", op)
	}
}

func TestRestrictedRingCloseDrains(t *testing.T) {
	// Close cancels what is in flight and replaces what is queued with
	// no-ops, and waits for the kernel to finish with both: were either
	// refused on a restricted ring, it would wait for good.
	r, err := New(Options{Restrict: []Op{OpRecv}})
	require.NoError(t, err)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	_, err = r.Recv(fds[0], make([]byte, 8), 0, Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	_, err = r.Recv(fds[1], make([]byte, 8), 0, Ctx{})
	require.NoError(t, err)
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close of a restricted ring with a receive in flight did not return")
	}
}

func TestRestrictOnKernelWithoutRDisabled(t *testing.T) {
	// A kernel before 5.10 rejects the flag as unknown: the ring is not
	// made unrestricted behind the caller's back.
	ktFakeSetup(t, ktRejecting(setupRDisabled), unix.EINVAL)
	_, err := New(Options{Restrict: []Op{OpRecv}})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.ErrorIs(t, err, syscall.EINVAL)
	require.Contains(t, err.Error(), "restricted rings")
	r := ktRing(t, Options{})
	require.False(t, r.Restricted())
}

func TestRestrictDoesNotHideOtherSetupErrors(t *testing.T) {
	// A setup that fails for another reason fails the same with
	// Restrict: it is not taken for a kernel without restricted rings.
	ktFakeSetup(t, ktRejectAll, unix.EINVAL)
	_, err := New(Options{Restrict: []Op{OpRecv}})
	require.ErrorIs(t, err, syscall.EINVAL)
	require.NotContains(t, err.Error(), "restricted rings")
}
