package core

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWaitReadyWaitsWithoutRunning(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	short := 40 * time.Millisecond
	start := time.Now()
	_, err := r.Timer(short, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	require.False(t, r.Ready(), "Ready before the timer fired")
	require.NoError(t, r.WaitReady())
	require.GreaterOrEqual(t, time.Since(start), short)
	require.Empty(t, rec.list, "WaitReady ran a callback")
	require.True(t, r.Ready())

	// A completion already waiting returns at once.
	start = time.Now()
	require.NoError(t, r.WaitReady())
	require.Less(t, time.Since(start), short)
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 1)
	require.False(t, r.Ready(), "Ready after Run ran the completion")
}

// One goroutine sleeps in WaitReady while another, which owns the ring,
// submits what it waits for.
func TestWaitReadyWhileAnotherSubmits(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	woke := make(chan error, 1)
	go func() { woke <- r.WaitReady() }()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-woke:
		t.Fatalf("WaitReady returned with nothing submitted: %v", err)
	default:
	}
	_, err := r.Nop(Ctx{Callback: rec.cb, Msg: 7})
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	select {
	case err := <-woke:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("WaitReady did not return after a completion arrived")
	}
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 1)
	require.Equal(t, uint16(7), rec.list[0].msg)
}

// A SingleIssuer ring refuses to be waited on from a thread other than its
// owner's, with nothing submitted there to wait for.
func TestWaitReadySingleIssuerWrongThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Options{Entries: 8, SingleIssuer: true})
	require.NoError(t, err)
	defer r.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // a thread other than the owner's, which is locked
		defer runtime.UnlockOSThread()
		errc <- r.WaitReady()
	}()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, ErrWrongThread)
	case <-time.After(2 * time.Second):
		// Leave the waiter to the ring's Close: a Nop wakes it first.
		_, err := r.Nop(Ctx{})
		require.NoError(t, err)
		require.NoError(t, r.Submit())
		<-errc
		t.Fatal("WaitReady from another thread waited instead of failing")
	}
}
