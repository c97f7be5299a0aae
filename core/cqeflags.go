package core

// The completion flags a Result carries are io_uring's (IORING_CQE_F_*) on
// every runtime: the kernel sets them on a Ring, and other runtimes set them
// as the kernel would, so Task.More and Task.TakeBuffer read one encoding.
const (
	cqeFBuffer     = 1 << 0 // IORING_CQE_F_BUFFER: the upper 16 bits name a provided buffer
	cqeFMore       = 1 << 1 // IORING_CQE_F_MORE: a multishot operation completes again
	cqeFNotif      = 1 << 3 // IORING_CQE_F_NOTIF: a zero-copy send's notification
	cqeBufferShift = 16     // IORING_CQE_BUFFER_SHIFT
)
