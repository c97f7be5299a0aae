package mock

import (
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
)

// submit queues a new operation with a fresh task.
func (m *Ring) submit(kind core.Op, ctx core.Ctx) *op {
	t := core.NewRuntimeTask(m)
	t.Callback = ctx.Callback
	t.Userdata = ctx.Userdata
	t.Msg = ctx.Msg
	t.Result.Op = kind
	core.StartTask(t)
	m.seq++
	o := &op{seq: m.seq, task: t, kind: kind, fd: -1, fd2: -1}
	m.sq = append(m.sq, o)
	m.byTask[t] = o
	return o
}

// own returns the task h names if it belongs to m.
func (m *Ring) own(h core.Handle) (*core.Task, bool, error) {
	t, current := core.HandleTask(h)
	if t == nil {
		return nil, false, core.ErrInvalidHandle
	}
	if core.TaskRuntime(t) != core.Runtime(m) {
		return nil, false, core.ErrForeignTask
	}
	return t, current, nil
}

// Nop completes at once with result 0.
func (m *Ring) Nop(ctx core.Ctx) (core.Handle, error) {
	return m.submit(core.OpNop, ctx).task.Handle(), nil
}

// Timer completes d after Now on the fake clock, when FireTimers or Advance
// makes it fire; a d of zero or less fires on the next Run.
func (m *Ring) Timer(d time.Duration, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpTimer, ctx)
	o.due = m.now.Add(d)
	return o.task.Handle(), nil
}

// TimerAt completes when the fake clock reaches when, or when FireTimers
// makes it fire.
func (m *Ring) TimerAt(when time.Time, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpTimer, ctx)
	o.due = when
	return o.task.Handle(), nil
}

// Cancel cancels the operation h names: the cancel completes with nil and
// then the operation with ECANCELED, or the cancel with ENOENT if the
// operation had already completed.
func (m *Ring) Cancel(h core.Handle, ctx core.Ctx) (core.Handle, error) {
	if _, _, err := m.own(h); err != nil {
		return core.Handle{}, err
	}
	o := m.submit(core.OpCancel, ctx)
	o.cancel = cancelHandle
	o.target = h
	return o.task.Handle(), nil
}

// CancelFd cancels every pending operation on fd; the result is how many.
func (m *Ring) CancelFd(fd int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpCancel, ctx)
	o.cancel = cancelFd
	o.fd = fd
	return o.task.Handle(), nil
}

// CancelAll cancels every pending operation; the result is how many.
func (m *Ring) CancelAll(ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpCancel, ctx)
	o.cancel = cancelAll
	return o.task.Handle(), nil
}

// SetDeadline makes the operation h names complete with ECANCELED if it has
// not completed when the fake clock reaches when, or when ExpireDeadlines
// is called. A later deadline replaces an earlier one.
func (m *Ring) SetDeadline(h core.Handle, when time.Time) error {
	t, current, err := m.own(h)
	if err != nil {
		return err
	}
	o := m.byTask[t]
	if !current || !h.Live() || o == nil {
		return core.ErrTaskDone
	}
	o.deadline = when
	o.hasDeadline = true
	o.expired = false
	return nil
}

// Accept completes with the next reply scripted for core.OpAccept on fd.
func (m *Ring) Accept(fd int, flags int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpAccept, ctx)
	o.fd = fd
	return o.task.Handle(), nil
}

// AcceptMultishot completes once for each reply scripted for core.OpAccept
// on fd, until an error reply or a cancel ends it.
func (m *Ring) AcceptMultishot(fd int, flags int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpAccept, ctx)
	o.fd = fd
	o.multishot = true
	return o.task.Handle(), nil
}

// Connect completes with the next reply scripted for core.OpConnect on fd.
// It refuses at once what a core.Ring's Connect refuses: an address
// core.RawSockaddr cannot convert (EAFNOSUPPORT for another family).
func (m *Ring) Connect(fd int, sa core.Sockaddr, ctx core.Ctx) (core.Handle, error) {
	var raw core.RawSockaddrAny
	if _, err := core.RawSockaddr(sa, &raw); err != nil {
		return core.Handle{}, err
	}
	o := m.submit(core.OpConnect, ctx)
	o.fd = fd
	return o.task.Handle(), nil
}

