package compat_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// read is one Read's outcome.
type read struct {
	data string
	err  error
}

func (r read) String() string { return fmt.Sprintf("(%q, %v)", r.data, r.err) }

func readOnce(c net.Conn, size int) read {
	buf := make([]byte, size)
	n, err := c.Read(buf)
	return read{string(buf[:n]), err}
}

// TestUnixpacketMessages checks that a unixpacket Read returns one message
// at a time: a message longer than the buffer is cut to it and the rest
// dropped, a zero-length message (an empty Write) reads as io.EOF and the
// messages after it still arrive, and the peer's Close reads as io.EOF.
// One Read waits for its message, so the ring's path is taken as well as
// the direct one.
func TestUnixpacketMessages(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		_, c, sc := s.pair(t, "unixpacket", sockDir(t)+"/p", nil)
		waited := make(chan read, 1)
		go func() { waited <- readOnce(c, 5) }()
		time.Sleep(20 * time.Millisecond)
		for _, m := range []string{"first message", "hello world", "second", "", "third"} {
			n, err := sc.Write([]byte(m))
			if n != len(m) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", m, n, err)
			}
		}
		if got := <-waited; got != (read{"first", nil}) {
			t.Errorf("Read that waited: got %v, want first", got)
		}
		for i, want := range []read{{"hello", nil}, {"secon", nil}, {"", io.EOF}, {"third", nil}} {
			if got := readOnce(c, 5); got != want {
				t.Errorf("Read %d: got %v, want %v", i, got, want)
			}
		}
		sc.Close()
		for i := range 2 {
			if got := readOnce(c, 5); got != (read{"", io.EOF}) {
				t.Errorf("Read %d after the peer's Close: got %v, want io.EOF", i, got)
			}
		}
	})
}

// TestUnixpacketLimits checks a message larger than the socket can send
// (EMSGSIZE, nothing written) and connections between a stream and a
// seqpacket socket (EPROTOTYPE), each way.
func TestUnixpacketLimits(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		dir := sockDir(t)
		path := dir + "/p"
		_, c, sc := s.pair(t, "unixpacket", path, nil)
		n, err := c.Write(make([]byte, 1<<20))
		if n != 0 {
			t.Errorf("Write of 1 MiB wrote %d, want 0", n)
		}
		checkErr(t, "Write of 1 MiB", err, opErr{
			text: "write unixpacket @->" + path + ": write: message too long",
			op:   "write", net: "unixpacket", source: unixAddr("unixpacket", "@"), addr: unixAddr("unixpacket", path),
			errno: syscall.EMSGSIZE,
		})
		echoOnce(t, c, sc) // the connection still works

		stream := dir + "/s"
		s.mustListen(t, "unix", stream)
		_, err = s.dial(nil, "unixpacket", stream)
		checkErr(t, "unixpacket dial to a unix listener", err, opErr{
			text: "dial unixpacket " + stream + ": connect: protocol wrong type for socket",
			op:   "dial", net: "unixpacket", source: "nil", addr: unixAddr("unixpacket", stream),
			errno: syscall.EPROTOTYPE,
		})
		_, err = s.dial(nil, "unix", path)
		checkErr(t, "unix dial to a unixpacket listener", err, opErr{
			text: "dial unix " + path + ": connect: protocol wrong type for socket",
			op:   "dial", net: "unix", source: "nil", addr: unixAddr("unix", path),
			errno: syscall.EPROTOTYPE,
		})
	})
}

// TestUnixpacketCopy relays messages between two unixpacket connections
// with io.Copy, as a proxy would: each message is read and written on its
// own through io.Copy's 32 KiB buffer, so boundaries survive and a longer
// message is cut to 32 KiB, rather than running together as a splice
// would make them. The relay's ends are both the stack's, or one of them
// package net's, which uringnet must not splice into or out of either.
func TestUnixpacketCopy(t *testing.T) {
	for _, mix := range []string{"same", "into-net", "from-net"} {
		t.Run(mix, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, s unixStack) {
				inStack, outStack := s, s
				switch mix {
				case "into-net":
					outStack = unixStacks[0]
				case "from-net":
					inStack = unixStacks[0]
				}
				relayMessages(t, inStack, outStack)
			})
		})
	}
}

// relayMessages runs TestUnixpacketCopy's relay: io.Copy from the server
// end of a connection on in's stack to the client end of one on out's.
func relayMessages(t *testing.T, inStack, outStack unixStack) {
	dir := sockDir(t)
	_, in, relayIn := inStack.pair(t, "unixpacket", dir+"/in", nil)
	_, relayOut, out := outStack.pair(t, "unixpacket", dir+"/out", nil)
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(relayOut, relayIn)
		relayOut.Close()
		copied <- err
	}()
	sizes := []int{1, 1000, 32 << 10, 40000, 7}
	for _, n := range sizes {
		if _, err := in.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	in.Close()
	var got []int
	buf := make([]byte, 64<<10)
	for {
		n, err := out.Read(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	want := []int{1, 1000, 32 << 10, 32 << 10, 7}
	if len(got) != len(want) {
		t.Fatalf("relayed messages of %v bytes, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("relayed messages of %v bytes, want %v", got, want)
		}
	}
	if err := <-copied; err != nil {
		t.Errorf("io.Copy: %v", err)
	}
}

// TestUnixpacketManyMessages runs many unixpacket connections at once,
// each in rounds: a burst of messages of many sizes, which the reader,
// with a buffer larger than any, checks whole and in order before it
// acknowledges the round. The burst is queued together, so its later
// messages must be read without a further event to announce them: every
// unixpacket Read is short, and a short Read must not be taken for an
// empty socket, whichever goroutine is polling the ring.
func TestUnixpacketManyMessages(t *testing.T) {
	forEachStack(t, func(t *testing.T, s unixStack) {
		dir := sockDir(t)
		const conns, rounds, burst = 16, 40, 12
		msg := func(conn, i int) []byte {
			b := make([]byte, (i*37+conn)%700+1)
			for j := range b {
				b[j] = byte(i + j + conn)
			}
			return b
		}
		errs := make(chan error, 2*conns)
		for k := range conns {
			_, c, sc := s.pair(t, "unixpacket", fmt.Sprintf("%s/p%d", dir, k), nil)
			go func() { // reader
				buf := make([]byte, 1024)
				for i := range rounds * burst {
					n, err := sc.Read(buf)
					if err != nil {
						errs <- fmt.Errorf("conn %d: Read %d: %v", k, i, err)
						return
					}
					if want := msg(k, i); string(buf[:n]) != string(want) {
						errs <- fmt.Errorf("conn %d: message %d: got %d bytes, want %d", k, i, n, len(want))
						return
					}
					if i%burst == burst-1 {
						if _, err := sc.Write([]byte{1}); err != nil {
							errs <- fmt.Errorf("conn %d: ack: %v", k, err)
							return
						}
					}
				}
				errs <- nil
			}()
			go func() { // writer
				ack := make([]byte, 1)
				for r := range rounds {
					for i := r * burst; i < (r+1)*burst; i++ {
						if _, err := c.Write(msg(k, i)); err != nil {
							errs <- fmt.Errorf("conn %d: Write %d: %v", k, i, err)
							return
						}
					}
					if _, err := io.ReadFull(c, ack); err != nil {
						errs <- fmt.Errorf("conn %d: round %d's ack: %v", k, r, err)
						return
					}
				}
				errs <- nil
			}()
		}
		for range 2 * conns {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
}
