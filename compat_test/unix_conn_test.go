package compat_test

import (
	"io"
	"syscall"
	"testing"
	"time"
)

// halfCloser is CloseRead and CloseWrite, which both stacks' unix
// connections have.
type halfCloser interface {
	CloseRead() error
	CloseWrite() error
}

// TestUnixCloseReadWrite checks half-closing unix connections: after
// CloseWrite the peer reads io.EOF and Writes fail with EPIPE, empty ones
// included; after CloseRead the connection's own Reads return io.EOF while
// it can still write; both fail once the connection is closed.
func TestUnixCloseReadWrite(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				path := sockDir(t) + "/s"
				_, c, sc := s.pair(t, network, path, nil)
				local, remote := unixAddr(network, "@"), unixAddr(network, path)
				if err := c.(halfCloser).CloseWrite(); err != nil {
					t.Fatal(err)
				}
				if got := readOnce(sc, 8); got != (read{"", io.EOF}) {
					t.Errorf("peer's Read after CloseWrite: got %v, want io.EOF", got)
				}
				pipe := opErr{
					text: "write " + network + " @->" + path + ": write: broken pipe",
					op:   "write", net: network, source: local, addr: remote, errno: syscall.EPIPE,
				}
				for _, b := range [][]byte{[]byte("x"), nil} {
					n, err := c.Write(b)
					if n != 0 {
						t.Errorf("Write of %d bytes after CloseWrite wrote %d", len(b), n)
					}
					checkErr(t, "Write after CloseWrite", err, pipe)
				}

				if err := sc.(halfCloser).CloseRead(); err != nil {
					t.Fatal(err)
				}
				if got := readOnce(sc, 8); got != (read{"", io.EOF}) {
					t.Errorf("Read after CloseRead: got %v, want io.EOF", got)
				}
				if n, err := sc.Write([]byte("still")); n != 5 || err != nil {
					t.Errorf("Write after its own CloseRead: %d, %v", n, err)
				}
				if got := readOnce(c, 8); got != (read{"still", nil}) {
					t.Errorf("peer's Read: got %v, want still", got)
				}

				c.Close()
				closed := opErr{
					text: "close " + network + " @->" + path + ": use of closed network connection",
					op:   "close", net: network, source: local, addr: remote, closed: true,
				}
				checkErr(t, "CloseWrite after Close", c.(halfCloser).CloseWrite(), closed)
				checkErr(t, "CloseRead after Close", c.(halfCloser).CloseRead(), closed)
			})
		})
	}
}

// TestUnixPeerClosed checks the survivor of a closed unix connection: its
// Reads return io.EOF, and its Writes, empty ones included, fail with
// EPIPE (no SIGPIPE kills the test).
func TestUnixPeerClosed(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				path := sockDir(t) + "/s"
				_, c, sc := s.pair(t, network, path, nil)
				if n, err := c.Write(nil); n != 0 || err != nil {
					t.Errorf("empty Write on a live connection: %d, %v", n, err)
				}
				if network == "unixpacket" { // it was a message
					if got := readOnce(sc, 8); got != (read{"", io.EOF}) {
						t.Errorf("Read of the empty message: got %v, want io.EOF", got)
					}
				}
				sc.Close()
				if got := readOnce(c, 8); got != (read{"", io.EOF}) {
					t.Errorf("Read from a closed peer: got %v, want io.EOF", got)
				}
				for _, b := range [][]byte{[]byte("x"), nil} {
					_, err := c.Write(b)
					checkErr(t, "Write to a closed peer", err, opErr{
						text: "write " + network + " @->" + path + ": write: broken pipe",
						op:   "write", net: network, source: unixAddr(network, "@"), addr: unixAddr(network, path),
						errno: syscall.EPIPE,
					})
				}
			})
		})
	}
}

