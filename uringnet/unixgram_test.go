//go:build linux

package uringnet_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// unixgram side by side with package net: the same datagrams, addresses,
// control data and errors.

type gramConn interface {
	net.Conn
	net.PacketConn
	ReadFromUnix(b []byte) (int, *net.UnixAddr, error)
	WriteToUnix(b []byte, addr *net.UnixAddr) (int, error)
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error)
}

func gramListen(t *testing.T, impl udpImpl, path string) gramConn {
	t.Helper()
	pc, err := impl.listen("unixgram", path)
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	if impl.name == "uringnet" {
		require.IsType(t, &uringnet.UnixgramConn{}, pc)
	}
	return pc.(gramConn)
}

func TestUnixgramSideBySide(t *testing.T) {
	got := map[string][]string{}
	for _, impl := range udpImpls {
		dir := t.TempDir()
		a := gramListen(t, impl, filepath.Join(dir, "a"))
		b := gramListen(t, impl, filepath.Join(dir, "b"))
		require.NoError(t, b.SetReadDeadline(time.Now().Add(10*time.Second)))
		var seen []string
		note := func(s string) { seen = append(seen, s) }
		buf := make([]byte, 64)
		for _, m := range []string{"datagram", "", string(bytes.Repeat([]byte("y"), 100))} {
			n, err := a.WriteTo([]byte(m), b.LocalAddr())
			require.NoError(t, err)
			require.Equal(t, len(m), n)
			n, _, flags, from, err := b.ReadMsgUnix(buf, nil)
			require.NoError(t, err)
			note(string(buf[:n]))
			note(filepath.Base(from.String()))
			note(from.Network())
			note(string(rune('0' + flags&unix.MSG_TRUNC>>5)))
		}
		// Descriptors in control data, close-on-exec on arrival.
		rd, wr, err := os.Pipe()
		require.NoError(t, err)
		_, oobn, err := a.WriteMsgUnix([]byte("fd"), unix.UnixRights(int(wr.Fd())), b.LocalAddr().(*net.UnixAddr))
		require.NoError(t, err)
		require.Positive(t, oobn)
		oob := make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := b.ReadMsgUnix(buf, oob)
		require.NoError(t, err)
		note(string(buf[:n]))
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		require.NoError(t, err)
		fds, err := unix.ParseUnixRights(&msgs[0])
		require.NoError(t, err)
		fl, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0)
		require.NoError(t, err)
		note(string(rune('0' + fl&unix.FD_CLOEXEC)))
		unix.Close(fds[0])
		rd.Close()
		wr.Close()
		// Errors.
		c, err := impl.dial("unixgram", b.LocalAddr().String())
		require.NoError(t, err)
		cg := c.(gramConn)
		_, e1 := cg.WriteTo([]byte("x"), a.LocalAddr())
		_, e2 := a.WriteTo([]byte("x"), nil)
		_, e3 := a.WriteToUnix([]byte("x"), &net.UnixAddr{Name: "x", Net: "unix"})
		_, _, e4 := cg.WriteMsgUnix([]byte("x"), nil, nil)
		_, e5 := a.WriteTo([]byte("x"), &net.UnixAddr{Name: filepath.Join(dir, "none"), Net: "unixgram"})
		for _, e := range []error{e1, e2, e3, e4, e5} {
			note(udpErrText(e, a.LocalAddr(), b.LocalAddr(), &net.UnixAddr{Name: dir}))
		}
		// A connected socket's datagrams arrive from an unnamed sender.
		_, err = cg.Write([]byte("unnamed"))
		require.NoError(t, err)
		n, from, err := b.ReadFromUnix(buf)
		require.NoError(t, err)
		note(string(buf[:n]))
		note(udpErrText(nil))
		if from != nil {
			note("named " + from.String())
		}
		// Close unblocks a read.
		errc := make(chan error, 1)
		go func() { _, _, err := a.ReadFrom(buf); errc <- err }()
		time.Sleep(10 * time.Millisecond)
		a.Close()
		select {
		case err := <-errc:
			require.ErrorIs(t, err, net.ErrClosed)
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not unblock ReadFrom")
		}
		// A past deadline.
		require.NoError(t, b.SetReadDeadline(time.Now().Add(-time.Second)))
		_, _, err = b.ReadFrom(buf)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		c.Close()
		got[impl.name] = seen
	}
	require.Equal(t, got["net"], got["uringnet"])
}
