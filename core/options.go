package core

// Options configures a Ring. The zero value is a good default.
type Options struct {
	// Entries is the submission queue size, rounded up to a power of two by
	// the kernel. Zero means 256.
	Entries uint32
	// CQEntries is the completion queue size. Zero means four times Entries,
	// which leaves room for multishot operations.
	CQEntries uint32
	// SingleIssuer promises that every call on the ring, from New to Close,
	// is made on the OS thread that creates it (call runtime.LockOSThread
	// first). The kernel then defers completion work to that thread
	// (IORING_SETUP_SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN), the cheapest
	// mode, and rejects any other thread with ErrWrongThread.
	SingleIssuer bool
	// Backend chooses the kernel interface. The zero value, BackendAuto,
	// takes io_uring and falls back to epoll where io_uring is refused;
	// forcing a backend the system refuses makes New fail.
	Backend Backend
	// Restrict, when not empty, limits the ring to these operations: the
	// ring starts disabled (IORING_SETUP_R_DISABLED), the kernel is told
	// the opcodes they use and the runtime's own (nop, cancel, timeouts;
	// IORING_REGISTER_RESTRICTIONS), and only then is it enabled. Any other
	// operation then fails, in this package with an error matching
	// errors.ErrUnsupported and syscall.EACCES, and in the kernel, for an
	// SQE prepared by other means, with EACCES: a bug or an attacker that
	// reaches the ring cannot open files or sockets with it unless the
	// list allows it. Empty means every operation (Linux 5.10 is needed
	// for a restricted ring).
	Restrict []Op

	attachWQ int // fd of the ring whose worker pool to share, or 0
}
