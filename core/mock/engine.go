package mock

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
)

// op is one submitted operation as the emulated kernel sees it.
type op struct {
	seq       uint64
	task      *core.Task
	kind      core.Op
	multishot bool
	fd, fd2   int
	bufs      [][]byte
	oob       []byte // a Recvmsg's control buffer
	oobSpace  int    // a multishot Recvmsg's room for control data
	br        *core.BufRing
	limit     int // bytes a limited multishot receive may still take; 0 for no limit
	path      string

	due   time.Time // timers
	fired bool

	deadline    time.Time
	hasDeadline bool
	expired     bool

	cancel  cancelMode
	target  core.Handle
	waitFor *op // CancelTooLate: the target whose final completion the cancel follows

	peer *Ring      // MsgRing target
	msg  *core.Task // the task MsgRing carries

	done bool // the final completion is queued
}

type cancelMode uint8

const (
	cancelHandle cancelMode = iota
	cancelFd
	cancelAll
)

func (o *op) String() string {
	var b strings.Builder
	b.WriteString(o.kind.String())
	switch o.kind {
	case core.OpTimer:
	case core.OpSocket:
	case core.OpCancel:
		if o.waitFor != nil {
			fmt.Fprintf(&b, " (too late for %v, waiting for its completion)", o.waitFor)
		}
	case core.OpOpenat, core.OpStatx:
		fmt.Fprintf(&b, " %q (dirfd %d)", o.path, o.fd)
	default:
		fmt.Fprintf(&b, " fd %d", o.fd)
	}
	if o.multishot {
		b.WriteString(" (multishot)")
	}
	return b.String()
}

// cqe is a completion waiting for its callback.
type cqe struct {
	task   *core.Task
	res    int32
	flags  uint32
	buf    []byte
	bufID  int32
	br     *core.BufRing
	peer   netip.AddrPort
	accept bool
	statx  *core.Statx
	msg    bool       // a task another ring sent here
	link   *core.Task // a task this completion must stay ordered with (see reorder)
	// A received message's sender, control data and flags (recvmsg).
	recvmsg  bool
	oob      []byte
	msgFlags int
	// A zero-copy send's notification: the send's buffers, and what
	// they held at its result.
	zcBufs [][]byte
	zcHeld []byte
}

func (c *cqe) final() bool { return c.flags&core.CQEFlagMore == 0 }

// inFlight returns the operations submitted and not yet completed for the
// last time.
func (m *Ring) inFlight() []*op {
	var ops []*op
	for _, o := range m.pending {
		if !o.done {
			ops = append(ops, o)
		}
	}
	for _, o := range m.sq {
		if !o.done {
			ops = append(ops, o)
		}
	}
	return ops
}

// step plays the kernel: it takes the submitted operations, the messages
// other rings sent, and completes, in submission order, every operation
// whose result is known.
func (m *Ring) step() {
	m.pending = append(m.pending, m.sq...)
	clear(m.sq)
	m.sq = m.sq[:0]

	m.inboxMu.Lock()
	msgs := m.inbox
	m.inbox = nil
	m.inboxMu.Unlock()
	for _, t := range msgs {
		m.cq = append(m.cq, cqe{task: t, bufID: -1, msg: true})
	}

	start := len(m.cq)

	for i := 0; i < len(m.pending); i++ {
		if o := m.pending[i]; !o.done {
			m.progress(o)
		}
	}
	keep := m.pending[:0]
	for _, o := range m.pending {
		if !o.done {
			keep = append(keep, o)
		}
	}
	clear(m.pending[len(keep):])
	m.pending = keep
	m.reorder(start)
}

// post queues a completion of o; without CQEFlagMore it is the last.
func (m *Ring) post(o *op, c cqe) {
	c.task = o.task
	if c.br == nil {
		c.bufID = -1
	}
	if isZC(o.kind) && c.final() {
		// As on a core.Ring, the notification follows the result.
		c.flags |= more
		m.cq = append(m.cq, c)
		c = zcNotif(o)
	}
	if c.final() {
		o.done = true
	}
	m.cq = append(m.cq, c)
}

func (m *Ring) postRes(o *op, res int32) { m.post(o, cqe{res: res}) }

// peek returns the next reply scripted for op on fd, or nil.
func (m *Ring) peek(fd int, kind core.Op) *Reply {
	q := m.scripts[scriptKey{fd, kind}]
	if len(q) == 0 {
		return nil
	}
	return &q[0]
}

