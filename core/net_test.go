//go:build linux

package core

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ktListen opens a listening socket on the loopback address of family
// (AF_INET, AF_INET6) or, for AF_UNIX, on a path in a temporary directory.
func ktListen(t *testing.T, family int) (fd int, sa unix.Sockaddr) {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	switch family {
	case unix.AF_INET:
		sa = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	case unix.AF_INET6:
		sa = &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
	case unix.AF_UNIX:
		sa = &unix.SockaddrUnix{Name: t.TempDir() + "/sock"}
	}
	if err := unix.Bind(fd, sa); err != nil {
		if family == unix.AF_INET6 {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		require.NoError(t, err)
	}
	require.NoError(t, unix.Listen(fd, 16))
	sa, err = unix.Getsockname(fd)
	require.NoError(t, err)
	return fd, sa
}

// ktDial connects a new blocking socket to sa; loopback connects complete
// through the listen backlog without an accept.
func ktDial(t *testing.T, family int, sa unix.Sockaddr) int {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Connect(fd, sa))
	return fd
}

// ktTCP returns both ends of a loopback TCP connection.
func ktTCP(t *testing.T) (client, server int) {
	ln, sa := ktListen(t, unix.AF_INET)
	client = ktDial(t, unix.AF_INET, sa)
	server, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(server) })
	return client, server
}

func ktAddrPort(t *testing.T, sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	t.Fatalf("unexpected sockaddr %T", sa)
	return netip.AddrPort{}
}

func TestOpAccept(t *testing.T) {
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		t.Run(fmt.Sprint("family=", family), func(t *testing.T) {
			r := ktRing(t, Options{Entries: 8})
			ln, sa := ktListen(t, family)
			var fd int = -1
			var remote netip.AddrPort
			var remoteOK bool
			var res ktRes
			_, err := r.Accept(ln, unix.SOCK_CLOEXEC, Ctx{Callback: func(rt Runtime, task *Task) error {
				res = ktRes{op: task.Result.Op, err: task.Err()}
				fd = task.Fd()
				remote, remoteOK = SockaddrToAddrPort(task.RemoteSockaddr())
				return nil
			}})
			require.NoError(t, err)
			require.NoError(t, r.Run(NoWait))
			require.Equal(t, -1, fd, "accepted with nobody connecting")

			client := ktDial(t, family, sa)
			require.NoError(t, r.Run(UntilDone))
			require.Equal(t, OpAccept, res.op)
			require.NoError(t, res.err)
			require.GreaterOrEqual(t, fd, 0)
			defer unix.Close(fd)
			require.True(t, remoteOK)
			local, err := unix.Getsockname(client)
			require.NoError(t, err)
			require.Equal(t, ktAddrPort(t, local), remote, "RemoteSockaddr is the client's address")

			// SOCK_CLOEXEC was applied and the socket is connected.
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			require.NoError(t, err)
			require.NotZero(t, flags&unix.FD_CLOEXEC)
			_, err = unix.Write(client, []byte("hi"))
			require.NoError(t, err)
			buf := make([]byte, 4)
			n, err := unix.Read(fd, buf)
			require.NoError(t, err)
			require.Equal(t, "hi", string(buf[:n]))
		})
	}
}