// TestUnixDeadlinesAndClose checks a unix connection's deadlines, a Read
// unblocked by Close, and every call after Close.
func TestUnixDeadlinesAndClose(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				path := sockDir(t) + "/s"
				_, c, sc := s.pair(t, network, path, nil)
				local, remote := unixAddr(network, "@"), unixAddr(network, path)
				timeout := func(op string) opErr {
					return opErr{
						text: op + " " + network + " @->" + path + ": i/o timeout",
						op:   op, net: network, source: local, addr: remote, timeout: true,
					}
				}
				// A Read that waits past its deadline, then one that
				// starts past it.
				c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
				_, err := c.Read(make([]byte, 8))
				checkErr(t, "Read past its deadline", err, timeout("read"))
				_, err = c.Read(make([]byte, 8))
				checkErr(t, "Read after its deadline", err, timeout("read"))
				// The deadline moved later lets data through.
				c.SetReadDeadline(time.Now().Add(testTimeout))
				echoOnce(t, c, sc)

				// A Write that blocks on a full socket until its deadline
				// reports what it wrote.
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				msg := make([]byte, 4096)
				total := 0
				for {
					n, err := c.Write(msg)
					total += n
					if err != nil {
						checkErr(t, "Write past its deadline", err, timeout("write"))
						break
					}
					if total > 64<<20 {
						t.Fatal("Write never blocked")
					}
				}
				if total == 0 {
					t.Error("nothing was written before the deadline")
				}
				_, err = c.Write(msg)
				checkErr(t, "Write after its deadline", err, timeout("write"))

				// Close unblocks a Read and fails every later call.
				c.SetDeadline(time.Time{})
				sc.SetDeadline(time.Time{})
				done := make(chan error, 1)
				go func() {
					_, err := sc.Read(make([]byte, len(msg)*2))
					for err == nil { // drain what c wrote
						_, err = sc.Read(make([]byte, len(msg)*2))
					}
					done <- err
				}()
				time.Sleep(30 * time.Millisecond)
				sc.Close()
				select {
				case err = <-done:
				case <-time.After(testTimeout):
					t.Fatal("Close did not unblock Read")
				}
				slocal, sremote := unixAddr(network, path), unixAddr(network, "@")
				closed := func(op string) opErr {
					return opErr{
						text: op + " " + network + " " + path + "->@: use of closed network connection",
						op:   op, net: network, source: slocal, addr: sremote, closed: true,
					}
				}
				checkErr(t, "Read unblocked by Close", err, closed("read"))
				_, err = sc.Read(make([]byte, 8))
				checkErr(t, "Read after Close", err, closed("read"))
				_, err = sc.Write([]byte("x"))
				checkErr(t, "Write after Close", err, closed("write"))
				_, err = sc.Write(nil)
				checkErr(t, "empty Write after Close", err, closed("write"))
				checkErr(t, "Close after Close", sc.Close(), closed("close"))
				set := opErr{
					text: "set " + network + " " + path + ": use of closed network connection",
					op:   "set", net: network, source: "nil", addr: slocal, closed: true,
				}
				checkErr(t, "SetDeadline after Close", sc.SetDeadline(time.Now()), set)
				checkErr(t, "SetReadDeadline after Close", sc.SetReadDeadline(time.Now()), set)
				checkErr(t, "SetWriteDeadline after Close", sc.SetWriteDeadline(time.Now()), set)
			})
		})
	}
}

// bufferSetter is SetReadBuffer and SetWriteBuffer, which both stacks'
// unix connections have.
type bufferSetter interface {
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

// TestUnixBufferSizes sets a unix connection's socket buffers, which the
// kernel doubles for its bookkeeping, and fails to once it is closed.
func TestUnixBufferSizes(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				_, c, _ := s.pair(t, network, sockDir(t)+"/s", nil)
				bs := c.(bufferSetter)
				if err := bs.SetReadBuffer(64 << 10); err != nil {
					t.Fatal(err)
				}
				if err := bs.SetWriteBuffer(96 << 10); err != nil {
					t.Fatal(err)
				}
				raw, _ := c.(syscall.Conn).SyscallConn()
				var rcv, snd int
				raw.Control(func(fd uintptr) {
					rcv, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
					snd, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
				})
				if rcv != 128<<10 || snd != 192<<10 {
					t.Errorf("SO_RCVBUF %d, SO_SNDBUF %d; want %d, %d", rcv, snd, 128<<10, 192<<10)
				}
				c.Close()
				closed := opErr{
					text: "set " + network + " @: use of closed network connection",
					op:   "set", net: network, source: "nil", addr: unixAddr(network, "@"), closed: true,
				}
				checkErr(t, "SetReadBuffer after Close", bs.SetReadBuffer(1024), closed)
				checkErr(t, "SetWriteBuffer after Close", bs.SetWriteBuffer(1024), closed)
			})
		})
	}
}
