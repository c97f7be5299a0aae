//go:build linux

package core

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ktZCModes runs f once for each way the ring under test performs
// zero-copy sends: on io_uring as the kernel's operations and, playing a
// kernel that lacks them, as the plain sends that stand in; on epoll only
// as the latter, the one way it has.
func ktZCModes(t *testing.T, f func(t *testing.T, r *Ring)) {
	for _, kernel := range []bool{true, false} {
		if kernel && ktBackend == BackendEpoll {
			continue // epoll has no zero-copy path to test
		}
		name := "plain"
		if kernel {
			name = "zerocopy"
		}
		t.Run(name, func(t *testing.T) {
			r := ktRing(t, Options{Entries: 64})
			if kernel && r.Backend() == BackendEpoll {
				return // New chose epoll: there is no zero-copy path to test
			}
			if kernel && (!kernelOps[opSendZC] || !kernelOps[opSendmsgZC]) {
				t.Skip("the kernel lacks IORING_OP_SEND_ZC or IORING_OP_SENDMSG_ZC (Linux 6.0, 6.1)")
			}
			if !kernel {
				opDisabled[OpSendZC], opDisabled[OpSendmsgZC] = true, true
				defer func() { opDisabled[OpSendZC], opDisabled[OpSendmsgZC] = false, false }()
			}
			require.Equal(t, kernel, r.ZeroCopy(OpSendZC))
			require.Equal(t, kernel, r.ZeroCopy(OpSendmsgZC))
			require.True(t, r.Allowed(OpSendZC) && r.Allowed(OpSendmsgZC))
			f(t, r)
		})
	}
}

// ktZCEvent is what one callback of a zero-copy send saw.
type ktZCEvent struct {
	op          Op
	res         int32
	more, notif bool
	live        bool // the send's handle was live in the callback
}

// ktZCSends records the callbacks of zero-copy sends by their Msg.
type ktZCSends struct {
	events map[uint16][]ktZCEvent
	then   func(msg uint16, ev ktZCEvent) // runs after each record, if set
}

func (z *ktZCSends) ctx(msg uint16) Ctx {
	if z.events == nil {
		z.events = map[uint16][]ktZCEvent{}
	}
	return Ctx{Msg: msg, Callback: func(_ Runtime, task *Task) error {
		ev := ktZCEvent{op: task.Result.Op, res: task.Result.Res, more: task.More(), notif: task.Notif(), live: task.Handle().Live()}
		z.events[task.Msg] = append(z.events[task.Msg], ev)
		if z.then != nil {
			z.then(task.Msg, ev)
		}
		return nil
	}}
}

// done reports whether send msg has had its notification.
func (z *ktZCSends) done(msg uint16) bool {
	ev := z.events[msg]
	return len(ev) > 0 && ev[len(ev)-1].notif
}

// check requires that send msg called back exactly twice, the result and
// then the notification, and returns the result.
func (z *ktZCSends) check(t *testing.T, op Op, msg uint16) int32 {
	t.Helper()
	ev := z.events[msg]
	require.Len(t, ev, 2, "send %d: %+v", msg, ev)
	require.Equal(t, ktZCEvent{op: op, res: ev[0].res, more: true, live: true}, ev[0], "send %d: the result", msg)
	require.Equal(t, ktZCEvent{op: op, notif: true}, ev[1], "send %d: the notification", msg)
	return ev[0].res
}