func (m *Ring) pop(fd int, kind core.Op) {
	k := scriptKey{fd, kind}
	q := m.scripts[k]
	q[0] = Reply{}
	if len(q) == 1 {
		delete(m.scripts, k)
	} else {
		m.scripts[k] = q[1:]
	}
}

// next returns and consumes the next reply for o, or nil.
func (m *Ring) next(o *op) *Reply {
	r := m.peek(o.fd, o.kind)
	if r == nil {
		return nil
	}
	v := *r
	m.pop(o.fd, o.kind)
	return &v
}

const more = core.CQEFlagMore

// progress completes o if its result is known.
func (m *Ring) progress(o *op) {
	if o.hasDeadline && (o.expired || !o.deadline.After(m.now)) {
		m.postRes(o, -int32(syscall.ECANCELED))
		return
	}
	switch o.kind {
	case core.OpNop:
		m.postRes(o, 0)
	case core.OpTimer:
		if o.fired || !o.due.After(m.now) {
			m.postRes(o, 0)
		}
	case core.OpCancel:
		m.runCancel(o)
	case core.OpMsgRing:
		o.peer.inboxMu.Lock()
		o.peer.inbox = append(o.peer.inbox, o.msg)
		o.peer.inboxMu.Unlock()
		o.msg = nil
		m.postRes(o, 0)
	case core.OpSend, core.OpWrite, core.OpWritev, core.OpSendmsg, core.OpSendZC, core.OpSendmsgZC:
		m.output(o)
	case core.OpClose:
		wasOpen := m.closeFd(o.fd)
		res := int32(0)
		if r := m.next(o); r != nil {
			res = r.value()
		} else if !wasOpen {
			res = -int32(syscall.EBADF)
		}
		m.postRes(o, res)
	case core.OpShutdown:
		res := int32(0)
		if r := m.next(o); r != nil {
			res = r.value()
		}
		m.postRes(o, res)
	case core.OpRecv:
		if o.multishot {
			m.recvMultishot(o)
		} else {
			m.input(o)
		}
	case core.OpRead, core.OpReadv:
		m.input(o)
	case core.OpRecvmsg:
		m.inputMsg(o)
	case core.OpAccept, core.OpSocket, core.OpOpenat:
		for !o.done {
			r := m.next(o)
			if r == nil {
				return
			}
			c := cqe{res: r.value(), peer: r.peer, accept: o.kind == core.OpAccept}
			if c.res >= 0 {
				m.opened(int(c.res), o.kind.String())
				c.flags = m.multishotFlags(o, r)
			}
			m.post(o, c)
		}
	case core.OpPoll:
		for !o.done {
			r := m.next(o)
			if r == nil {
				return
			}
			c := cqe{res: r.value()}
			if c.res >= 0 {
				c.flags = m.multishotFlags(o, r)
			}
			m.post(o, c)
		}
	case core.OpStatx:
		if r := m.next(o); r != nil {
			c := cqe{res: r.value()}
			if r.isStatx {
				c.res, c.statx = 0, r.statx
			}
			m.post(o, c)
		}
	default: // Connect, Splice
		if r := m.next(o); r != nil {
			m.postRes(o, r.value())
		}
	}
}

// runCancel completes a cancel and then, as the kernel orders them, the
// operations it cancels, which were submitted before it.
func (m *Ring) runCancel(c *op) {
	var victims []*op
	if c.cancel == cancelHandle {
		if w := c.waitFor; w != nil {
			// CancelTooLate: the cancel follows its target's final
			// completion, as the kernel's ENOENT follows it.
			if w.done {
				m.post(c, cqe{res: -int32(syscall.ENOENT), link: w.task})
				c.waitFor = nil
			}
			return
		}
		t, current := core.HandleTask(c.target)
		o := m.byTask[t]
		if !current || o == nil || o.done || o.seq >= c.seq {
			// The kernel's ENOENT follows a completion it missed.
			var link *core.Task
			if current && o != nil {
				link = t
			}
			m.post(c, cqe{res: -int32(syscall.ENOENT), link: link})
			return
		}
		switch m.cancelOutcome(o) {
		case CancelRunning:
			m.postRes(c, -int32(syscall.EALREADY))
			return
		case CancelTooLate:
			c.waitFor = o
			return
		}
		victims = append(victims, o)
	} else {
		for _, o := range m.pending {
			if o.done || o.seq >= c.seq || o.kind == core.OpCancel {
				continue
			}
			if c.cancel == cancelFd && o.fd != c.fd && o.fd2 != c.fd {
				continue
			}
			victims = append(victims, o)
		}
	}
	res := int32(0)
	if c.cancel != cancelHandle {
		res = int32(len(victims))
	}
	m.postRes(c, res)
	for _, o := range victims {
		m.post(o, cqe{res: -int32(syscall.ECANCELED), link: c.task})
	}
}

