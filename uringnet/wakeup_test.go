//go:build linux

package uringnet_test

import (
	"errors"
	"os"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// A goroutine waiting for its socket is not waiting for a lock: blocked
// Reads add nothing to the runtime's mutex wait time (which mutex profiles
// and metrics exporters show as contention), on uringnet as on package net.
func TestWaitIsNotMutexContention(t *testing.T) {
	const conns, rounds, wait = 64, 3, 100 * time.Millisecond
	sample := []metrics.Sample{{Name: "/sync/mutex/wait/total:seconds"}}
	mutexWait := func() float64 {
		metrics.Read(sample)
		return sample[0].Value.Float64()
	}
	forBoth(t, func(t *testing.T, im impl) {
		var servers []interface {
			Read([]byte) (int, error)
			SetReadDeadline(time.Time) error
		}
		for range conns {
			_, s := pair(t, im, "tcp")
			servers = append(servers, s)
		}
		before := mutexWait()
		var wg sync.WaitGroup
		for range rounds {
			for _, s := range servers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.SetReadDeadline(time.Now().Add(wait))
					if _, err := s.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("Read: %v, want a timeout", err)
					}
				}()
			}
			wg.Wait()
		}
		// The runtime samples the goroutines it times, so only a total
		// over many waits shows; they waited 19.2 s in all, and a lock
		// taken on the way may add a little.
		t.Logf("mutex wait %.3f", mutexWait()-before)
		if got := mutexWait() - before; got > 0.05*conns*rounds*wait.Seconds() {
			t.Errorf("%d Reads blocked %v each added %.3f s of mutex wait", conns*rounds, wait, got)
		}
	})
}
