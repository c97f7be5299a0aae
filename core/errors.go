package core

import (
	"errors"
	"fmt"
	"syscall"
)

var (
	// ErrClosed is returned when a closed ring is used.
	ErrClosed = errors.New("ourio: ring closed")
	// ErrInvalidHandle is returned for a zero Handle.
	ErrInvalidHandle = errors.New("ourio: invalid task handle")
	// ErrTaskDone is returned by SetDeadline when the task already completed.
	ErrTaskDone = errors.New("ourio: task already completed")
	// ErrForeignTask is returned when a task from another runtime, or one not
	// reserved with GetTask, is handed to MsgRing.
	ErrForeignTask = errors.New("ourio: task not reserved from this runtime")
	// ErrWrongThread is returned when a ring created with SingleIssuer is
	// entered from a thread other than the one that created it.
	ErrWrongThread = errors.New("ourio: single-issuer ring used from another OS thread")
	// ErrBusy is returned when a Ring is run from two goroutines at once.
	ErrBusy = errors.New("ourio: ring is already running on another goroutine")
)

// UnsupportedError reports an operation or feature that cannot be used: the
// running kernel lacks it, or (Errno EPERM) a seccomp profile or the
// kernel.io_uring_disabled sysctl forbids it. It matches
// errors.ErrUnsupported and unwraps to its Errno, if any.
type UnsupportedError struct {
	// What names the missing operation or feature.
	What string
	// Errno is the kernel's answer, or 0 when the probe said no.
	Errno syscall.Errno
	// Cause, when the package could tell, says what in this system
	// refused: the kernel.io_uring_disabled sysctl, a seccomp filter, the
	// memlock limit, the kernel's version or build.
	Cause string
}

// Error describes what is missing and why.
func (e *UnsupportedError) Error() string {
	if e.Cause != "" {
		return fmt.Sprintf("ourio: %s is not available here: %s: %v", e.What, e.Cause, e.Errno)
	}
	switch e.Errno {
	case 0:
		return fmt.Sprintf("ourio: %s is not supported by this kernel", e.What)
	case syscall.EPERM:
		return fmt.Sprintf("ourio: %s is not permitted here (seccomp or the kernel.io_uring_disabled sysctl): %v", e.What, e.Errno)
	case syscall.EACCES:
		return fmt.Sprintf("ourio: %s is not allowed on this restricted ring (Options.Restrict): %v", e.What, e.Errno)
	}
	return fmt.Sprintf("ourio: %s is not available: %v", e.What, e.Errno)
}

// Is makes UnsupportedError match errors.ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }

// Unwrap returns the kernel's errno, so errors.Is(err, syscall.EPERM) holds.
func (e *UnsupportedError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
