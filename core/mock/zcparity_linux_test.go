//go:build linux

package mock_test

import (
	"testing"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// zcScenario sends with SendZC and SendmsgZC on fd, twice each, and
// returns the completions.
func zcScenario(t *testing.T, rt core.Runtime, fd int) []event {
	var rec recorder
	for i := range 2 {
		must(t)(rt.SendZC(fd, []byte("zero"), unix.MSG_NOSIGNAL, rec.ctx(uint16(10+i))))
		untilEvents(t, rt, &rec, 4*i+2)
		must(t)(rt.SendmsgZC(fd, []byte("copy"), nil, nil, unix.MSG_NOSIGNAL, rec.ctx(uint16(20+i))))
		untilEvents(t, rt, &rec, 4*i+4)
	}
	return rec.events
}

// TestSendZCMatchesKernel: zero-copy sends on a connection complete with
// their result and then their notification, and after the peer reset it
// with EPIPE and then their notification, on the kernel as on the mock.
func TestSendZCMatchesKernel(t *testing.T) {
	for _, reset := range []bool{false, true} {
		r := kernelRing(t)
		client, server := tcpPair(t)
		defer unix.Close(client)
		m := mock.New(t)
		if reset {
			_, err := unix.Write(server, []byte("abc"))
			require.NoError(t, err)
			require.NoError(t, unix.SetsockoptLinger(server, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}))
			pfd := []unix.PollFd{{Fd: int32(client), Events: unix.POLLIN}}
			for n := 0; n == 0; {
				var err error
				if n, err = unix.Poll(pfd, 5000); err != nil && err != unix.EINTR {
					require.NoError(t, err)
				}
			}
			require.NoError(t, unix.Close(server))
			for pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) == 0 {
				_, err := unix.Poll(pfd, 5000)
				if err != unix.EINTR {
					require.NoError(t, err)
				}
			}
			// The first send after the reset reads it: ECONNRESET here,
			// EPIPE after, as the mock's ConnReset does.
			_, err = unix.SendmsgN(client, []byte("x"), nil, nil, unix.MSG_NOSIGNAL)
			require.Error(t, err)
			m.Script(client, core.OpSendZC, mock.Errno(unix.EPIPE), mock.Errno(unix.EPIPE))
			m.Script(client, core.OpSendmsgZC, mock.Errno(unix.EPIPE), mock.Errno(unix.EPIPE))
		} else {
			defer unix.Close(server)
		}
		onRing := zcScenario(t, r, client)
		mocked := zcScenario(t, m, client)
		require.Equal(t, onRing, mocked, "reset %v", reset)
		want := []int32{4, 0, 4, 0, 4, 0, 4, 0}
		if reset {
			e := -int32(unix.EPIPE)
			want = []int32{e, 0, e, 0, e, 0, e, 0}
		}
		require.Equal(t, want, results(mocked), "reset %v", reset)
	}
}