// output completes a send or write, recording the bytes it sends.
func (m *Ring) output(o *op) {
	if m.resetFds[o.fd] {
		m.postRes(o, -int32(syscall.EPIPE))
		return
	}
	var data []byte
	for _, b := range o.bufs {
		data = append(data, b...)
	}
	n := int32(len(data))
	if r := m.next(o); r != nil {
		if r.reset {
			m.resetConn(o)
			return
		}
		n = r.value()
	} else if (o.kind == core.OpSend || o.kind == core.OpSendZC) && m.faults.inject(FaultReset, o) {
		m.dropStream(o.fd)
		m.resetConn(o)
		return
	} else if n > 1 && m.faults.inject(FaultShortSend, o) {
		n = int32(m.faults.shorten(int(n)))
	}
	if n > int32(len(data)) {
		n = int32(len(data))
	}
	if n > 0 {
		m.sent[o.fd] = append(m.sent[o.fd], data[:n]...)
	}
	m.postRes(o, n)
}

// resetConn fails o with ECONNRESET and marks its descriptor reset: the
// peer reset the connection.
func (m *Ring) resetConn(o *op) {
	m.resetFds[o.fd] = true
	m.postRes(o, -int32(syscall.ECONNRESET))
}

// dropStream discards, when the random-fault mode resets the connection on
// fd, the rest of the stream scripted for its receives: the data up to and
// including the reply that ends it (EOF, an error or ConnReset). What is
// scripted after that is for a later connection with the same number.
func (m *Ring) dropStream(fd int) {
	for {
		r := m.peek(fd, core.OpRecv)
		if r == nil {
			return
		}
		more := r.isData && len(r.data) > 0
		m.pop(fd, core.OpRecv)
		if !more {
			return
		}
	}
}

// takeReset reports whether r, the next reply for o, resets the
// connection, scripted or injected, and if so consumes a scripted one and
// completes o.
func (m *Ring) takeReset(o *op, kind core.Op, r *Reply) bool {
	switch {
	case r.reset:
		m.pop(o.fd, kind)
	case kind == core.OpRecv && m.faults.inject(FaultReset, o):
		m.dropStream(o.fd)
	default:
		return false
	}
	m.resetConn(o)
	return true
}

// transfer returns how many bytes of r one completion with room for
// space takes: bounded by r's Chunk, and shortened by the random-fault
// mode.
func (m *Ring) transfer(o *op, r *Reply, space int) int {
	n := min(space, len(r.data))
	if r.chunk > 0 {
		n = min(n, r.chunk)
	}
	if n > 1 && m.faults.inject(FaultShortRecv, o) {
		n = m.faults.shorten(n)
	}
	return n
}

// multishotFlags returns the flags of a successful completion of o that
// takes r: CQEFlagMore, unless o is single-shot or r or the random-fault
// mode ends it.
func (m *Ring) multishotFlags(o *op, r *Reply) uint32 {
	if !o.multishot || r.final || m.faults.inject(FaultEndMultishot, o) {
		return 0
	}
	return more
}

// input completes a recv, read or readv with the next scripted reply.
func (m *Ring) input(o *op) {
	if m.resetFds[o.fd] {
		m.postRes(o, 0)
		return
	}
	r := m.peek(o.fd, o.kind)
	if r == nil || m.takeReset(o, o.kind, r) {
		return
	}
	if !r.isData || len(r.data) == 0 {
		res := r.value()
		m.pop(o.fd, o.kind)
		m.postRes(o, res)
		return
	}
	space := 0
	for _, b := range o.bufs {
		space += len(b)
	}
	want := m.transfer(o, r, space)
	n := 0
	for _, b := range o.bufs {
		n += copy(b, r.data[n:want])
	}
	r.data = r.data[n:]
	if len(r.data) == 0 {
		m.pop(o.fd, o.kind)
	}
	m.postRes(o, int32(n))
}

