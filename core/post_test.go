//go:build linux

package core

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testPost posts from many goroutines while the owner runs the ring, and
// checks every message runs exactly once, on the owner, with its msg.
func testPost(t *testing.T) {
	r := ktRing(t, Options{Entries: 16})
	const posters, each = 8, 200
	seen := make([]int, posters)
	cb := func(rt Runtime, task *Task) error {
		require.Equal(t, OpMessage, task.Result.Op)
		require.Same(t, r, rt)
		seen[task.Msg]++
		return nil
	}
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := r.Post(Ctx{Callback: cb, Msg: uint16(p)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	total := 0
	for total < posters*each {
		require.NoError(t, r.Run(Once))
		total = 0
		for _, n := range seen {
			total += n
		}
	}
	wg.Wait()
	require.NoError(t, r.Run(NoWait))
	for p, n := range seen {
		require.Equal(t, each, n, "poster %d", p)
	}
	require.NoError(t, r.Close())
	require.ErrorIs(t, r.Post(Ctx{Callback: cb}), ErrClosed)
}

func TestPost(t *testing.T) {
	require.False(t, blindMsgUnsupported.Load(), "this kernel should support IORING_REGISTER_SEND_MSG_RING")
	testPost(t)
	require.False(t, blindMsgUnsupported.Load())
}

// TestPostFallback plays a kernel without blind MSG_RING: posts go through
// the shared sender ring.
func TestPostFallback(t *testing.T) {
	blindMsgUnsupported.Store(true)
	defer blindMsgUnsupported.Store(false)
	testPost(t)
	require.NotNil(t, senderRing.ring)
}

// TestPostCallbackError: an error from a posted callback stops Run like any
// other callback error.
func TestPostCallbackError(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	boom := require.New(t)
	errStop := ErrTaskDone
	boom.NoError(r.Post(Ctx{Callback: func(Runtime, *Task) error { return errStop }}))
	boom.ErrorIs(r.Run(Once), errStop)
	boom.NoError(r.Run(NoWait))
}
