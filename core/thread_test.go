//go:build linux

package core

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type ktThreadEvent struct {
	id   int
	tid  int
	ring *Ring
	op   Op
	err  error
}

func TestSpawnThread(t *testing.T) {
	parent := ktRing(t, Options{Entries: 16})
	var initRing *Ring
	initTid := 0
	th, err := parent.SpawnThread(Options{Entries: 16}, func(child *Ring) error {
		initRing = child
		initTid = unix.Gettid()
		return nil
	})
	require.NoError(t, err)
	child := th.Ring()
	require.NotNil(t, child)
	require.Same(t, initRing, child)
	require.NotSame(t, parent, child)
	require.True(t, child.SingleIssuer(), "a thread's ring is single-issuer")
	require.Equal(t, parent.Backend(), child.Backend(), "a thread runs on its parent's backend")
	if child.Backend() == BackendIOURing {
		require.NotZero(t, child.setupFlags&setupAttachWQ, "a thread's ring shares the parent's worker pool")
	}

	// Each message runs on the thread and submits follow-up work (a timer)
	// on the child ring, whose callback reports back.
	events := make(chan ktThreadEvent, 16)
	const jobs = 5
	var posted ktRec
	for i := 0; i < jobs; i++ {
		task := parent.GetTask()
		task.Userdata = i
		task.Msg = uint16(100 + i)
		task.Callback = func(rt Runtime, task *Task) error {
			events <- ktThreadEvent{id: UserdataAs[int](task), tid: unix.Gettid(), ring: rt.(*Ring), op: task.Result.Op, err: task.Err()}
			_, err := rt.Timer(time.Millisecond, Ctx{Userdata: UserdataAs[int](task), Callback: func(rt Runtime, task *Task) error {
				events <- ktThreadEvent{id: 1000 + UserdataAs[int](task), tid: unix.Gettid(), ring: rt.(*Ring), op: task.Result.Op, err: task.Err()}
				return nil
			}})
			return err
		}
		_, err := th.Send(task, posted.ctx())
		require.NoError(t, err)
	}
	require.NoError(t, parent.Run(UntilDone))
	require.Len(t, posted.list, jobs)
	for _, res := range posted.list {
		require.Equal(t, OpMsgRing, res.op)
		require.NoError(t, res.err)
	}

	seen := map[int]bool{}
	timeout := time.After(5 * time.Second)
	for len(seen) < 2*jobs {
		select {
		case ev := <-events:
			require.Same(t, child, ev.ring, "work ran on the wrong ring")
			require.Equal(t, initTid, ev.tid, "work ran off the thread's OS thread")
			require.NoError(t, ev.err)
			if ev.id < 1000 {
				require.Equal(t, OpMessage, ev.op)
			} else {
				require.Equal(t, OpTimer, ev.op)
			}
			seen[ev.id] = true
		case <-timeout:
			t.Fatalf("thread ran only %v", seen)
		}
	}
	for i := 0; i < jobs; i++ {
		require.True(t, seen[i] && seen[1000+i], "job %d", i)
	}

	require.NoError(t, th.Stop())
	select {
	case <-th.Done():
		t.Fatal("Stop already consumed the final error; Done must not yield twice")
	default:
	}
	// The stop message's own completion on the parent, then the parent is
	// idle and still works.
	require.NoError(t, parent.Run(UntilDone))
	require.Zero(t, parent.Active())
	ktExercise(t, parent)

	// The thread is gone: sending to it fails.
	task := parent.GetTask()
	_, err = th.Send(task, Ctx{})
	require.ErrorIs(t, err, ErrClosed)
}

func TestSpawnThreadInitError(t *testing.T) {
	parent := ktRing(t, Options{Entries: 8})
	boom := errors.New("init failed")
	th, err := parent.SpawnThread(Options{Entries: 8}, func(child *Ring) error {
		// Work in flight when the thread gives up.
		if _, err := child.Timer(time.Hour, Ctx{}); err != nil {
			return err
		}
		if err := child.Submit(); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Nil(t, th)
	ktExercise(t, parent)
}

func TestSpawnThreadCallbackError(t *testing.T) {
	parent := ktRing(t, Options{Entries: 8})
	th, err := parent.SpawnThread(Options{Entries: 8}, nil)
	require.NoError(t, err)
	boom := errors.New("callback failed")
	task := parent.GetTask()
	task.Callback = func(Runtime, *Task) error { return boom }
	_, err = th.Send(task, Ctx{})
	require.NoError(t, err)
	require.NoError(t, parent.Run(UntilDone))
	select {
	case err := <-th.Done():
		require.ErrorIs(t, err, boom, "the error that ended the thread")
	case <-time.After(5 * time.Second):
		t.Fatal("thread did not end on its callback's error")
	}
	ktExercise(t, parent)
}

// TestSpawnThreadStopWithWork stops a thread that still has work in flight
// on its ring; Stop must not hang.
func TestSpawnThreadStopWithWork(t *testing.T) {
	parent := ktRing(t, Options{Entries: 8})
	_, b := ktSocketPair(t)
	th, err := parent.SpawnThread(Options{Entries: 8}, func(child *Ring) error {
		_, err := child.Recv(b, make([]byte, 8), 0, Ctx{})
		return err
	})
	require.NoError(t, err)
	stopped := make(chan error, 1)
	go func() {
		// Stop submits on the parent: hand the parent to this goroutine
		// for the duration (the test goroutine does not touch it).
		stopped <- th.Stop()
	}()
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hung with a receive in flight on the thread")
	}
	require.NoError(t, parent.Run(UntilDone))
}