func TestOpAcceptUnix(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	ln, sa := ktListen(t, unix.AF_UNIX)
	var fd int = -1
	var family uint16
	var ipOK bool
	_, err := r.Accept(ln, unix.SOCK_CLOEXEC, Ctx{Callback: func(_ Runtime, task *Task) error {
		fd = task.Fd()
		family = task.RemoteSockaddr().Addr.Family
		_, ipOK = SockaddrToAddrPort(task.RemoteSockaddr())
		return nil
	}})
	require.NoError(t, err)
	// Connect through the ring too, to the path address.
	cl, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(cl)
	var conn ktRec
	_, err = r.Connect(cl, sa, conn.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.GreaterOrEqual(t, fd, 0)
	defer unix.Close(fd)
	require.Equal(t, uint16(unix.AF_UNIX), family)
	require.False(t, ipOK, "SockaddrToAddrPort accepts only IP families")
	require.Len(t, conn.list, 1)
	require.NoError(t, conn.list[0].err)
}

func TestOpAcceptMultishot(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	ln, sa := ktListen(t, unix.AF_INET)
	const conns = 4
	var accepted []int
	var rec ktRec
	h, err := r.AcceptMultishot(ln, unix.SOCK_CLOEXEC, Ctx{Callback: func(rt Runtime, task *Task) error {
		if task.Fd() >= 0 {
			accepted = append(accepted, task.Fd())
		}
		return rec.cb(rt, task)
	}})
	require.NoError(t, err)
	defer func() {
		for _, fd := range accepted {
			unix.Close(fd)
		}
	}()
	require.NoError(t, r.Run(NoWait))

	var clients []int
	for i := 0; i < conns; i++ {
		clients = append(clients, ktDial(t, unix.AF_INET, sa))
		ktRunUntil(t, r, func() bool { return len(rec.list) == i+1 })
	}
	require.Len(t, accepted, conns)
	for i, res := range rec.list {
		require.NoError(t, res.err)
		require.True(t, res.more, "completion %d of a live multishot accept lacks F_MORE", i)
	}
	require.True(t, h.Live())

	// Every accepted socket is the server end of one client.
	want := map[netip.AddrPort]bool{}
	for _, c := range clients {
		sa, err := unix.Getsockname(c)
		require.NoError(t, err)
		want[ktAddrPort(t, sa)] = true
	}
	got := map[netip.AddrPort]bool{}
	for _, fd := range accepted {
		sa, err := unix.Getpeername(fd)
		require.NoError(t, err)
		got[ktAddrPort(t, sa)] = true
	}
	require.Equal(t, want, got)

	_, err = h.Cancel(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, conns+1)
	final := rec.last()
	require.Equal(t, syscall.ECANCELED, final.err)
	require.False(t, final.more)
	require.False(t, h.Live())
	require.Zero(t, r.Active())
}

func TestOpConnect(t *testing.T) {
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		t.Run(fmt.Sprint("family=", family), func(t *testing.T) {
			r := ktRing(t, Options{Entries: 8})
			ln, sa := ktListen(t, family)
			fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			require.NoError(t, err)
			defer unix.Close(fd)
			var rec ktRec
			_, err = r.Connect(fd, sa, rec.ctx())
			require.NoError(t, err)
			require.NoError(t, r.Run(UntilDone))
			require.Len(t, rec.list, 1)
			require.Equal(t, OpConnect, rec.list[0].op)
			require.NoError(t, rec.list[0].err)
			peer, err := unix.Getpeername(fd)
			require.NoError(t, err)
			require.Equal(t, ktAddrPort(t, sa), ktAddrPort(t, peer))
			srv, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
			require.NoError(t, err)
			defer unix.Close(srv)
			_, err = unix.Write(srv, []byte("hey"))
			require.NoError(t, err)
			buf := make([]byte, 8)
			n, err := unix.Read(fd, buf)
			require.NoError(t, err)
			require.Equal(t, "hey", string(buf[:n]))
		})
	}
}

