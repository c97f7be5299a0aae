package core

// Op names an operation a Task performed.
type Op uint8

// The operations a runtime performs.
const (
	OpNone Op = iota
	OpNop
	OpTimer
	OpCancel
	OpAccept
	OpConnect
	OpRecv
	OpSend
	OpRead
	OpWrite
	OpReadv
	OpWritev
	OpSplice
	OpClose
	OpPoll
	OpSocket
	OpShutdown
	OpOpenat
	OpStatx
	OpMsgRing
	OpSendmsg
	OpRecvmsg
	// OpSendZC is a zero-copy send (SendZC).
	OpSendZC
	// OpSendmsgZC is a zero-copy sendmsg (SendmsgZC).
	OpSendmsgZC
	// OpMessage marks a task delivered to this runtime by another runtime's
	// MsgRing.
	OpMessage
	opInternal
)

var opNames = [...]string{
	OpNone: "none", OpNop: "nop", OpTimer: "timer", OpCancel: "cancel",
	OpAccept: "accept", OpConnect: "connect", OpRecv: "recv", OpSend: "send",
	OpRead: "read", OpWrite: "write", OpReadv: "readv", OpWritev: "writev",
	OpSplice: "splice", OpClose: "close", OpPoll: "poll", OpSocket: "socket",
	OpShutdown: "shutdown", OpOpenat: "openat", OpStatx: "statx",
	OpMsgRing: "msgring", OpSendmsg: "sendmsg", OpRecvmsg: "recvmsg",
	OpSendZC: "sendzc", OpSendmsgZC: "sendmsgzc", OpMessage: "message", opInternal: "internal",
}

// String returns the operation's name.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}
