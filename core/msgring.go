//go:build linux

package core

import "errors"

// errNotRing is returned when MsgRing's target is not a *Ring.
var errNotRing = errors.New("ourio: MsgRing target is not a *core.Ring")

// GetTask reserves a task for MsgRing. Set its Callback, Userdata and Msg,
// then pass it to MsgRing, which hands it to the target ring; the target
// recycles it after running the callback.
func (r *Ring) GetTask() *Task {
	t := r.alloc()
	t.state = taskHeld
	return t
}

// MsgRing hands task to target (IORING_OP_MSG_RING). The target's Run calls
// task.Callback with the target as runtime and Result.Op OpMessage; ctx's
// callback runs on this ring once the message is posted, with an error if it
// could not be. task must come from this ring's GetTask and not have been
// sent already (ErrForeignTask otherwise); if MsgRing itself returns another
// error, task goes back to the pool. The target is usually a ring owned by
// another goroutine or thread: MsgRing is the one call that crosses rings.
func (r *Ring) MsgRing(target Runtime, task *Task, ctx Ctx) (Handle, error) {
	tr, ok := target.(*Ring)
	if !ok || tr == nil {
		return Handle{}, errNotRing
	}
	// Only a task from GetTask that was not sent yet: a task whose own
	// callback is running is recycled when it returns, and a sent task
	// belongs to its target until the target recycles it.
	if task == nil || task.owner != r || task.state != taskHeld {
		return Handle{}, ErrForeignTask
	}
	task.state = taskReserved
	if !r.supports(OpMsgRing) {
		r.release(task)
		return Handle{}, &UnsupportedError{What: OpMsgRing.String()}
	}
	slot, err := tr.post(task)
	if err != nil {
		r.release(task)
		return Handle{}, err
	}
	t, s, err := r.start(OpMsgRing, ctx)
	if err != nil {
		// If the target closed meanwhile, it already returned the task.
		if tr.take(slot) != nil {
			r.release(task)
		}
		return Handle{}, err
	}
	// The slot is kept on the sending task: once posted, task belongs to
	// the target ring's goroutine and must not be written here.
	t.slot = slot
	t.target = Handle{task: task, gen: task.gen}
	t.peer = tr
	if r.ep == nil && tr.ep != nil {
		// io_uring cannot post into an epoll ring: the message goes to
		// the target's mail now and the SQE completes as a NOP.
		if err := tr.mailMessage(inboxFlag | uint64(slot)); err != nil {
			// The target closed meanwhile: a MSG_RING to no ring
			// completes with EBADF, as one to a closed ring would,
			// and msgFailed takes the task back.
			s.opcode = opMsgRing
			s.fd = -1
			return t.Handle(), nil
		}
		s.opcode = opNop
		return t.Handle(), nil
	}
	s.opcode = opMsgRing
	s.fd = int32(tr.fd)
	s.addr = msgData
	s.off = inboxFlag | uint64(slot)
	return t.Handle(), nil
}

// post parks task in the inbox until its message is reaped here.
func (r *Ring) post(task *Task) (int32, error) {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	if r.inboxClosed {
		return 0, ErrClosed
	}
	return r.inbox.put(task), nil
}

// take removes the task parked in slot, or returns nil.
func (r *Ring) take(slot int32) *Task {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	t, _ := r.inbox.take(slot)
	return t
}

// deliver runs a task another ring sent here.
func (r *Ring) deliver(slot int32, res int32) error {
	t := r.take(slot)
	if t == nil {
		r.stale++
		return nil
	}
	return r.runMessage(t, res)
}

// runMessage runs a task that arrived as a message (from MsgRing or Post)
// and returns it to its pool.
func (r *Ring) runMessage(t *Task, res int32) error {
	t.Result = Result{Op: OpMessage, Res: res}
	var err error
	if t.Callback != nil {
		err = t.Callback(r, t)
	}
	r.release(t)
	return err
}

// msgFailed returns a task whose message could not be posted to its owner.
func (r *Ring) msgFailed(t *Task) {
	if t.peer == nil {
		return
	}
	if task := t.peer.take(t.slot); task != nil {
		r.release(task)
	}
}

// dropInbox returns undelivered tasks to their owners when the ring closes.
func (r *Ring) dropInbox() {
	r.inboxMu.Lock()
	inbox := r.inbox.drain()
	r.posted.drain()
	r.inboxClosed = true
	r.inboxMu.Unlock()
	for _, t := range inbox {
		if t != nil {
			r.release(t)
		}
	}
}
