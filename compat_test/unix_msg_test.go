package compat_test

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// msgConn is ReadMsgUnix and WriteMsgUnix, which both stacks' unix
// connections have.
type msgConn interface {
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error)
}

// msgRead is one ReadMsgUnix's outcome, the descriptors received closed
// and counted.
type msgRead struct {
	data   string
	oobn   int
	flags  int
	addr   string // addrDesc
	fds    int
	cloexe bool // every descriptor received is close-on-exec
}

func readMsg(t *testing.T, c net.Conn, size, oobSize int) (msgRead, []int) {
	t.Helper()
	buf, oob := make([]byte, size), make([]byte, oobSize)
	n, oobn, flags, addr, err := c.(msgConn).ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("ReadMsgUnix: %v", err)
	}
	r := msgRead{data: string(buf[:n]), oobn: oobn, flags: flags, addr: "nil", cloexe: true}
	if addr != nil {
		r.addr = addrDesc(addr)
	}
	var fds []int
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		got, err := syscall.ParseUnixRights(&m)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, got...)
	}
	for _, fd := range fds {
		fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		if errno != 0 || fl&syscall.FD_CLOEXEC == 0 {
			r.cloexe = false
		}
	}
	r.fds = len(fds)
	return r, fds
}

// TestUnixPassDescriptors passes pipe descriptors over unix and unixpacket
// connections with WriteMsgUnix and ReadMsgUnix: the descriptor received
// works and is close-on-exec, the sender's name is reported when it has
// one, ancillary data alone travels with one zero byte, and too small an
// oob buffer truncates with MSG_CTRUNC.
func TestUnixPassDescriptors(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				dir := sockDir(t)
				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer pr.Close()
				defer pw.Close()
				one := syscall.UnixRights(int(pw.Fd()))
				three := syscall.UnixRights(int(pw.Fd()), int(pw.Fd()), int(pw.Fd()))
				space := syscall.CmsgSpace(4)

				clientName := dir + "/c"
				_, c, sc := s.pair(t, network, dir+"/s", &net.UnixAddr{Name: clientName, Net: network})
				write := func(b, oob []byte, wantN int) {
					t.Helper()
					n, oobn, err := c.(msgConn).WriteMsgUnix(b, oob, nil)
					if n != wantN || oobn != len(oob) || err != nil {
						t.Fatalf("WriteMsgUnix(%d bytes, %d of oob) = %d, %d, %v; want %d, %d, nil", len(b), len(oob), n, oobn, err, wantN, len(oob))
					}
				}
				from := unixAddr(network, clientName)

				write([]byte("fd"), one, 2)
				got, fds := readMsg(t, sc, 16, 64)
				if want := (msgRead{"fd", space, syscall.MSG_CMSG_CLOEXEC, from, 1, true}); got != want {
					t.Errorf("one descriptor: got %+v, want %+v", got, want)
				}
				for _, fd := range fds {
					if _, err := syscall.Write(fd, []byte("through")); err != nil {
						t.Errorf("write to the descriptor received: %v", err)
					}
					syscall.Close(fd)
				}
				pr.SetReadDeadline(time.Now().Add(testTimeout))
				buf := make([]byte, 7)
				if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "through" {
					t.Errorf("pipe read %q, %v", buf, err)
				}

				write(nil, one, 0)
				got, fds = readMsg(t, sc, 16, 64)
				if want := (msgRead{"\x00", space, syscall.MSG_CMSG_CLOEXEC, from, 1, true}); got != want {
					t.Errorf("descriptor alone: got %+v, want %+v", got, want)
				}
				for _, fd := range fds {
					syscall.Close(fd)
				}

				write([]byte("3"), three, 1)
				got, fds = readMsg(t, sc, 16, space)
				if want := (msgRead{"3", space, syscall.MSG_CMSG_CLOEXEC | syscall.MSG_CTRUNC, from, 2, true}); got != want {
					t.Errorf("three descriptors, room for two: got %+v, want %+v", got, want)
				}
				for _, fd := range fds {
					syscall.Close(fd)
				}

				// An unnamed sender has no address to report.
				_, c2, sc2 := s.pair(t, network, dir+"/s2", nil)
				if _, _, err := c2.(msgConn).WriteMsgUnix([]byte("anon"), nil, nil); err != nil {
					t.Fatal(err)
				}
				got, _ = readMsg(t, sc2, 16, 64)
				if want := (msgRead{"anon", 0, syscall.MSG_CMSG_CLOEXEC, "nil", 0, true}); got != want {
					t.Errorf("unnamed sender: got %+v, want %+v", got, want)
				}
			})
		})
	}
}

