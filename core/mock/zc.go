package mock

import (
	"bytes"

	"github.com/ourio-go/ourio/core"
)

// Zero-copy sends: SendZC and SendmsgZC complete as Send and Sendmsg do,
// scripted replies and faults included, and then, as from a core.Ring,
// once more with the notification that hands the buffer back.

// SendZC records buf as sent on fd, as Send does, and completes twice as a
// core.Ring's SendZC does: with the result (its length, or the next reply
// scripted for core.OpSendZC on fd) and core.CQEFlagMore, then with the
// notification (core.CQEFlagNotif, result 0). The notification is always
// delivered, also after an error, a cancel or a deadline. A buffer that
// changed before its notification fails the test: the kernel may still
// have been sending from it.
func (m *Ring) SendZC(fd int, buf []byte, flags int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpSendZC, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	return o.task.Handle(), nil
}

// SendmsgZC is Sendmsg with SendZC's two completions; its results are
// scripted for core.OpSendmsgZC. buf must not change before the
// notification.
func (m *Ring) SendmsgZC(fd int, buf, oob []byte, sa core.Sockaddr, flags int, ctx core.Ctx) (core.Handle, error) {
	if sa != nil {
		var raw core.RawSockaddrAny
		if _, err := core.RawSockaddr(sa, &raw); err != nil {
			return core.Handle{}, err
		}
	}
	o := m.submit(core.OpSendmsgZC, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	return o.task.Handle(), nil
}

func isZC(kind core.Op) bool { return kind == core.OpSendZC || kind == core.OpSendmsgZC }

// zcNotif returns the notification that follows the final result of the
// zero-copy send o, with what o's buffers held then, to check at delivery.
func zcNotif(o *op) cqe {
	return cqe{task: o.task, bufID: -1, flags: core.CQEFlagNotif, zcBufs: o.bufs, zcHeld: bytes.Join(o.bufs, nil)}
}

// checkZC reports a zero-copy send whose buffer changed between its result
// and its notification c.
func (m *Ring) checkZC(c *cqe) {
	if !bytes.Equal(bytes.Join(c.zcBufs, nil), c.zcHeld) {
		m.problem("the buffer of a %v changed before its notification", c.task.Result.Op)
	}
}
