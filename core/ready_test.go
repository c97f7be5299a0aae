//go:build linux

package core

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadyTracksTheCompletionQueue checks that Ready says whether a
// completion waits for Run: not before the kernel posts it, from another
// goroutine while it is posted, and not once Run has run it.
func TestReadyTracksTheCompletionQueue(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	var rec ktRec
	_, err := r.Timer(30*time.Millisecond, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	require.NoError(t, r.Submit())
	require.False(t, r.Ready(), "Ready before the timer fired")
	seen := make(chan struct{})
	go func() {
		for !r.Ready() {
			time.Sleep(time.Millisecond)
		}
		close(seen)
	}()
	select {
	case <-seen:
	case <-time.After(5 * time.Second):
		t.Fatal("Ready never reported the timer's completion")
	}
	require.Empty(t, rec.list, "Ready ran a callback")
	require.NoError(t, r.Run(NoWait))
	require.Len(t, rec.list, 1)
	require.False(t, r.Ready(), "Ready after Run ran the completion")
}