// recvMultishot completes a multishot receive once for each scripted reply,
// taking a buffer from its ring for each.
func (m *Ring) recvMultishot(o *op) {
	for !o.done {
		if m.resetFds[o.fd] {
			m.postRes(o, 0)
			return
		}
		r := m.peek(o.fd, core.OpRecv)
		if r == nil || m.takeReset(o, core.OpRecv, r) {
			return
		}
		if !r.isData || len(r.data) == 0 {
			res := r.value()
			m.pop(o.fd, core.OpRecv)
			c := cqe{res: res}
			if res > 0 {
				c.flags = m.multishotFlags(o, r)
			}
			m.post(o, c)
			continue
		}
		if m.faults.inject(FaultNoBufs, o) {
			m.postRes(o, -int32(syscall.ENOBUFS))
			return
		}
		id, buf, ok := o.br.Take()
		if !ok {
			m.postRes(o, -int32(syscall.ENOBUFS))
			return
		}
		n := copy(buf, r.data[:m.transfer(o, r, len(buf))])
		flags := core.CQEFlagBuffer | uint32(id)<<core.CQEBufferShift | m.multishotFlags(o, r)
		r.data, r.final = r.data[n:], false
		if len(r.data) == 0 {
			m.pop(o.fd, core.OpRecv)
		}
		if o.limit > 0 {
			// As in the kernel, the receive that reaches the limit
			// fills its buffer and ends the operation.
			if o.limit -= n; o.limit <= 0 {
				flags &^= more
			}
		}
		m.post(o, cqe{res: int32(n), flags: flags, buf: buf[:n], bufID: int32(id), br: o.br})
	}
}

// drain runs the queued completions' callbacks in order, stopping at the
// first error.
func (m *Ring) drain() error {
	for len(m.cq) > 0 {
		c := m.cq[0]
		m.cq[0] = cqe{}
		m.cq = m.cq[1:]
		if err := m.deliver(&c); err != nil {
			return err
		}
	}
	m.cq = nil
	return nil
}

// deliver runs one completion's callback and retires its task after the
// final completion.
func (m *Ring) deliver(c *cqe) error {
	t := c.task
	if c.msg {
		t.Result = core.Result{Op: core.OpMessage}
	} else {
		t.Result.Res = c.res
		t.Result.Flags = c.flags
		t.Result.Buf = c.buf
	}
	core.SetTaskBuffer(t, c.bufID)
	if c.accept {
		core.AddrPortToRawSockaddr(c.peer, t.RemoteSockaddr())
	}
	if c.recvmsg {
		*t.RemoteSockaddr() = core.RawSockaddrAny{}
		if c.peer.IsValid() {
			core.AddrPortToRawSockaddr(c.peer, t.RemoteSockaddr())
		}
		core.SetTaskMsg(t, c.oob, c.msgFlags)
	} else if t.Result.Op == core.OpRecvmsg {
		// A completion without a datagram shows nothing of the last.
		*t.RemoteSockaddr() = core.RawSockaddrAny{}
		core.SetTaskMsg(t, nil, 0)
	}
	if c.flags&core.CQEFlagNotif != 0 {
		m.checkZC(c)
	}
	if c.statx != nil {
		st := *c.statx
		core.SetTaskStatx(t, &st)
	}
	var err error
	if t.Callback != nil {
		err = t.Callback(m, t)
	}
	if id, ok := core.TaskBuffer(t); ok {
		c.br.Recycle(id)
		core.SetTaskBuffer(t, -1)
	}
	if c.msg || c.final() {
		if !c.msg {
			delete(m.byTask, t)
		}
		core.FinishTask(t)
	}
	return err
}

// wouldBlock describes what Run(Once) would wait for.
func (m *Ring) wouldBlock() error {
	ops := m.inFlight()
	if len(ops) == 0 {
		return fmt.Errorf("%w (nothing is pending)", ErrWouldBlock)
	}
	names := make([]string, len(ops))
	for i, o := range ops {
		names[i] = o.String()
	}
	return fmt.Errorf("%w (pending: %s)", ErrWouldBlock, strings.Join(names, ", "))
}