func TestOpConnectRefused(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	// A bound socket that does not listen holds the port and refuses.
	holder, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(holder)
	require.NoError(t, unix.Bind(holder, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := unix.Getsockname(holder)
	require.NoError(t, err)

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	var got error
	_, err = r.Connect(fd, sa, Ctx{Callback: func(_ Runtime, task *Task) error { got = task.Err(); return nil }})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	var errno syscall.Errno
	require.True(t, errors.As(got, &errno), "error %T is not a syscall.Errno", got)
	require.Equal(t, syscall.ECONNREFUSED, errno)
	require.ErrorIs(t, got, syscall.ECONNREFUSED)

	_, err = r.Connect(fd, &unix.SockaddrUnix{Name: string(make([]byte, 200))}, Ctx{})
	require.ErrorIs(t, err, unix.EINVAL, "an over-long unix path is refused before submission")
	require.Zero(t, r.Active())
}

func TestOpSendRecv(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	client, server := ktTCP(t)
	var rec ktRec
	buf := make([]byte, 64)
	_, err := r.Recv(server, buf, 0, Ctx{Callback: rec.cb, Msg: 1})
	require.NoError(t, err)
	_, err = r.Send(client, []byte("hello over tcp"), 0, Ctx{Callback: rec.cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 2)
	for _, res := range rec.list {
		require.NoError(t, res.err)
		require.Equal(t, 14, res.n)
		if res.msg == 1 {
			require.Equal(t, OpRecv, res.op)
		} else {
			require.Equal(t, OpSend, res.op)
		}
	}
	require.Equal(t, "hello over tcp", string(buf[:14]))

	// Recv with MSG_PEEK leaves the data for the next receive. (Not with
	// MSG_WAITALL: io_uring retries a short receive into the rest of the
	// buffer, so a peek would read the same bytes twice.)
	_, err = unix.Write(client, []byte("peek"))
	require.NoError(t, err)
	rec = ktRec{}
	peek := make([]byte, 8)
	_, err = r.Recv(server, peek, unix.MSG_PEEK, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, "peek", string(peek[:rec.last().n]))
	_, err = r.Recv(server, buf, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, "peek", string(buf[:rec.last().n]))

	// Receiving from a closed peer is end of stream; sending to it fails.
	unix.Close(client)
	_, err = r.Recv(server, buf, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, rec.last().err)
	require.Zero(t, rec.last().n)

	_, err = r.Recv(-1, buf, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EBADF, rec.last().err)
}

func TestOpRecvMultishot(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	client, server := ktTCP(t)
	// Two buffers for six messages: buffers must be recycled after each
	// callback or the receive runs dry.
	br, err := r.NewBufRing(1, 2, 32)
	require.NoError(t, err)
	require.Equal(t, uint16(1), br.Group())
	require.Equal(t, 32, br.BufferSize())
	var rec ktRec
	h, err := r.RecvMultishot(server, br, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))

	for i := 0; i < 6; i++ {
		msg := fmt.Sprintf("message-%d", i)
		_, err := unix.Write(client, []byte(msg))
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(rec.list) == i+1 })
		res := rec.list[i]
		require.NoError(t, res.err)
		require.True(t, res.more)
		require.NotZero(t, res.flags&cqeFBuffer)
		require.Equal(t, msg, string(res.data))
		require.Equal(t, len(msg), res.n)
	}
	require.True(t, h.Live())

	require.NoError(t, unix.Shutdown(client, unix.SHUT_WR))
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 7)
	eof := rec.last()
	require.NoError(t, eof.err)
	require.Zero(t, eof.res, "end of stream")
	require.False(t, eof.more)
	require.Nil(t, eof.data)
	require.False(t, h.Live())
	require.Zero(t, r.Active())
}

