//go:build linux

package core

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A restricted ring (Options.Restrict) is set up disabled, told which
// opcodes and register calls it may use, and then enabled; the kernel
// refuses anything else with EACCES from then on.

const (
	setupRDisabled = 1 << 6 // IORING_SETUP_R_DISABLED, Linux 5.10

	registerRestrictions = 11 // IORING_REGISTER_RESTRICTIONS
	registerEnableRings  = 12 // IORING_REGISTER_ENABLE_RINGS

	// enum io_uring_register_restriction_op
	restrictRegisterOp      = 0
	restrictSQEOp           = 1
	restrictSQEFlagsAllowed = 2

	unregisterEventfd = 5
	// sqeFlagsAll is every IOSQE_* flag the runtime sets (links, buffer
	// selection) and those it may set; restrictions are about opcodes.
	sqeFlagsAll = 0x7f
)

// restriction is struct io_uring_restriction (16 bytes).
type restriction struct {
	opcode uint16
	arg    uint8 // register_op, sqe_op or sqe_flags
	_      uint8
	_      [3]uint32
}

// runtimeOpcodes are the opcodes a ring submits for itself: deadlines
// (timeouts, linked timeouts, their removal and update), cancellation
// (Close's drain, deadlines that fire) and the no-ops that replace queued
// entries on Close.
var runtimeOpcodes = []uint8{opNop, opAsyncCancel, opTimeout, opLinkTimeout, opTimeoutRem}

// runtimeRegisterOps are the register calls the package makes on a ring
// after New: PollableFd's eventfd, buffer rings, and the probe.
var runtimeRegisterOps = []uint8{registerEventfd, unregisterEventfd, registerProbe, registerPbufRing, unregisterPbufRing}

// restrictionSet is the ring's allowed operations, nil when the ring is
// unrestricted.
type restrictionSet = *[opInternal]bool

// newRestrictionSet validates ops and returns the set they allow.
func newRestrictionSet(ops []Op) (restrictionSet, error) {
	var allowed [opInternal]bool
	for _, op := range ops {
		if op <= OpNone || op >= opInternal || int(op) >= len(kernelOp) {
			return nil, fmt.Errorf("ourio: Options.Restrict lists %v, which is not an operation a ring runs: %w", op, unix.EINVAL)
		}
		allowed[op] = true
	}
	// The runtime's own operations are the user's too: a timer is a
	// timeout, a cancel an async cancel, and a ring always runs both.
	allowed[OpNop], allowed[OpTimer], allowed[OpCancel] = true, true, true
	return &allowed, nil
}

// restrict registers the restrictions of allowed with the disabled ring
// and enables it.
func (r *Ring) restrict(allowed restrictionSet) error {
	var rs []restriction
	seen := map[uint8]bool{}
	addOp := func(code uint8) {
		// The kernel refuses the whole list for an opcode it does not
		// know; one it lacks could not run anyway.
		if !seen[code] && kernelOps[code] {
			seen[code] = true
			rs = append(rs, restriction{opcode: restrictSQEOp, arg: code})
		}
	}
	for _, code := range runtimeOpcodes {
		addOp(code)
	}
	for op, ok := range allowed {
		if ok && op < len(kernelOp) && Op(op) != OpNone {
			addOp(kernelOp[op])
			if plain := zcPlain(Op(op)); plain != OpNone {
				// What runs where the zero-copy send cannot.
				addOp(kernelOp[plain])
			}
		}
	}
	rs = append(rs, restriction{opcode: restrictSQEFlagsAllowed, arg: sqeFlagsAll})
	ops := len(rs)
	for _, code := range runtimeRegisterOps {
		rs = append(rs, restriction{opcode: restrictRegisterOp, arg: code})
	}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerRestrictions, uintptr(unsafe.Pointer(&rs[0])), uintptr(len(rs)), 0, 0)
	if errno == unix.EINVAL {
		// A kernel before 5.19 knows no buffer-ring register calls (nor
		// has buffer rings); the list without them is all it can take.
		rs = rs[:ops]
		for _, code := range runtimeRegisterOps {
			if code < registerPbufRing {
				rs = append(rs, restriction{opcode: restrictRegisterOp, arg: code})
			}
		}
		_, _, errno = unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerRestrictions, uintptr(unsafe.Pointer(&rs[0])), uintptr(len(rs)), 0, 0)
	}
	if errno != 0 {
		return &UnsupportedError{What: "restricted rings (IORING_REGISTER_RESTRICTIONS)", Errno: errno}
	}
	_, _, errno = unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEnableRings, 0, 0, 0, 0)
	if errno != 0 {
		return &UnsupportedError{What: "enabling a restricted ring", Errno: errno}
	}
	r.allowed = allowed
	return nil
}

// Allowed reports whether the ring may run op: the kernel supports it and,
// on a restricted ring, Options.Restrict lists it.
func (r *Ring) Allowed(op Op) bool {
	return r.supports(op) && (r.allowed == nil || r.allowed[op])
}

// Restricted reports whether the ring runs under Options.Restrict.
func (r *Ring) Restricted() bool { return r.allowed != nil }
