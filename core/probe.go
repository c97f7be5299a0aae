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
	if op == OpNone || op >= opInternal || opDisabled[op] {
		return false
	}
	if int(op) >= len(kernelOp) {
		return true // not a kernel operation
	}
	return kernelOps[kernelOp[op]]
}

// Supported reports whether the running kernel can perform op. Operations it
// cannot perform return an error matching errors.ErrUnsupported.
func Supported(op Op) bool { return opSupported(op) }

// kernelOp maps an operation to the opcode whose support the probe reports.
var kernelOp = [...]uint8{
	OpNop: opNop, OpTimer: opTimeout, OpCancel: opAsyncCancel,
	OpAccept: opAccept, OpConnect: opConnect, OpRecv: opRecv, OpSend: opSend,
	OpRead: opRead, OpWrite: opWrite, OpReadv: opReadv, OpWritev: opWritev,
	OpSplice: opSplice, OpClose: opClose, OpPoll: opPollAdd, OpSocket: opSocket,
	OpShutdown: opShutdown, OpOpenat: opOpenat, OpStatx: opStatx,
	OpMsgRing: opMsgRing, OpSendmsg: opSendmsg, OpRecvmsg: opRecvmsg,
}
