//go:build linux

package core

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// supportedOps records which opcodes the kernel supports, probed once per
// process with IORING_REGISTER_PROBE.
var (
	probeOnce sync.Once
	probeErr  error
	kernelOps [256]bool
)

func loadProbe(fd int) error {
	probeOnce.Do(func() {
		p := new(probe)
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), registerProbe, uintptr(unsafe.Pointer(p)), uintptr(len(p.ops)), 0, 0)
		if errno != 0 {
			// Kernels before 5.6 cannot probe; assume the oldest set.
			if errno != unix.EINVAL {
				probeErr = errno
				return
			}
			for op := 0; op <= opConnect; op++ {
				kernelOps[op] = true
			}
			return
		}
		for i := 0; i < int(p.opsLen) && i < len(p.ops); i++ {
			kernelOps[p.ops[i].op] = p.ops[i].flags&probeOpSupported != 0
		}
	})
	return probeErr
}

// opDisabled lets tests play a kernel that lacks an operation.
var opDisabled [opInternal]bool

func opSupported(op Op) bool {
	if plain := zcPlain(op); plain != OpNone {
		// Where the kernel lacks the zero-copy send, the plain one
		// stands in (kernelZeroCopy says which runs).
		return opSupported(plain)
	}
	if op == OpNone || op >= opInternal || opDisabled[op] {
		return false
	}
	if int(op) >= len(kernelOp) {
		return true // not a kernel operation
	}
	return kernelOps[kernelOp[op]]
}

// Supported reports whether the running kernel can perform op. Operations it
// cannot perform return an error matching errors.ErrUnsupported. OpSendZC
// and OpSendmsgZC are performed wherever the plain send and sendmsg are,
// copying where the kernel cannot send without: Ring.ZeroCopy says which.
func Supported(op Op) bool { return opSupported(op) }

// zcPlain returns the plain send that stands in for the zero-copy send op
// where the kernel lacks it, or OpNone when op is not a zero-copy send.
func zcPlain(op Op) Op {
	switch op {
	case OpSendZC:
		return OpSend
	case OpSendmsgZC:
		return OpSendmsg
	}
	return OpNone
}

// kernelZeroCopy reports whether the kernel performs the zero-copy send op
// itself (IORING_OP_SEND_ZC from Linux 6.0, IORING_OP_SENDMSG_ZC from 6.1).
func kernelZeroCopy(op Op) bool {
	return zcPlain(op) != OpNone && !opDisabled[op] && kernelOps[kernelOp[op]]
}

// kernelOp maps an operation to the opcode whose support the probe reports.
var kernelOp = [...]uint8{
	OpNop: opNop, OpTimer: opTimeout, OpCancel: opAsyncCancel,
	OpAccept: opAccept, OpConnect: opConnect, OpRecv: opRecv, OpSend: opSend,
	OpRead: opRead, OpWrite: opWrite, OpReadv: opReadv, OpWritev: opWritev,
	OpSplice: opSplice, OpClose: opClose, OpPoll: opPollAdd, OpSocket: opSocket,
	OpShutdown: opShutdown, OpOpenat: opOpenat, OpStatx: opStatx,
	OpMsgRing: opMsgRing, OpSendmsg: opSendmsg, OpRecvmsg: opRecvmsg,
	OpSendZC: opSendZC, OpSendmsgZC: opSendmsgZC,
}