// ktReadAll reads n bytes from fd on another goroutine, which the test's
// end stops (shutting fd down) before fd closes, so that it cannot read
// from a later socket that reuses the number.
func ktReadAll(t *testing.T, fd, n int) <-chan []byte {
	ch := make(chan []byte, 1)
	done := make(chan struct{})
	t.Cleanup(func() { unix.Shutdown(fd, unix.SHUT_RDWR); <-done })
	go func() {
		defer close(done)
		var got bytes.Buffer
		buf := make([]byte, 256<<10)
		for got.Len() < n {
			k, err := unix.Read(fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || k == 0 {
				break
			}
			got.Write(buf[:k])
		}
		ch <- got.Bytes()
	}()
	return ch
}

// ktPattern returns n bytes that differ from one position to the next.
func ktPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

// TestOpSendZCLarge sends buffers of a MiB and more over loopback TCP,
// resending what a short send left after each notification, and checks
// what the receiver got, with both SendZC and SendmsgZC.
func TestOpSendZCLarge(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		for _, op := range []Op{OpSendZC, OpSendmsgZC} {
			for _, size := range []int{1 << 20, 3<<20 + 5} {
				t.Run(fmt.Sprint(op, "/", size), func(t *testing.T) {
					client, server := ktTCP(t)
					out := ktPattern(size)
					got := ktReadAll(t, server, size)
					var z ktZCSends
					off, sends := 0, uint16(0)
					send := func() {
						sends++
						var err error
						if op == OpSendZC {
							_, err = r.SendZC(client, out[off:], unix.MSG_NOSIGNAL, z.ctx(sends))
						} else {
							_, err = r.SendmsgZC(client, out[off:], nil, nil, unix.MSG_NOSIGNAL, z.ctx(sends))
						}
						require.NoError(t, err)
					}
					z.then = func(msg uint16, ev ktZCEvent) {
						switch {
						case !ev.notif:
							require.Greater(t, ev.res, int32(0), "send %d", msg)
							off += int(ev.res)
						case off < size:
							send() // the rest, once the kernel let go of the buffer
						}
					}
					send()
					require.True(t, ktRunGuarded(t, r, 10*time.Second, func() bool { return off == size && z.done(sends) }))
					select {
					case data := <-got:
						require.True(t, bytes.Equal(out, data), "the receiver got %d bytes, not what was sent", len(data))
					case <-time.After(10 * time.Second):
						t.Fatal("the receiver did not get everything")
					}
					for i := uint16(1); i <= sends; i++ {
						z.check(t, op, i)
					}
					require.NoError(t, r.Run(UntilDone))
					require.Zero(t, r.Active())
				})
			}
		}
	})
}

// ktFillSendBuffer writes into fd without blocking until its send buffer
// is full, so that the next send waits, and returns how much it wrote.
func ktFillSendBuffer(t *testing.T, fd int) int {
	t.Helper()
	require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096))
	chunk := make([]byte, 4096)
	n := 0
	for i := 0; i < 1<<16; i++ {
		k, err := unix.SendmsgN(fd, chunk, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if err == unix.EAGAIN {
			return n
		}
		require.NoError(t, err)
		n += k
	}
	t.Fatal("the send buffer never filled")
	return 0
}

// TestOpSendZCShort: a send into a nearly full buffer completes short, its
// notification follows, and the rest goes once the receiver reads.
func TestOpSendZCShort(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		client, server := ktTCP(t)
		require.NoError(t, unix.SetsockoptInt(client, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096))
		out := ktPattern(1 << 20)
		var z ktZCSends
		_, err := r.SendZC(client, out, unix.MSG_NOSIGNAL, z.ctx(1))
		require.NoError(t, err)
		require.True(t, ktRunGuarded(t, r, 10*time.Second, func() bool { return z.done(1) }))
		n := int(z.check(t, OpSendZC, 1))
		require.Greater(t, n, 0)
		require.Less(t, n, len(out), "nobody reads: the send cannot take the whole MiB")

		got := ktReadAll(t, server, len(out))
		require.NoError(t, unix.SetsockoptInt(client, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20))
		_, err = r.SendZC(client, out[n:], unix.MSG_NOSIGNAL|unix.MSG_WAITALL, z.ctx(2))
		require.NoError(t, err)
		require.True(t, ktRunGuarded(t, r, 10*time.Second, func() bool { return z.done(2) }))
		require.Equal(t, int32(len(out)-n), z.check(t, OpSendZC, 2), "MSG_WAITALL sends the rest whole")
		require.True(t, bytes.Equal(out, <-got))
	})
}