// TestOpRecvMultishotBigStream sends far more than the buffer ring holds;
// when it runs dry the receive ends with ENOBUFS and is resubmitted, and the
// stream reassembles in order.
func TestOpRecvMultishotBigStream(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	client, server := ktTCP(t)
	br, err := r.NewBufRing(2, 8, 100)
	require.NoError(t, err)
	var got bytes.Buffer
	done := false
	resubmits := 0
	var ctx Ctx
	ctx.Callback = func(rt Runtime, task *Task) error {
		if errors.Is(task.Err(), syscall.ENOBUFS) && !task.More() {
			resubmits++
			_, err := rt.RecvMultishot(server, br, ctx)
			return err
		}
		if task.Err() != nil {
			return task.Err()
		}
		if len(task.Result.Buf) > 100 {
			return fmt.Errorf("%d bytes in a 100-byte buffer", len(task.Result.Buf))
		}
		got.Write(task.Result.Buf)
		if !task.More() {
			done = true
		}
		return nil
	}
	_, err = r.RecvMultishot(server, br, ctx)
	require.NoError(t, err)
	want := make([]byte, 20000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := unix.Write(client, want)
		if err == nil {
			err = unix.Shutdown(client, unix.SHUT_WR)
		}
		wrote <- err
	}()
	ktRunUntil(t, r, func() bool { return done })
	require.NoError(t, <-wrote)
	require.Equal(t, want, got.Bytes())
	require.Zero(t, r.Active())
	t.Logf("resubmitted after ENOBUFS %d times", resubmits)
}

// TestOpRecvMultishotTakeBuffer keeps buffers past their callback with
// TakeBuffer, runs the ring dry (ENOBUFS ends the receive), then recycles
// them and receives again.
func TestOpRecvMultishotTakeBuffer(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	client, server := ktTCP(t)
	br, err := r.NewBufRing(5, 2, 16)
	require.NoError(t, err)
	type held struct {
		buf []byte
		id  uint16
	}
	var kept []held
	var rec ktRec
	cb := func(rt Runtime, task *Task) error {
		if task.N() > 0 {
			buf, id, ok := task.TakeBuffer()
			require.True(t, ok)
			require.Equal(t, task.Result.Buf, buf)
			kept = append(kept, held{buf, id})
			_, _, ok = task.TakeBuffer()
			require.False(t, ok, "a buffer can be taken once")
		} else {
			_, _, ok := task.TakeBuffer()
			require.False(t, ok)
		}
		return rec.cb(rt, task)
	}
	_, err = r.RecvMultishot(server, br, Ctx{Callback: cb})
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	for i, msg := range []string{"first", "second"} {
		_, err := unix.Write(client, []byte(msg))
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(rec.list) == i+1 })
		require.True(t, rec.list[i].more)
	}
	require.Len(t, kept, 2)
	require.NotEqual(t, kept[0].id, kept[1].id)

	// Both buffers are out of the ring: the next data finds none.
	_, err = unix.Write(client, []byte("third"))
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(rec.list) == 3 })
	require.Equal(t, syscall.ENOBUFS, rec.list[2].err)
	require.False(t, rec.list[2].more)
	require.Zero(t, r.Active())
	// Taken buffers were not overwritten.
	require.Equal(t, "first", string(kept[0].buf))
	require.Equal(t, "second", string(kept[1].buf))

	for _, k := range kept {
		br.Recycle(k.id)
	}
	_, err = r.RecvMultishot(server, br, Ctx{Callback: rec.cb})
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(rec.list) == 4 })
	require.NoError(t, rec.list[3].err)
	require.Equal(t, "third", string(rec.list[3].data))
	_, err = unix.Write(client, []byte("fourth"))
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(rec.list) == 5 })
	require.Equal(t, "fourth", string(rec.list[4].data))
	unix.Shutdown(client, unix.SHUT_WR)
	require.NoError(t, r.Run(UntilDone))
	require.Zero(t, rec.last().res)
}

func TestOpRecvMultishotErrors(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	other := ktRing(t, Options{Entries: 8})
	br, err := other.NewBufRing(1, 2, 16)
	require.NoError(t, err)
	_, err = r.RecvMultishot(0, br, Ctx{})
	require.ErrorIs(t, err, ErrForeignTask)
	_, err = r.RecvMultishot(0, nil, Ctx{})
	require.ErrorIs(t, err, ErrForeignTask)
	_, err = r.NewBufRing(1, 3, 16)
	require.ErrorIs(t, err, unix.EINVAL, "count must be a power of two")
	_, err = r.NewBufRing(1, 2, 0)
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = r.NewBufRing(7, 2, 16)
	require.NoError(t, err)
	_, err = r.NewBufRing(7, 2, 16)
	require.Error(t, err, "a group id registered twice")
	require.Zero(t, r.Active())
}

