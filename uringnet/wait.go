//go:build linux

package uringnet

import (
	"errors"
	"os"
	"runtime"
	"time"

	"github.com/ourio-go/ourio/core"
)

// How a goroutine waits for its operation's completion.
//
// One goroutine at a time, the poller, waits for the ring's completions
// on behalf of every goroutine of the engine, runs them, and so readies the
// goroutines whose operations finished; the others park on their
// operation's wakeup (wakeup.go). The poller is itself a goroutine with an operation
// in flight: when its own completes it hands the role to the
// longest-waiting parked goroutine, or, with none left, gives it up, so
// that the next goroutine to wait polls for itself.
//
// The poller waits in Go's own netpoller, for the ring's fd to poll
// readable, so no thread sleeps outside the scheduler: a thread that slept
// in io_uring_enter had to hand its P to another thread as it went to
// sleep, and often found no P free when it woke, so each of its waits cost
// two or three thread wake-ups where package net pays a fraction of one.
// In the netpoller the wait costs what a socket's wait costs in package
// net: when every P is busy the scheduler picks up the ring's readiness
// between goroutines, and only an idle process sleeps in epoll_wait.
//
// While the poller is awake, goroutines only queue their operations, and
// the poller submits them all with one system call before it parks. The
// kernel runs the completion work of an operation (the receive itself, once
// data has arrived) on the thread that submitted it. Submitting from the
// poller makes that the thread that last ran the poller, which, in a
// process with nothing else to do, is the one asleep in the netpoller, so
// a round trip costs one thread wake-up. A goroutine that queues while the
// poller is parked submits for itself.
//
// While there is a poller it alone runs completions: the netpoller reports
// the ring's fd only if completions are still waiting when it looks, so a
// goroutine that ran the poller's completion itself would leave the poller
// parked with its operation done.

// opList is a FIFO of parked operations, linked through the operations
// themselves so that waiting allocates nothing. It is guarded by the
// engine's mu.
type opList struct{ head, tail *op }

func (l *opList) push(o *op) {
	o.prev, o.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = o
	} else {
		l.head = o
	}
	l.tail = o
	o.parked = true
}

func (l *opList) remove(o *op) {
	if !o.parked {
		return
	}
	if o.prev != nil {
		o.prev.next = o.next
	} else {
		l.head = o.next
	}
	if o.next != nil {
		o.next.prev = o.prev
	} else {
		l.tail = o.prev
	}
	o.prev, o.next, o.parked = nil, nil, false
}

func (l *opList) popFront() *op {
	o := l.head
	if o != nil {
		l.remove(o)
	}
	return o
}

// flush gets the operations the caller queued to the kernel: it leaves
// them to an awake poller, submits them past a parked one, and with no
// poller submits them and runs the completions that are ready. The caller
// holds e.mu. An error leaves the operations queued for the next flush or
// the poller.
func (e *engine) flush() {
	switch {
	case e.polling.Load() && !e.asleep:
	case e.polling.Load():
		e.ring.Submit()
	default:
		// No goroutine of the engine waits, so none can stall behind
		// this thread if the kernel preempts it in the call: enter raw
		// (direct.go says why that is cheaper).
		e.ring.Run(core.NoWaitRaw)
	}
}

// wait blocks until o, queued and not yet complete, completes. The caller
// holds e.mu; wait releases it.
func (e *engine) wait(o *op) {
	if !e.polling.Load() {
		e.polling.Store(true)
		e.mu.Unlock()
		e.poll(o)
	} else {
		e.waiters.push(o)
		e.mu.Unlock()
	}
	for {
		o.done.take()
		// takeover is written under e.mu before the token, and cleared
		// by this goroutine's poll: reading it here races with neither.
		if !o.takeover {
			return
		}
		// Handed the poller's role while still in flight.
		e.poll(o)
	}
}

// poll submits what is queued, runs completions and parks in the
// netpoller until own's has run, then passes the poller's role on. On return
// own.done holds own's completion.
func (e *engine) poll(own *op) {
	e.mu.Lock()
	e.pollerOp, own.takeover = own, false
	e.mu.Unlock()
	for {
		e.mu.Lock()
		e.asleep = false
		if e.kicked {
			e.kicked = false
			e.parkFile().SetReadDeadline(time.Time{})
		}
		readied := e.readied
		e.dispatch()
		e.ring.Run(core.NoWait)
		if own.state == opIdle {
			e.handOff()
			if own.owed {
				own.owed = false
				own.done.give()
			}
			e.mu.Unlock()
			return
		}
		if e.readied != readied {
			e.mu.Unlock()
			runtime.Gosched()
			continue
		}
		e.asleep = true
		e.onEp = e.ep >= 0 && e.rwWaiting > 0
		rc, ready := e.rc, e.ready
		if e.onEp {
			rc, ready = e.epRc, e.epReady
		}
		e.mu.Unlock()
		if err := rc.Read(ready); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// Nothing else runs this ring's completions: the process
			// cannot go on.
			panic("uringnet: waiting for the ring's fd: " + err.Error())
		}
	}
}

// kickPoller interrupts a parked poller's wait in the netpoller, without
// a system call, by expiring a deadline on the ring's file; the poller
// clears it when it wakes. The caller holds e.mu.
func (e *engine) kickPoller() {
	if e.asleep && !e.kicked {
		e.kicked = true
		e.parkFile().SetReadDeadline(aLongTimeAgo)
	}
}

// parkFile is the file the poller parks on, or last parked on: onEp stays
// as the park set it until the poller wakes. The caller holds e.mu.
func (e *engine) parkFile() *os.File {
	if e.onEp {
		return e.epFile
	}
	return e.file
}

var aLongTimeAgo = time.Unix(1, 0)

// handOff gives the poller's role to the longest-waiting parked operation,
// or gives it up when none is parked. The caller holds e.mu.
func (e *engine) handOff() {
	if w := e.waiters.popFront(); w != nil {
		w.takeover = true
		w.done.give()
		return
	}
	e.polling.Store(false)
}
