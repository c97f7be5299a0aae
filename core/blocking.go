package core

import (
	_ "unsafe" // for go:linkname

	"golang.org/x/sys/unix"
)

// A thread that sleeps in io_uring_enter through syscall.Syscall keeps its
// P until sysmon notices, which takes from 20 µs to 10 ms, and goroutines
// readied meanwhile (a timer, a package net connection) wait that long.
// entersyscallblock is the runtime's own entry for a system call known to
// block: it hands the P to another thread at once, as the runtime does for
// its own blocking calls. The runtime keeps it reachable by linkname for
// programs outside the standard library (go.dev/issue/67401).

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// enterBlocking waits in io_uring_enter for one completion without holding
// a P. Between the two runtime calls nothing may grow the stack, so it is
// nosplit and calls only the raw system call.
//
//go:nosplit
func enterBlocking(fd int) unix.Errno {
	entersyscallblock()
	_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), 0, 1, enterGetEvents, 0, 0)
	exitsyscall()
	return errno
}