func TestOpSocket(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	ln, sa := ktListen(t, unix.AF_INET)
	var fds []int
	var rec ktRec
	cb := func(rt Runtime, task *Task) error {
		if task.Fd() >= 0 {
			fds = append(fds, task.Fd())
		}
		return rec.cb(rt, task)
	}
	_, err := r.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0, Ctx{Callback: cb, Msg: 1})
	require.NoError(t, err)
	_, err = r.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0, Ctx{Callback: cb, Msg: 2})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, fds, 2)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for i, res := range rec.list {
		require.NoError(t, res.err)
		require.Equal(t, OpSocket, res.op)
		fd := res.fd
		domain, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		require.NoError(t, err)
		typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		require.NoError(t, err)
		if res.msg == 1 {
			require.Equal(t, unix.AF_INET, domain, i)
			require.Equal(t, unix.SOCK_STREAM, typ)
		} else {
			require.Equal(t, unix.AF_UNIX, domain)
			require.Equal(t, unix.SOCK_DGRAM, typ)
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		require.NoError(t, err)
		require.NotZero(t, flags&unix.FD_CLOEXEC)
	}

	// The TCP socket works: connect it through the ring and talk.
	tcp := rec.list[0].fd
	if rec.list[0].msg != 1 {
		tcp = rec.list[1].fd
	}
	rec = ktRec{}
	_, err = r.Connect(tcp, sa, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NoError(t, rec.last().err)
	srv, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(srv)
	_, err = r.Send(tcp, []byte("sock"), 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	buf := make([]byte, 8)
	n, err := unix.Read(srv, buf)
	require.NoError(t, err)
	require.Equal(t, "sock", string(buf[:n]))

	_, err = r.Socket(unix.AF_INET, 12345, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Error(t, rec.last().err, "a bad socket type fails")
	require.Equal(t, -1, rec.last().fd)
}

func TestOpShutdown(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	client, server := ktTCP(t)
	var rec ktRec
	_, err := r.Shutdown(client, unix.SHUT_WR, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	require.Equal(t, OpShutdown, rec.list[0].op)
	require.NoError(t, rec.list[0].err)

	// The peer sees end of stream ...
	buf := make([]byte, 8)
	n, err := unix.Read(server, buf)
	require.NoError(t, err)
	require.Zero(t, n, "peer did not see EOF")
	// ... while the other direction still works.
	_, err = unix.Write(server, []byte("back"))
	require.NoError(t, err)
	_, err = r.Recv(client, buf, 0, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, "back", string(buf[:rec.last().n]))
	// Sending on the shut side fails.
	_, err = r.Send(client, []byte("x"), unix.MSG_NOSIGNAL, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EPIPE, rec.last().err)

	_, err = r.Shutdown(-1, unix.SHUT_RDWR, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Equal(t, syscall.EBADF, rec.last().err)
}

func TestOpPoll(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	rd, wr := ktPipe(t)
	var rec ktRec
	h, err := r.Poll(rd, unix.POLLIN, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	require.NoError(t, r.Run(NoWait))
	require.Empty(t, rec.list, "poll fired on an empty pipe")
	require.True(t, h.Live())

	_, err = unix.Write(wr, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 1)
	require.Equal(t, OpPoll, rec.list[0].op)
	require.NoError(t, rec.list[0].err)
	require.NotZero(t, rec.list[0].res&unix.POLLIN)
	require.False(t, rec.list[0].more)
	require.False(t, h.Live())

	// A writable pipe polls POLLOUT at once.
	_, err = r.Poll(wr, unix.POLLOUT, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.NotZero(t, rec.last().res&unix.POLLOUT)
	require.Zero(t, rec.last().res&unix.POLLIN)
}

func TestOpPollMultishot(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	rd, wr := ktPipe(t)
	var rec ktRec
	h, err := r.PollMultishot(rd, unix.POLLIN, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	buf := make([]byte, 8)
	for i := 0; i < 3; i++ {
		_, err := unix.Write(wr, []byte("x"))
		require.NoError(t, err)
		ktRunUntil(t, r, func() bool { return len(rec.list) > i })
		require.Len(t, rec.list, i+1)
		res := rec.list[i]
		require.NoError(t, res.err)
		require.NotZero(t, res.res&unix.POLLIN)
		require.True(t, res.more, "a live multishot poll completion lacks F_MORE")
		_, err = unix.Read(rd, buf)
		require.NoError(t, err)
	}
	require.True(t, h.Live())
	_, err = h.Cancel(Ctx{})
	require.NoError(t, err)
	require.NoError(t, r.Run(UntilDone))
	require.Len(t, rec.list, 4)
	require.Equal(t, syscall.ECANCELED, rec.last().err)
	require.False(t, rec.last().more)
	require.False(t, h.Live())
	require.Zero(t, r.Active())
}

// TestOpRecvMultishotLimit checks that a limited multishot receive stops
// taking bytes from the socket once it has its limit, ends, and leaves the
// rest in the socket.
func TestOpRecvMultishotLimit(t *testing.T) {
	r := ktRing(t, Options{Entries: 8})
	client, server := ktTCP(t)
	const size, limit = 16, 40
	br, err := r.NewBufRing(1, 16, size)
	require.NoError(t, err)
	_, err = r.RecvMultishotLimit(server, br, 0, Ctx{})
	require.ErrorIs(t, err, unix.EINVAL)

	var rec ktRec
	_, err = r.RecvMultishotLimit(server, br, limit, rec.ctx())
	require.NoError(t, err)
	require.NoError(t, r.Run(NoWait))
	msg := make([]byte, 200)
	for i := range msg {
		msg[i] = byte(i)
	}
	_, err = unix.Write(client, msg)
	require.NoError(t, err)
	ktRunUntil(t, r, func() bool { return len(rec.list) > 0 && !rec.last().more })
	if errors.Is(rec.list[0].err, unix.EINVAL) {
		t.Skip("this kernel has no multishot receive limit")
	}
	var got []byte
	for _, res := range rec.list {
		require.NoError(t, res.err)
		got = append(got, res.data...)
	}
	// Each receive fills at most one buffer, and the one that reaches the
	// limit may pass it.
	require.GreaterOrEqual(t, len(got), limit)
	require.Less(t, len(got), limit+size, "the receive went on past its limit")
	require.Equal(t, msg[:len(got)], got)
	require.Zero(t, r.Active())
	rest := make([]byte, len(msg))
	n, err := unix.Read(server, rest)
	require.NoError(t, err)
	require.Equal(t, msg[len(got):], rest[:n], "the rest stays in the socket")
}

func TestFreeBufRing(t *testing.T) {
	r := ktRing(t, Options{})
	br, err := r.NewBufRing(9, 4, 256)
	require.NoError(t, err)
	require.NoError(t, r.FreeBufRing(br))
	require.ErrorIs(t, r.FreeBufRing(br), ErrForeignTask, "freed twice")
	// The group id is free again, and a receive can select from the new
	// ring that has it.
	br2, err := r.NewBufRing(9, 4, 256)
	require.NoError(t, err)
	a, b := ktSocketPair(t)
	var rec ktRec
	_, err = r.RecvMultishot(b, br2, rec.ctx())
	require.NoError(t, err)
	_, err = unix.Write(a, []byte("again"))
	require.NoError(t, err)
	require.NoError(t, r.Run(Once))
	require.Equal(t, "again", string(rec.list[0].data))
	other := ktRing(t, Options{})
	require.ErrorIs(t, other.FreeBufRing(br2), ErrForeignTask)
}