// TestUnixMsgMixedWithRead interleaves ReadMsgUnix and WriteMsgUnix with
// plain Reads and Writes on a unix stream: the bytes stay in order
// whichever call takes them, and a Read after ReadMsgUnix finds what is
// left without waiting for a new arrival.
func TestUnixMsgMixedWithRead(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		_, c, sc := s.pair(t, "unix", sockDir(t)+"/s", nil)
		if _, err := c.Write([]byte("abcdefghi")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // all nine bytes are queued
		if got := readOnce(sc, 3); got != (read{"abc", nil}) {
			t.Errorf("Read: got %v, want abc", got)
		}
		if got, _ := readMsg(t, sc, 3, 0); got.data != "def" {
			t.Errorf("ReadMsgUnix: got %+v, want def", got)
		}
		if got := readOnce(sc, 8); got != (read{"ghi", nil}) {
			t.Errorf("Read after ReadMsgUnix: got %v, want ghi", got)
		}
		if _, _, err := c.(msgConn).WriteMsgUnix([]byte("jkl"), nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("mno")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "jklmno" {
			t.Errorf("Read after WriteMsgUnix and Write: %q, %v", buf, err)
		}
	})
}

// TestUnixMsgErrors checks ReadMsgUnix and WriteMsgUnix where they fail:
// an address on a connected stream (EISCONN; a unixpacket socket ignores
// it), a name too long, an address of another network, a deadline, the
// peer's Close (a wrapped io.EOF, and EPIPE) and Close.
func TestUnixMsgErrors(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				dir := sockDir(t)
				path := dir + "/s"
				_, c, sc := s.pair(t, network, path, nil)
				mc := c.(msgConn)
				local, remote := unixAddr(network, "@"), unixAddr(network, path)
				to := &net.UnixAddr{Name: dir + "/elsewhere", Net: network}
				_, _, err := mc.WriteMsgUnix([]byte("x"), nil, to)
				if network == "unix" {
					checkErr(t, "WriteMsgUnix to an address", err, opErr{
						text: "write unix @->" + to.Name + ": sendmsg: transport endpoint is already connected",
						op:   "write", net: network, source: local, addr: addrDesc(to), errno: syscall.EISCONN,
					})
				} else if err != nil {
					t.Errorf("WriteMsgUnix to an address on unixpacket: %v", err)
				} else if got := readOnce(sc, 8); got != (read{"x", nil}) {
					t.Errorf("the peer read %v, want x", got)
				}
				long := &net.UnixAddr{Name: "@" + string(make([]byte, 108)), Net: network}
				_, _, err = mc.WriteMsgUnix([]byte("x"), nil, long)
				checkErr(t, "WriteMsgUnix to a name too long", err, opErr{
					text: "write " + network + " @->" + long.String() + ": sendmsg: invalid argument",
					op:   "write", net: network, source: local, addr: addrDesc(long), errno: syscall.EINVAL,
				})
				other := &net.UnixAddr{Name: to.Name, Net: "unixgram"}
				_, _, err = mc.WriteMsgUnix([]byte("x"), nil, other)
				checkErr(t, "WriteMsgUnix to a unixgram address", err, opErr{
					text: "write " + network + " @->" + to.Name + ": address family not supported by protocol",
					op:   "write", net: network, source: local, addr: addrDesc(other), errno: syscall.EAFNOSUPPORT,
				})

				c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				_, _, _, _, err = mc.ReadMsgUnix(make([]byte, 8), make([]byte, 64))
				checkErr(t, "ReadMsgUnix past its deadline", err, opErr{
					text: "read " + network + " @->" + path + ": i/o timeout",
					op:   "read", net: network, source: local, addr: remote, timeout: true,
				})
				c.SetReadDeadline(time.Now().Add(testTimeout))

				sc.Close()
				_, _, _, _, err = mc.ReadMsgUnix(make([]byte, 8), make([]byte, 64))
				checkErr(t, "ReadMsgUnix from a closed peer", err, opErr{
					text: "read " + network + " @->" + path + ": EOF",
					op:   "read", net: network, source: local, addr: remote,
				})
				if !errors.Is(err, io.EOF) {
					t.Errorf("%v is not io.EOF", err)
				}
				_, _, err = mc.WriteMsgUnix([]byte("x"), nil, nil)
				checkErr(t, "WriteMsgUnix to a closed peer", err, opErr{
					text: "write " + network + " @: sendmsg: broken pipe",
					op:   "write", net: network, source: local, addr: "nil", errno: syscall.EPIPE,
				})

				c.Close()
				_, _, _, _, err = mc.ReadMsgUnix(make([]byte, 8), nil)
				checkErr(t, "ReadMsgUnix after Close", err, opErr{
					text: "read " + network + " @->" + path + ": use of closed network connection",
					op:   "read", net: network, source: local, addr: remote, closed: true,
				})
				_, _, err = mc.WriteMsgUnix([]byte("x"), nil, nil)
				checkErr(t, "WriteMsgUnix after Close", err, opErr{
					text: "write " + network + " @: use of closed network connection",
					op:   "write", net: network, source: local, addr: "nil", closed: true,
				})
			})
		})
	}
}