// TestOpSendmsgZCUDP sends datagrams to a destination address, IPv4 and
// IPv6, and checks what arrived and from where.
func TestOpSendmsgZCUDP(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		for _, addr := range []string{"127.0.0.1", "::1"} {
			a, aAddr := ktUDP(t, addr)
			b, bAddr := ktUDP(t, addr)
			for i, size := range []int{0, 1, 1200, 60000} {
				out := ktPattern(size)
				var z ktZCSends
				var got []ktMsg
				buf := make([]byte, 65536)
				_, err := r.SendmsgZC(a, out, nil, AddrPortToSockaddr(bAddr), 0, z.ctx(uint16(i)))
				require.NoError(t, err)
				_, err = r.Recvmsg(b, buf, nil, 0, ktMsgRecorder(&got, buf))
				require.NoError(t, err)
				require.NoError(t, r.Run(UntilDone))
				require.Equal(t, int32(size), z.check(t, OpSendmsgZC, uint16(i)), "%s size %d", addr, size)
				require.Len(t, got, 1)
				require.True(t, bytes.Equal(out, got[0].data), "%s size %d", addr, size)
				require.Equal(t, aAddr, got[0].from)
			}
		}
		// An address the ring cannot convert is refused at once.
		_, err := r.SendmsgZC(0, nil, nil, &unix.SockaddrUnix{Name: string(make([]byte, 200))}, 0, Ctx{})
		require.Error(t, err)
		require.Zero(t, r.Active())
	})
}

// TestOpSendZCPeerReset: sends to a peer that reset the connection fail,
// and each still gets its notification; so does a send on a descriptor
// that is not open.
func TestOpSendZCPeerReset(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		client, server := ktTCP(t)
		// Closing with unread data resets the connection.
		_, err := unix.Write(client, []byte("unread"))
		require.NoError(t, err)
		ktPoll(t, server, unix.POLLIN, 5*time.Second)
		require.NoError(t, unix.SetsockoptLinger(server, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}))
		unix.Close(server)
		ktPoll(t, client, unix.POLLERR|unix.POLLHUP, 5*time.Second)

		var z ktZCSends
		out := ktPattern(64 << 10)
		for i := uint16(1); i <= 3; i++ {
			_, err := r.SendZC(client, out, unix.MSG_NOSIGNAL, z.ctx(i))
			require.NoError(t, err)
		}
		_, err = r.SendmsgZC(client, out, nil, nil, unix.MSG_NOSIGNAL, z.ctx(4))
		require.NoError(t, err)
		_, err = r.SendZC(-1, out, unix.MSG_NOSIGNAL, z.ctx(5))
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		for i := uint16(1); i <= 3; i++ {
			res := z.check(t, OpSendZC, i)
			require.Contains(t, []int32{-int32(unix.ECONNRESET), -int32(unix.EPIPE)}, res, "send %d", i)
		}
		require.Equal(t, -int32(unix.EPIPE), z.check(t, OpSendmsgZC, 4))
		require.Equal(t, -int32(unix.EBADF), z.check(t, OpSendZC, 5))
		require.Zero(t, r.Active())
	})
}

// TestOpSendZCFailsBeforeNotif: a zero-copy send the kernel refuses before
// it takes the buffer completes once, without IORING_CQE_F_MORE; the ring
// delivers the notification itself, and no late completion follows.
func TestOpSendZCFailsBeforeNotif(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	if !r.ZeroCopy(OpSendZC) {
		t.Skip("no kernel zero-copy send on this ring")
	}
	client, _ := ktTCP(t)
	var z ktZCSends
	_, err := r.SendZC(client, []byte("x"), 0, z.ctx(1))
	require.NoError(t, err)
	r.sqes[(r.sqeTail-1)&r.sqMask].ioprio = 1 << 15 // no zero-copy flag: EINVAL
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, -int32(unix.EINVAL), z.check(t, OpSendZC, 1))
	stale := r.stale
	_, err = r.Nop(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, stale, r.stale, "a completion came for the finished send")
	require.Zero(t, r.Active())
}

// TestOpSendZCCancel cancels, and bounds with a deadline, sends that wait
// for room in a full send buffer: each fails with ECANCELED and then gets
// its notification.
func TestOpSendZCCancel(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		client, _ := ktTCP(t)
		ktFillSendBuffer(t, client)
		var z ktZCSends
		out := ktPattern(64 << 10)
		h, err := r.SendZC(client, out, unix.MSG_NOSIGNAL, z.ctx(1))
		require.NoError(t, err)
		require.NoError(t, r.Run(NoWait))
		require.True(t, h.Live())
		require.Empty(t, z.events[1])
		var cancel ktRec
		_, err = h.Cancel(cancel.ctx())
		require.NoError(t, err)
		require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return z.done(1) && len(cancel.list) == 1 }))
		require.Equal(t, -int32(unix.ECANCELED), z.check(t, OpSendZC, 1))
		require.NoError(t, cancel.list[0].err)
		require.False(t, h.Live())

		h, err = r.SendmsgZC(client, out, nil, nil, unix.MSG_NOSIGNAL, z.ctx(2))
		require.NoError(t, err)
		require.NoError(t, h.SetDeadline(time.Now().Add(20*time.Millisecond)))
		require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return z.done(2) }))
		require.Equal(t, -int32(unix.ECANCELED), z.check(t, OpSendmsgZC, 2))

		// Cancelling a send whose notification has come finds nothing.
		_, err = h.Cancel(cancel.ctx())
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		require.Equal(t, syscall.ENOENT, cancel.last().err)
		require.Zero(t, r.Active())
	})
}

