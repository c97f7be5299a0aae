//go:build linux

package core

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestSharedSocketCancelledWaiter has two rings wait on one listening
// socket. The first is chosen for an arriving connection and cancelled
// before its completion work runs (DEFER_TASKRUN holds that work until the
// ring is run); the second must still get the connection. Accept's waiter
// is exclusive, so the wake-up the first swallowed may never reach the
// second (logged, as that is the kernel's to change); a Poll's is not, so
// Poll and then AcceptNoWait must deliver.
func TestSharedSocketCancelledWaiter(t *testing.T) {
	for _, how := range []string{"Accept", "Poll"} {
		t.Run(how, func(t *testing.T) {
			// A SingleIssuer ring stays on its thread, up to its Close in
			// the cleanup registered after this one.
			runtime.LockOSThread()
			t.Cleanup(runtime.UnlockOSThread)
			first := ktRing(t, Options{Entries: 8, SingleIssuer: true})
			if !first.SingleIssuer() {
				t.Skip("this kernel has no DEFER_TASKRUN to hold the first ring's completion work")
			}
			second := ktRing(t, Options{Entries: 8})
			ln, sa := ktListen(t, unix.AF_INET)
			wait := func(r *Ring, done *bool) (Handle, error) {
				ctx := Ctx{Callback: func(_ Runtime, task *Task) error {
					*done = true
					if fd := task.Fd(); how == "Accept" && fd >= 0 {
						unix.Close(fd)
					}
					return nil
				}}
				if how == "Accept" {
					return r.Accept(ln, unix.SOCK_CLOEXEC, ctx)
				}
				return r.Poll(ln, unix.POLLIN, ctx)
			}
			var firstDone, secondDone bool
			h, err := wait(first, &firstDone)
			require.NoError(t, err)
			require.NoError(t, first.Run(NoWait))
			_, err = wait(second, &secondDone)
			require.NoError(t, err)
			require.NoError(t, second.Run(NoWait))
			require.False(t, firstDone || secondDone, "a waiter completed with nothing queued")

			ktDial(t, unix.AF_INET, sa)
			_, err = first.Cancel(h, Ctx{})
			require.NoError(t, err)
			require.NoError(t, first.Run(UntilDone))

			deadline := time.Now().Add(200 * time.Millisecond)
			for !secondDone && time.Now().Before(deadline) {
				require.NoError(t, second.Run(NoWait))
				time.Sleep(time.Millisecond)
			}
			if how == "Accept" {
				t.Logf("the second Accept was woken: %v", secondDone)
				return
			}
			require.True(t, secondDone, "the second ring's Poll was not woken for the queued connection")
			var fd int = -1
			_, err = second.AcceptNoWait(ln, unix.SOCK_CLOEXEC, Ctx{Callback: func(_ Runtime, task *Task) error {
				fd = task.Fd()
				return nil
			}})
			require.NoError(t, err)
			require.NoError(t, second.Run(UntilDone))
			require.GreaterOrEqual(t, fd, 0, "AcceptNoWait did not take the queued connection")
			unix.Close(fd)
		})
	}
}