// TestUnixMsgBlocked checks ReadMsgUnix and WriteMsgUnix that wait: a
// ReadMsgUnix woken by a deadline set while it waits, then by Close, and
// a WriteMsgUnix on a full socket stopped by its deadline after the
// messages that fit.
func TestUnixMsgBlocked(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				path := sockDir(t) + "/s"
				_, c, sc := s.pair(t, network, path, nil)
				local, remote := unixAddr(network, "@"), unixAddr(network, path)
				waitRead := func(wake func()) error {
					done := make(chan error, 1)
					go func() {
						_, _, _, _, err := c.(msgConn).ReadMsgUnix(make([]byte, 8), make([]byte, 64))
						done <- err
					}()
					time.Sleep(30 * time.Millisecond)
					wake()
					select {
					case err := <-done:
						return err
					case <-time.After(testTimeout):
						t.Fatal("ReadMsgUnix stayed blocked")
						return nil
					}
				}

				c.SetReadDeadline(time.Time{})
				err := waitRead(func() { c.SetReadDeadline(time.Now()) })
				checkErr(t, "ReadMsgUnix woken by its deadline", err, opErr{
					text: "read " + network + " @->" + path + ": i/o timeout",
					op:   "read", net: network, source: local, addr: remote, timeout: true,
				})

				sc.SetReadDeadline(time.Time{})
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				sent := 0
				for {
					n, _, err := c.(msgConn).WriteMsgUnix(make([]byte, 4096), nil, nil)
					sent += n
					if err != nil {
						checkErr(t, "WriteMsgUnix past its deadline", err, opErr{
							text: "write " + network + " @: i/o timeout",
							op:   "write", net: network, source: local, addr: "nil", timeout: true,
						})
						break
					}
					if sent > 64<<20 {
						t.Fatal("WriteMsgUnix never blocked")
					}
				}
				if sent == 0 {
					t.Error("no message fit before the deadline")
				}

				c.SetReadDeadline(time.Time{})
				err = waitRead(func() { c.Close() })
				checkErr(t, "ReadMsgUnix woken by Close", err, opErr{
					text: "read " + network + " @->" + path + ": use of closed network connection",
					op:   "read", net: network, source: local, addr: remote, closed: true,
				})
			})
		})
	}
}

// fromToConn is ReadFromUnix and WriteToUnix, which both stacks' unix
// connections have.
type fromToConn interface {
	ReadFromUnix(b []byte) (int, *net.UnixAddr, error)
	WriteToUnix(b []byte, addr *net.UnixAddr) (int, error)
}

// TestUnixReadFromWriteToUnix checks the datagram-style calls on
// connected unix sockets: ReadFromUnix reports a named sender and no
// address for an unnamed one, and wraps io.EOF; WriteToUnix is refused
// with net.ErrWriteToConnected, with or without an address.
func TestUnixReadFromWriteToUnix(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				dir := sockDir(t)
				path, clientName := dir+"/s", dir+"/c"
				_, named, nsc := s.pair(t, network, path, &net.UnixAddr{Name: clientName, Net: network})
				_, anon, asc := s.pair(t, network, dir+"/s2", nil)
				for _, tc := range []struct {
					c, sc net.Conn
					from  string
				}{{named, nsc, unixAddr(network, clientName)}, {anon, asc, "nil"}} {
					if _, err := tc.c.Write([]byte("hi")); err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, 8)
					n, addr, err := tc.sc.(fromToConn).ReadFromUnix(buf)
					got := "nil"
					if addr != nil {
						got = addrDesc(addr)
					}
					if n != 2 || string(buf[:2]) != "hi" || got != tc.from || err != nil {
						t.Errorf("ReadFromUnix: %d %q from %s, %v; want 2 \"hi\" from %s", n, buf[:n], got, err, tc.from)
					}
				}
				to := &net.UnixAddr{Name: dir + "/x", Net: network}
				for _, a := range []*net.UnixAddr{nil, to} {
					n, err := anon.(fromToConn).WriteToUnix([]byte("x"), a)
					want := opErr{
						text: "write " + network + " @: use of WriteTo with pre-connected connection",
						op:   "write", net: network, source: unixAddr(network, "@"), addr: "nil",
					}
					if a != nil {
						want.text = "write " + network + " @->" + a.Name + ": use of WriteTo with pre-connected connection"
						want.addr = addrDesc(a)
					}
					if n != 0 {
						t.Errorf("WriteToUnix wrote %d", n)
					}
					checkErr(t, "WriteToUnix", err, want)
					if !errors.Is(err, net.ErrWriteToConnected) {
						t.Errorf("%v is not net.ErrWriteToConnected", err)
					}
				}
				named.Close()
				_, _, err := nsc.(fromToConn).ReadFromUnix(make([]byte, 8))
				checkErr(t, "ReadFromUnix from a closed peer", err, opErr{
					text: "read " + network + " " + path + "->" + clientName + ": EOF",
					op:   "read", net: network, source: unixAddr(network, path), addr: unixAddr(network, clientName),
				})
				if !errors.Is(err, io.EOF) {
					t.Errorf("%v is not io.EOF", err)
				}
			})
		})
	}
}
