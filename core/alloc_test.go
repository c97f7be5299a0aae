//go:build linux

package core

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEchoAllocations: a receive, a send and the callbacks that chain them
// allocate nothing once the pools are warm, on either backend. The
// receive waits for readiness each round (the peer writes after it is
// armed), which is the epoll backend's parking path.
func TestEchoAllocations(t *testing.T) {
	r := ktRing(t, Options{Entries: 64})
	a, b := ktSocketPair(t)
	buf := make([]byte, 64)
	msg := []byte("ping")
	var got int
	onRecv := Ctx{Callback: func(_ Runtime, t *Task) error { got += t.N(); return t.Err() }}
	onSend := Ctx{Callback: func(_ Runtime, t *Task) error { return t.Err() }}
	step := func() {
		if _, err := r.Recv(b, buf, 0, onRecv); err != nil {
			panic(err)
		}
		if err := r.Run(NoWait); err != nil {
			panic(err)
		}
		if _, err := r.Send(a, msg, 0, onSend); err != nil {
			panic(err)
		}
		if err := r.Run(UntilDone); err != nil {
			panic(err)
		}
	}
	for range 100 {
		step()
	}
	allocs := testing.AllocsPerRun(1000, step)
	require.Zero(t, allocs, "allocations per echo step")
	require.Equal(t, 1101*len(msg), got)
}

// TestTimerPostAllocations: timers, deadlines and Post from another
// goroutine's point of view allocate nothing in steady state.
func TestTimerPostAllocations(t *testing.T) {
	r := ktRing(t, Options{Entries: 64})
	_, b := ktSocketPair(t)
	buf := make([]byte, 8)
	n := 0
	ctx := Ctx{Callback: func(Runtime, *Task) error { n++; return nil }}
	step := func() {
		h, err := r.Recv(b, buf, 0, ctx)
		if err != nil {
			panic(err)
		}
		if err := h.SetDeadline(time.Now()); err != nil {
			panic(err)
		}
		if err := r.Post(ctx); err != nil {
			panic(err)
		}
		if err := r.Run(UntilDone); err != nil {
			panic(err)
		}
	}
	for range 100 {
		step()
	}
	allocs := testing.AllocsPerRun(500, step)
	require.Zero(t, allocs, "allocations per recv+deadline+post")
}
