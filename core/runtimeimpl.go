package core

// This file holds the few hooks a Runtime other than *Ring needs to hand out
// Tasks that behave like a Ring's: Handle.Cancel and Handle.SetDeadline
// dispatch to the task's runtime, Handle.Live follows the task's life, and
// Task.TakeBuffer and Task.Statx work. Application code never calls them;
// they exist for runtimes such as mock.Ring. None of them may be used on a
// task that belongs to a *Ring.

// CQE flags a runtime sets in Result.Flags, as the kernel does.
const (
	// CQEFlagBuffer says the upper 16 bits of Result.Flags hold the id of
	// the provided buffer in Result.Buf (IORING_CQE_F_BUFFER).
	CQEFlagBuffer = cqeFBuffer
	// CQEFlagMore says a multishot operation will complete again
	// (IORING_CQE_F_MORE); Task.More reports it.
	CQEFlagMore = cqeFMore
	// CQEFlagNotif marks a zero-copy send's notification
	// (IORING_CQE_F_NOTIF): the runtime no longer uses the send's
	// buffer. Task.Notif reports it.
	CQEFlagNotif = cqeFNotif
	// CQEBufferShift is where the buffer id starts in Result.Flags.
	CQEBufferShift = cqeBufferShift
)

// RecvmsgRoom is what a Ring's RecvmsgMultishot takes of each provided
// buffer before the control data: the kernel's io_uring_recvmsg_out header
// (16 bytes) and room for the sender's address (112), so that other
// runtimes lay their buffers out alike.
const RecvmsgRoom = 16 + 112

// NewRuntimeTask returns a new task that belongs to rt, for runtimes other
// than Ring. Handle.Cancel and Handle.SetDeadline on the task's handles call
// rt. The task starts reserved: not in flight, so its handle is not Live.
func NewRuntimeTask(rt Runtime) *Task {
	return &Task{rt: rt, state: taskReserved, bufID: -1, slot: -1}
}

// TaskRuntime returns the runtime t belongs to. It is for runtimes other
// than Ring, to recognise their own tasks.
func TaskRuntime(t *Task) Runtime { return t.rt }

// HandleTask returns the task h names, or nil for the zero Handle, and
// whether h names the task's current use (false once the task has finished
// with FinishTask or been recycled). It is for runtimes other than Ring.
func HandleTask(h Handle) (t *Task, current bool) {
	return h.task, h.task != nil && h.task.gen == h.gen
}

// StartTask marks t, made by NewRuntimeTask, in flight: its Handle is Live
// until FinishTask. It is for runtimes other than Ring.
func StartTask(t *Task) {
	mustBeForeign(t)
	t.state = taskInFlight
}

// FinishTask retires t, made by NewRuntimeTask, after its final completion
// as a Ring recycles its tasks: it drops the Callback, Userdata, Msg, Result
// and any provided buffer, and ends every Handle to it (they are no longer
// Live and cancel nothing). It is for runtimes other than Ring.
func FinishTask(t *Task) {
	mustBeForeign(t)
	t.Userdata = nil
	t.Callback = nil
	t.Msg = 0
	t.Result = Result{}
	t.bufID = -1
	t.oob, t.mflags = nil, 0
	t.gen = (t.gen + 1) & genMask
	t.state = taskFree
}

// SetTaskBuffer records that t.Result.Buf holds provided buffer id, so that
// Task.TakeBuffer can claim it; a negative id records that it holds none. It
// is for runtimes other than Ring.
func SetTaskBuffer(t *Task, id int32) {
	mustBeForeign(t)
	if id < 0 {
		id = -1
	}
	t.bufID = id
}

// TaskBuffer returns the provided buffer t still holds, with ok false when it
// holds none or the callback claimed it with Task.TakeBuffer. A runtime
// recycles a buffer still held when the callback returns. It is for runtimes
// other than Ring.
func TaskBuffer(t *Task) (id uint16, ok bool) {
	if t.bufID < 0 {
		return 0, false
	}
	return uint16(t.bufID), true
}

// SetTaskStatx sets what Task.Statx returns. It is for runtimes other than
// Ring.
func SetTaskStatx(t *Task, st *Statx) {
	mustBeForeign(t)
	t.statx = st
}

func mustBeForeign(t *Task) {
	if t.owner != nil {
		panic("ourio: runtime hook used on a task that belongs to a *core.Ring")
	}
}

// SetTaskMsg sets what Task.OOB and Task.MsgFlags return for a message a
// Recvmsg received. It is for runtimes other than Ring.
func SetTaskMsg(t *Task, oob []byte, flags int) {
	mustBeForeign(t)
	t.oob = oob
	t.mflags = int32(flags)
}