// TestOpSendZCClose closes the ring with zero-copy sends in flight: some
// waiting for room, some just submitted. Close waits for the kernel to let
// go of every buffer, or keeps a buffer whose data got into the full
// socket, whose peer does not read, and runs no callback.
func TestOpSendZCClose(t *testing.T) {
	defer func(d time.Duration) { notifWait = d }(notifWait)
	notifWait = 100 * time.Millisecond
	ktZCModes(t, func(t *testing.T, _ *Ring) {
		r, err := ktNew(Options{Entries: 64})
		require.NoError(t, err)
		blocked, blockedPeer := ktTCP(t)
		ktFillSendBuffer(t, blocked)
		flowing, server := ktTCP(t)
		got := ktReadAll(t, server, 1<<30)
		calls := 0
		ctx := Ctx{Callback: func(Runtime, *Task) error { calls++; return nil }}
		out := ktPattern(1 << 20)
		for range 4 {
			_, err := r.SendZC(blocked, out, unix.MSG_NOSIGNAL, ctx)
			require.NoError(t, err)
		}
		require.NoError(t, r.Run(NoWait))
		calls = 0
		for range 8 {
			_, err := r.SendZC(flowing, out, unix.MSG_NOSIGNAL, ctx)
			require.NoError(t, err)
			_, err = r.SendmsgZC(flowing, out, nil, nil, unix.MSG_NOSIGNAL, ctx)
			require.NoError(t, err)
		}
		require.NoError(t, r.Submit())
		require.NoError(t, r.Close())
		require.Zero(t, calls, "Close ran callbacks")
		ktReadAll(t, blockedPeer, 1<<30)
		unix.Shutdown(flowing, unix.SHUT_WR)
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("the receiver did not see the end")
		}
	})
}

