package core

// RunMode says how long Run waits.
type RunMode int

const (
	// UntilDone runs until no submitted task is left.
	UntilDone RunMode = iota
	// Once waits for at least one completion and runs what is ready.
	Once
	// NoWait submits and runs what is ready without waiting.
	NoWait
	// NoWaitRaw is NoWait entering the kernel with a raw system call,
	// which Go's scheduler does not see: it saves the scheduler's
	// bookkeeping and, in a process that was idle, the wake-up of the
	// runtime's monitor thread. The price: a thread the kernel preempts
	// inside the call (submitting can wake other threads, and the kernel
	// often preempts the waker as the call returns) keeps its P, and every
	// goroutine queued on that P waits out the preemption. For a caller
	// that knows nothing of its own waits behind it.
	NoWaitRaw
)
