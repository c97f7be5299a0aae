package core

import (
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
	require.NoError(t, r.WaitReady())
	require.GreaterOrEqual(t, time.Since(start), short)
	require.Empty(t, rec.list, "WaitReady ran a callback")

	// A completion already waiting returns at once.
	start = time.Now()
	require.NoError(t, r.WaitReady())
	require.Less(t, time.Since(start), short)
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 1)
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
