package mock

import "fmt"

// CancelOutcome names how a cancel by handle (Cancel, Handle.Cancel) ends
// when it races the operation it cancels. Each is what the kernel returns
// in that case.
type CancelOutcome uint8

const (
	// CancelWins: the cancel stops the operation. The cancel completes
	// with 0, then the operation with ECANCELED. This is what the mock
	// does unless told otherwise.
	CancelWins CancelOutcome = iota
	// CancelTooLate: the operation completed before the cancel reached
	// it. The operation completes with its own result, then the cancel
	// with ENOENT. The operation still needs its result: the cancel waits
	// for the operation's final completion (from a scripted reply, or a
	// deadline) and completes right after it.
	CancelTooLate
	// CancelRunning: the operation is already running and cannot be
	// stopped (the kernel's answer for work executing in its worker
	// threads). The cancel completes with EALREADY at once; the operation
	// goes on and completes with its own result when its reply is
	// scripted. On Linux a worker blocked in the operation is interrupted,
	// so it usually ends with an error: an interrupted openat completes
	// with -512 (ERESTARTSYS, which has no name in syscall), scripted as
	// Errno(512).
	CancelRunning
)

// String returns the outcome's name.
func (c CancelOutcome) String() string {
	switch c {
	case CancelWins:
		return "CancelWins"
	case CancelTooLate:
		return "CancelTooLate"
	case CancelRunning:
		return "CancelRunning"
	}
	return fmt.Sprintf("CancelOutcome(%d)", uint8(c))
}

// ScriptCancel queues outcomes for the next cancels by handle that find
// their operation in flight, one each, in order; later such cancels win
// again. Cancels that find nothing to cancel complete with ENOENT as
// before and take no outcome, and CancelFd and CancelAll always win.
func (m *Ring) ScriptCancel(outcomes ...CancelOutcome) {
	for _, c := range outcomes {
		if c > CancelRunning {
			panic(fmt.Sprintf("mock: ScriptCancel: unknown outcome %v", c))
		}
	}
	m.races = append(m.races, outcomes...)
}

// cancelOutcome decides how the cancel of target ends: a scripted outcome
// first, then the random-fault mode's draw, else CancelWins.
func (m *Ring) cancelOutcome(target *op) CancelOutcome {
	if len(m.races) > 0 {
		c := m.races[0]
		m.races = m.races[1:]
		return c
	}
	return m.faults.cancelRace(target)
}