// Recv copies the next Data scripted for core.OpRecv on fd into buf, or
// completes with the next other reply.
func (m *Ring) Recv(fd int, buf []byte, flags int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpRecv, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	return o.task.Handle(), nil
}

// RecvMultishot completes once for each reply scripted for core.OpRecv on
// fd, delivering data in a buffer taken from br, until EOF, an error or a
// cancel ends it; it fails with ENOBUFS when br has no free buffer. br must
// come from this Ring's NewBufRing.
func (m *Ring) RecvMultishot(fd int, br *core.BufRing, ctx core.Ctx) (core.Handle, error) {
	return m.submitRecvMultishot(fd, br, 0, ctx)
}

func (m *Ring) submitRecvMultishot(fd int, br *core.BufRing, limit int, ctx core.Ctx) (core.Handle, error) {
	if br == nil || !m.ownsBufRing(br) {
		return core.Handle{}, core.ErrForeignTask
	}
	o := m.submit(core.OpRecv, ctx)
	o.fd = fd
	o.br = br
	o.multishot = true
	o.limit = limit
	return o.task.Handle(), nil
}

// RecvMultishotLimit is RecvMultishot that ends once it has delivered limit
// bytes, with the completion that reaches it.
func (m *Ring) RecvMultishotLimit(fd int, br *core.BufRing, limit uint32, ctx core.Ctx) (core.Handle, error) {
	if limit == 0 {
		return core.Handle{}, syscall.EINVAL
	}
	return m.submitRecvMultishot(fd, br, int(limit), ctx)
}

// Send records buf as sent on fd and completes with its length, or with the
// next reply scripted for core.OpSend on fd.
func (m *Ring) Send(fd int, buf []byte, flags int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpSend, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	return o.task.Handle(), nil
}

// Read copies the next Data scripted for core.OpRead on fd into buf.
func (m *Ring) Read(fd int, buf []byte, off int64, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpRead, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	return o.task.Handle(), nil
}

// Write records buf as written on fd and completes with its length, or
// with the next reply scripted for core.OpWrite on fd.
func (m *Ring) Write(fd int, buf []byte, off int64, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpWrite, ctx)
	o.fd = fd
	o.bufs = [][]byte{buf}
	return o.task.Handle(), nil
}

// Readv scatters the next Data scripted for core.OpReadv on fd over bufs.
func (m *Ring) Readv(fd int, bufs [][]byte, off int64, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpReadv, ctx)
	o.fd = fd
	o.bufs = append([][]byte(nil), bufs...)
	return o.task.Handle(), nil
}

// Writev records bufs as written on fd and completes with their length, or
// with the next reply scripted for core.OpWritev on fd.
func (m *Ring) Writev(fd int, bufs [][]byte, off int64, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpWritev, ctx)
	o.fd = fd
	o.bufs = append([][]byte(nil), bufs...)
	return o.task.Handle(), nil
}

// Splice completes with the next reply scripted for core.OpSplice on fdIn.
func (m *Ring) Splice(fdIn int, offIn int64, fdOut int, offOut int64, n int, flags uint32, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpSplice, ctx)
	o.fd = fdIn
	o.fd2 = fdOut
	return o.task.Handle(), nil
}

// CloseFd closes fd in the Ring's descriptor tracking and completes with 0,
// or with the next reply scripted for core.OpClose on fd. Closing a
// descriptor that is not open is reported to the test and fails with EBADF.
func (m *Ring) CloseFd(fd int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpClose, ctx)
	o.fd = fd
	return o.task.Handle(), nil
}

// Poll completes with the next reply scripted for core.OpPoll on fd, the
// ready mask.
func (m *Ring) Poll(fd int, events uint32, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpPoll, ctx)
	o.fd = fd
	return o.task.Handle(), nil
}

// PollMultishot completes once for each reply scripted for core.OpPoll on
// fd, until an error reply or a cancel ends it.
func (m *Ring) PollMultishot(fd int, events uint32, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpPoll, ctx)
	o.fd = fd
	o.multishot = true
	return o.task.Handle(), nil
}