// TestOpSendZCCloseNotifPending: a zero-copy send whose data waits in a
// socket the peer does not read has its result but not its notification;
// Close closes the ring within its bound anyway, running no callback, and
// keeps the send's buffer referenced, as the kernel may still send from
// it. A plain send standing in has nothing to wait for.
func TestOpSendZCCloseNotifPending(t *testing.T) {
	defer func(d time.Duration) { notifWait = d }(notifWait)
	notifWait = 100 * time.Millisecond
	ktZCModes(t, func(t *testing.T, _ *Ring) {
		r, err := ktNew(Options{Entries: 64})
		require.NoError(t, err)
		ln, sa := ktListen(t, unix.AF_INET)
		client := ktDial(t, unix.AF_INET, sa)
		server, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
		require.NoError(t, err)
		t.Cleanup(func() {
			unix.SetsockoptLinger(server, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
			unix.Close(server)
		})
		ktFillSendBuffer(t, client)
		var z ktZCSends
		payload := ktPattern(1 << 20)
		h, err := r.SendZC(client, payload, unix.MSG_NOSIGNAL, z.ctx(1))
		require.NoError(t, err)
		require.NoError(t, r.Run(NoWait))
		// The peer reads a little: the window opens, part of the send
		// goes into the socket, more than the window takes.
		buf := make([]byte, 64<<10)
		for n := 0; n < len(buf); {
			k, err := unix.Read(server, buf[n:])
			require.NoError(t, err)
			n += k
		}
		require.True(t, ktRunGuarded(t, r, 5*time.Second, func() bool { return len(z.events[1]) > 0 }))
		res := z.events[1][0].res
		require.Greater(t, res, int32(0))
		require.Less(t, res, int32(1<<20))
		if !r.ZeroCopy(OpSendZC) {
			require.True(t, z.done(1))
			require.NoError(t, r.Close())
			return
		}
		require.False(t, z.done(1), "the notification came with the data still in the socket")
		start := time.Now()
		require.NoError(t, r.Close())
		require.Less(t, time.Since(start), 5*time.Second)
		require.False(t, z.done(1), "Close ran the notification's callback")
		require.Zero(t, r.Active())
		require.False(t, h.Live(), "an abandoned send's handle is live")
		require.Error(t, h.SetDeadline(time.Now().Add(time.Second)))
		_, err = h.Cancel(Ctx{})
		require.Error(t, err)
		// Nothing of the test's refers to the buffer now: only the
		// abandoned task keeps it from the collector.
		wp := weak.Make(&payload[0])
		payload = nil
		runtime.GC()
		runtime.GC()
		p := wp.Value()
		require.NotNil(t, p, "the pending send's buffer was collected")
		require.True(t, abandonedHolds(p), "no abandoned task holds the pending send's buffer")
	})
}

// abandonedHolds reports whether abandonedZC keeps an abandoned zero-copy
// send of the buffer starting at p.
func abandonedHolds(p *byte) bool {
	abandonedZC.mu.Lock()
	defer abandonedZC.mu.Unlock()
	for _, c := range abandonedZC.chunks {
		for i := range c {
			t := &c[i]
			if t.state == taskAbandoned && t.zc == zcKernel && len(t.buf) > 0 && &t.buf[0] == p {
				return true
			}
		}
	}
	return false
}

// TestOpSendZCCallbackError: a callback error stops Run, and the send
// still gets its notification, so it never stays in flight.
func TestOpSendZCCallbackError(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		a, b := ktTCP(t)
		calls := 0
		stop := fmt.Errorf("stop")
		_, err := r.SendZC(a, []byte("hello"), 0, Ctx{Callback: func(_ Runtime, task *Task) error {
			calls++
			if task.More() {
				return stop
			}
			return nil
		}})
		require.NoError(t, err)
		for i := 0; i < 100 && r.Active() > 0; i++ {
			if err := r.Run(Once); err != nil {
				require.ErrorIs(t, err, stop)
			}
		}
		require.Zero(t, r.Active())
		require.Equal(t, 2, calls)
		require.NotZero(t, ktPoll(t, b, unix.POLLIN, 5*time.Second))
		buf := make([]byte, 8)
		n, err := unix.Read(b, buf)
		require.NoError(t, err)
		require.Equal(t, "hello", string(buf[:n]))
	})
}

// TestOpSendZCUnixSocket: the kernel sends without copying only on
// sockets that support it; on a Unix socket its result is EOPNOTSUPP, then
// the notification, while the plain send that stands in elsewhere sends.
func TestOpSendZCUnixSocket(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		a, b := ktSocketPair(t)
		var z ktZCSends
		_, err := r.SendZC(a, []byte("unix"), 0, z.ctx(1))
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		res := z.check(t, OpSendZC, 1)
		if r.ZeroCopy(OpSendZC) {
			require.Equal(t, -int32(unix.EOPNOTSUPP), res)
			return
		}
		require.Equal(t, int32(4), res)
		require.NotZero(t, ktPoll(t, b, unix.POLLIN, 5*time.Second))
	})
}

// TestOpSendZCRestricted: a restricted ring that allows only SendZC runs
// it, as the kernel's or as a plain send, and refuses Send.
func TestOpSendZCRestricted(t *testing.T) {
	ktZCModes(t, func(t *testing.T, _ *Ring) {
		r, err := ktNew(Options{Entries: 8, Restrict: []Op{OpSendZC}})
		require.NoError(t, err)
		defer r.Close()
		a, b := ktTCP(t)
		var z ktZCSends
		_, err = r.SendZC(a, []byte("allowed"), 0, z.ctx(1))
		require.NoError(t, err)
		require.NoError(t, r.Run(UntilDone))
		require.Equal(t, int32(7), z.check(t, OpSendZC, 1))
		_, err = r.Send(a, []byte("refused"), 0, Ctx{})
		require.Error(t, err)
		_, err = r.SendmsgZC(a, []byte("refused"), nil, nil, 0, Ctx{})
		require.Error(t, err)
		require.NotZero(t, ktPoll(t, b, unix.POLLIN, 5*time.Second))
		buf := make([]byte, 16)
		n, err := unix.Read(b, buf)
		require.NoError(t, err)
		require.Equal(t, "allowed", string(buf[:n]))
	})
}

