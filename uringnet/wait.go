package uringnet

import "github.com/ourio-go/ourio/core"

// How a goroutine waits for its operation's completion.
//
// Completions of socket operations that had to wait (a receive with no data
// yet, an accept with no connection) are made by the kernel's task work and
// become visible when the ring's fd polls readable. One goroutine at a time,
// the poller, waits for that in Go's netpoller on behalf of every goroutine
// of the engine; the others park on their operation's channel. The poller is
// itself a goroutine with an operation in flight: when its own completes it
// hands the role to the longest-waiting parked goroutine, or, with none
// left, gives it up, so that the next goroutine to wait polls for itself.
//
// While there is a poller, it alone runs completions. The netpoller reports
// the ring's fd only if completions are still waiting when it looks, so a
// goroutine that ran the poller's completion itself would leave the poller
// asleep with its operation done.
//
// With one busy connection this makes a round trip cost one thread wake-up,
// as in package net: the netpoller readies the waiting goroutine itself,
// where a separate reaper goroutine would have to ready it again, and the
// scheduler would wake another thread for that. With many connections the
// poller readies the others in the order they began to wait.

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

// flush submits what the caller queued and, when no poller is waiting for
// the ring, runs the completions that are ready. The caller holds e.mu. An
// error leaves the operations queued for the next flush or the poller.
func (e *engine) flush() {
	if e.polling {
		e.ring.Submit()
	} else {
		e.ring.Run(core.NoWait)
	}
}

// wait blocks until o, just submitted and still in flight, completes. The
// caller holds e.mu; wait releases it.
func (e *engine) wait(o *op) {
	if !e.polling {
		e.polling = true
		e.mu.Unlock()
		e.poll(o)
	} else {
		e.waiters.push(o)
		e.mu.Unlock()
	}
	for {
		<-o.done
		if !o.takeover {
			return
		}
		// Handed the poller's role while still in flight.
		o.takeover = false
		e.poll(o)
	}
}

// poll waits for the ring's fd and runs completions until own's has run,
// then passes the poller's role on. On return own.done holds own's
// completion.
func (e *engine) poll(own *op) {
	err := e.rc.Read(func(uintptr) bool {
		e.mu.Lock()
		e.ring.Run(core.NoWait)
		if own.inflight {
			e.mu.Unlock()
			return false
		}
		e.handOff()
		e.mu.Unlock()
		return true
	})
	if err != nil {
		// The netpoller cannot wait for the ring: nothing else will run
		// its completions, so the process cannot go on.
		panic("uringnet: waiting for the ring's fd: " + err.Error())
	}
}

// handOff gives the poller's role to the longest-waiting parked operation,
// or gives it up when none is parked. The caller holds e.mu.
func (e *engine) handOff() {
	if w := e.waiters.popFront(); w != nil {
		w.takeover = true
		w.done <- struct{}{}
		return
	}
	e.polling = false
}
