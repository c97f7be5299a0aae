package core

// This file mirrors the io_uring ABI from include/uapi/linux/io_uring.h.
// Only what the runtime uses is declared.

import "unsafe"

// Setup flags (io_uring_params.flags).
const (
	setupCQSize       = 1 << 3
	setupClamp        = 1 << 4
	setupAttachWQ     = 1 << 5
	setupSubmitAll    = 1 << 7
	setupCoopTaskrun  = 1 << 8
	setupTaskrunFlag  = 1 << 9
	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13
	setupNoSQArray    = 1 << 16
)

// Feature bits reported by the kernel (io_uring_params.features).
const (
	featSingleMmap = 1 << 0
	featNoDrop     = 1 << 1
	featFastPoll   = 1 << 5
	featExtArg     = 1 << 8
)

// Opcodes.
const (
	opNop          = 0
	opReadv        = 1
	opWritev       = 2
	opPollAdd      = 6
	opSendmsg      = 9
	opRecvmsg      = 10
	opPollRemove   = 7
	opTimeout      = 11
	opTimeoutRem   = 12
	opAccept       = 13
	opAsyncCancel  = 14
	opLinkTimeout  = 15
	opConnect      = 16
	opOpenat       = 18
	opClose        = 19
	opStatx        = 21
	opRead         = 22
	opWrite        = 23
	opSend         = 26
	opRecv         = 27
	opSplice       = 30
	opShutdown     = 34
	opMsgRing      = 40
	opSocket       = 45
	opSendZC       = 47 // Linux 6.0
	opSendmsgZC    = 48 // Linux 6.1
	opLastRequired = opSocket
)

// SQE flags.
const (
	sqeIOLink       = 1 << 2
	sqeBufferSelect = 1 << 5
)

// io_uring_enter flags.
const (
	enterGetEvents = 1 << 0
)

// SQ ring flags.
const (
	sqCQOverflow = 1 << 1
	sqTaskrun    = 1 << 2
)

// mmap offsets.
const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000
)

// Per-opcode flags.
const (
	timeoutAbs       = 1 << 0
	timeoutETimeSucc = 1 << 5
	pollAddMulti     = 1 << 0
	cancelAll        = 1 << 0
	cancelFd         = 1 << 1
	cancelAny        = 1 << 2
	acceptMultishot  = 1 << 0
	acceptDontWait   = 1 << 1
	recvMultishot    = 1 << 1
	msgData          = 0
	msgRingFlagsPass = 1 << 1
)

// Register opcodes.
const (
	registerProbe      = 8
	registerPbufRing   = 22
	unregisterPbufRing = 23
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFd         uint32
	resv         [3]uint32
	sqOff        sqringOffsets
	cqOff        cqringOffsets
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64 // also addr2
	addr        uint64 // also splice_off_in
	len         uint32
	opFlags     uint32 // rw_flags, msg_flags, timeout_flags, poll32_events, ...
	userData    uint64
	bufIndex    uint16 // also buf_group
	personality uint16
	spliceFdIn  int32 // also file_index
	addr3       uint64
	pad2        uint64
}

// cqe is struct io_uring_cqe (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

type probeOp struct {
	op    uint8
	resv  uint8
	flags uint16
	resv2 uint32
}

type probe struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
	ops    [256]probeOp
}

const probeOpSupported = 1 << 0

type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// timespec is struct __kernel_timespec.
type timespec struct {
	sec  int64
	nsec int64
}

var (
	_ [64 - unsafe.Sizeof(sqe{})]struct{}
	_ [unsafe.Sizeof(sqe{}) - 64]struct{}
	_ [16 - unsafe.Sizeof(cqe{})]struct{}
	_ [120 - unsafe.Sizeof(params{})]struct{}
	_ [unsafe.Sizeof(params{}) - 120]struct{}
)
