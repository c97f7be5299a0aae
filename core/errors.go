package core

import (
	"errors"
	"fmt"
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

// UnsupportedError reports an operation or feature the running kernel lacks.
// It matches errors.ErrUnsupported.
type UnsupportedError struct {
	// What names the missing operation or feature.
	What string
}

// Error describes what the kernel lacks.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("ourio: %s is not supported by this kernel", e.What)
}

// Is makes UnsupportedError match errors.ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }
