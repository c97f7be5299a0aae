//go:build linux

package core

import (
	"errors"
	"runtime"
)

// errStopThread is how a Thread's stop message ends its loop.
var errStopThread = errors.New("ourio: thread stop")

// Thread is a child ring running on its own goroutine, locked to its own OS
// thread, until stopped. Its ring is created on that thread in single-issuer
// mode, so completions are processed where they are consumed. The parent
// reaches it only through MsgRing: Send hands it a task, Stop ends it.
type Thread struct {
	parent *Ring
	child  *Ring
	done   chan error
	ended  chan struct{} // closed once the thread has ended and err is set
	err    error
}

// SpawnThread starts a Thread whose ring shares r's kernel worker pool.
// init, if not nil, runs first on the new thread with the child ring, to
// submit its initial work; an error from init ends the thread at once and
// is returned. SpawnThread returns once the child ring exists.
func (r *Ring) SpawnThread(opts Options, init func(child *Ring) error) (*Thread, error) {
	if r.closed {
		return nil, ErrClosed
	}
	opts.SingleIssuer = true
	r.childOptions(&opts)
	th := &Thread{parent: r, done: make(chan error, 1), ended: make(chan struct{})}
	ready := make(chan error, 1)
	go th.loop(opts, init, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return th, nil
}

func (th *Thread) loop(opts Options, init func(*Ring) error, ready chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	child, err := New(opts)
	if err == nil && init != nil {
		if err = init(child); err != nil {
			child.Close()
		}
	}
	if err != nil {
		ready <- err
		return
	}
	th.child = child
	ready <- nil
	for {
		if err = child.Run(Once); err != nil {
			break
		}
	}
	if err == errStopThread {
		err = nil
	}
	if cerr := child.Close(); err == nil {
		err = cerr
	}
	th.err = err
	th.done <- err // buffered: never blocks
	close(th.ended)
}

// Ring returns the child ring, for use only from callbacks running on the
// thread (they receive it as their Runtime anyway) or for MsgRing targets.
func (th *Thread) Ring() *Ring { return th.child }

// Send hands task (from the parent's GetTask) to the thread through MsgRing;
// ctx runs on the parent when the message is posted. The parent must Run or
// Submit for the message to leave.
func (th *Thread) Send(task *Task, ctx Ctx) (Handle, error) {
	return th.parent.MsgRing(th.child, task, ctx)
}

// Stop tells the thread to finish the completions it has, close its ring and
// exit, and waits for that. It submits a message from the parent ring, so it
// must be called by the parent's owner, before the parent is closed (it
// returns ErrClosed then). It returns the error that ended the thread, if a
// callback returned one, and returns it again once the thread has ended.
func (th *Thread) Stop() error {
	select {
	case <-th.ended:
		return th.result()
	default:
	}
	if th.parent.closed {
		return ErrClosed // the stop message cannot be sent
	}
	task := th.parent.GetTask()
	task.Callback = func(Runtime, *Task) error { return errStopThread }
	if _, err := th.parent.MsgRing(th.child, task, Ctx{}); err != nil {
		if err != ErrClosed {
			return err
		}
		// The thread's ring is closed: the thread has ended or is ending.
	} else if err := th.parent.Submit(); err != nil {
		return err
	}
	<-th.ended
	return th.result()
}

// result returns the error that ended the thread, taking it from Done so
// that it is delivered once.
func (th *Thread) result() error {
	select {
	case <-th.done:
	default:
	}
	return th.err
}

// Done returns a channel that receives the thread's final error when it ends.
func (th *Thread) Done() <-chan error { return th.done }