// TestOpSendZCRacesPeer sends under CPU load while the receiver reads on
// another goroutine and then, at a moment of its own, resets the
// connection: every send gets its result and then its notification, what
// arrived is a prefix of what was sent, and nothing is left in flight.
func TestOpSendZCRacesPeer(t *testing.T) {
	ktBurnCPU(t)
	out := ktPattern(16 << 20) // more than both sockets' buffers hold
	ktZCModes(t, func(t *testing.T, r *Ring) {
		for round := range 4 {
			ln, sa := ktListen(t, unix.AF_INET)
			client := ktDial(t, unix.AF_INET, sa)
			server, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
			require.NoError(t, err)
			stopAt := (round + 1) << 20
			got := make(chan []byte, 1)
			go func() {
				// The goroutine owns server: it closes it, resetting
				// the connection, once it has read stopAt bytes.
				var buf bytes.Buffer
				_, _ = io.CopyN(&buf, ktFdReader(server), int64(stopAt))
				unix.SetsockoptLinger(server, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
				unix.Close(server)
				got <- buf.Bytes()
			}()
			var z ktZCSends
			off, sends, failed := 0, uint16(0), false
			send := func() {
				sends++
				end := min(off+256<<10, len(out))
				_, err := r.SendZC(client, out[off:end], unix.MSG_NOSIGNAL, z.ctx(sends))
				require.NoError(t, err)
			}
			z.then = func(_ uint16, ev ktZCEvent) {
				switch {
				case !ev.notif && ev.res < 0:
					failed = true
				case !ev.notif:
					off += int(ev.res)
				case !failed && off < len(out):
					send()
				}
			}
			send()
			require.True(t, ktRunGuarded(t, r, 20*time.Second, func() bool { return (failed || off == len(out)) && z.done(sends) }))
			for i := uint16(1); i <= sends; i++ {
				z.check(t, OpSendZC, i)
			}
			require.True(t, failed, "round %d: every send went through a reset connection", round)
			data := <-got
			require.Equal(t, stopAt, len(data))
			for i := range data {
				if data[i] != out[i] {
					t.Fatalf("round %d: the receiver got other bytes from %d of %d (sent %d in %d sends)", round, i, len(data), off, sends)
				}
			}
			require.NoError(t, r.Run(UntilDone))
			require.Zero(t, r.Active())
		}
	})
}

// ktFdReader reads a descriptor, retrying EINTR.
type ktFdReader int

func (fd ktFdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// TestSendZCAllocations: a zero-copy send of 64 KiB over loopback TCP,
// its result and its notification allocate nothing once the pools are
// warm.
func TestSendZCAllocations(t *testing.T) {
	ktZCModes(t, func(t *testing.T, r *Ring) {
		a, b := ktTCP(t)
		out := make([]byte, 64<<10)
		in := make([]byte, 64<<10)
		notifs, got := 0, 0
		onSend := Ctx{Callback: func(_ Runtime, t *Task) error {
			if t.Notif() {
				notifs++
				return nil
			}
			if t.N() != len(out) {
				return fmt.Errorf("sent %d of %d: %v", t.N(), len(out), t.Err())
			}
			return nil
		}}
		onRecv := Ctx{Callback: func(_ Runtime, t *Task) error { got += t.N(); return t.Err() }}
		var send func() (Handle, error)
		step := func() {
			if _, err := send(); err != nil {
				panic(err)
			}
			if _, err := r.Recv(b, in, unix.MSG_WAITALL, onRecv); err != nil {
				panic(err)
			}
			if err := r.Run(UntilDone); err != nil {
				panic(err)
			}
		}
		for _, op := range []Op{OpSendZC, OpSendmsgZC} {
			if op == OpSendZC {
				send = func() (Handle, error) { return r.SendZC(a, out, unix.MSG_WAITALL, onSend) }
			} else {
				send = func() (Handle, error) { return r.SendmsgZC(a, out, nil, nil, unix.MSG_WAITALL, onSend) }
			}
			notifs, got = 0, 0
			for range 20 {
				step()
			}
			allocs := testing.AllocsPerRun(200, step)
			require.Zero(t, allocs, "%v: allocations per send", op)
			require.Equal(t, 221, notifs)
			require.Equal(t, 221*len(out), got)
		}
	})
}