// Socket completes with the next reply scripted for core.OpSocket on NoFd,
// usually Res(fd) with the new descriptor.
func (m *Ring) Socket(domain, typ, proto int, ctx core.Ctx) (core.Handle, error) {
	return m.submit(core.OpSocket, ctx).task.Handle(), nil
}

// Shutdown completes with 0, or with the next reply scripted for
// core.OpShutdown on fd.
func (m *Ring) Shutdown(fd int, how int, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpShutdown, ctx)
	o.fd = fd
	return o.task.Handle(), nil
}

// Openat completes with the next reply scripted for core.OpOpenat on dirfd,
// usually Res(fd) with the new descriptor.
func (m *Ring) Openat(dirfd int, path string, flags int, mode uint32, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpOpenat, ctx)
	o.fd = dirfd
	o.path = path
	return o.task.Handle(), nil
}

// Statx completes with the next reply scripted for core.OpStatx on dirfd,
// usually Stat.
func (m *Ring) Statx(dirfd int, path string, flags int, mask uint32, ctx core.Ctx) (core.Handle, error) {
	o := m.submit(core.OpStatx, ctx)
	o.fd = dirfd
	o.path = path
	core.SetTaskStatx(o.task, new(core.Statx))
	return o.task.Handle(), nil
}

// GetTask reserves a task for MsgRing.
func (m *Ring) GetTask() *core.Task {
	t := core.NewRuntimeTask(m)
	m.reserved[t] = true
	return t
}

// MsgRing hands task, reserved with GetTask, to target, another mock.Ring,
// on this Ring's next Run; target's Run then runs it with Result.Op
// core.OpMessage, and ctx's callback runs here with result 0.
func (m *Ring) MsgRing(target core.Runtime, task *core.Task, ctx core.Ctx) (core.Handle, error) {
	tr, ok := target.(*Ring)
	if !ok || tr == nil {
		return core.Handle{}, errNotMock
	}
	if task == nil || !m.reserved[task] {
		return core.Handle{}, core.ErrForeignTask
	}
	delete(m.reserved, task)
	o := m.submit(core.OpMsgRing, ctx)
	o.peer = tr
	o.msg = task
	return o.task.Handle(), nil
}

// Post hands ctx to the mock from any goroutine, like core.Ring.Post: the
// next Run runs ctx.Callback with Result.Op core.OpMessage. Post is safe for
// concurrent use.
func (m *Ring) Post(ctx core.Ctx) error {
	t := core.NewRuntimeTask(m)
	t.Callback, t.Userdata, t.Msg = ctx.Callback, ctx.Userdata, ctx.Msg
	m.inboxMu.Lock()
	m.inbox = append(m.inbox, t)
	m.inboxMu.Unlock()
	return nil
}

// NewBufRing creates a buffer ring of count buffers of size bytes for
// RecvMultishot. It is released when the test ends.
func (m *Ring) NewBufRing(group uint16, count uint16, size int) (*core.BufRing, error) {
	for _, br := range m.bufRings {
		if br.Group() == group {
			return nil, syscall.EEXIST
		}
	}
	br, err := core.NewUnregisteredBufRing(group, count, size)
	if err != nil {
		return nil, err
	}
	m.bufRings = append(m.bufRings, br)
	return br, nil
}

func (m *Ring) ownsBufRing(br *core.BufRing) bool {
	for _, b := range m.bufRings {
		if b == br {
			return true
		}
	}
	return false
}

// Run completes what can complete and runs callbacks as mode says:
// core.UntilDone until no operation can complete any more, core.Once at
// least one completion (or ErrWouldBlock when none can happen), core.NoWait
// what is ready. A callback's error stops Run and is returned; the
// completions not yet run stay queued for the next Run.
func (m *Ring) Run(mode core.RunMode) error {
	if !m.running.CompareAndSwap(false, true) {
		return core.ErrBusy
	}
	defer m.running.Store(false)
	switch mode {
	case core.NoWait, core.NoWaitRaw:
		m.step()
		return m.drain()
	case core.Once:
		m.step()
		if len(m.cq) == 0 {
			return m.wouldBlock()
		}
		return m.drain()
	default:
		for {
			m.step()
			if len(m.cq) == 0 {
				return nil
			}
			if err := m.drain(); err != nil {
				return err
			}
		}
	}
}
