package uringnet

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// testEngine creates an engine of the test's own with a buffer ring of
// bufs buffers, so that its buffer count is the test's alone.
func testEngine(t *testing.T, bufs uint16) *engine {
	t.Helper()
	if !multishotRecv() {
		t.Skip("multishot receives are off (OURIO_RECV_MULTISHOT=0)")
	}
	e, err := newEngineMode(nil, bufs, false)
	require.NoError(t, err)
	require.NotNil(t, e.bufs, "no buffer ring")
	// A Read arms a multishot receive only while another goroutine polls
	// the engine.
	holdPoller(t, e)
	return e
}

// holdPoller keeps a Read of a connection of its own waiting on e, as its
// poller, parked, until the test ends.
func holdPoller(t *testing.T, e *engine) {
	t.Helper()
	clients, servers := connPairs(t, 1)
	onEngine(e, servers[0])
	done := make(chan struct{})
	go func() {
		defer close(done)
		servers[0].Read(make([]byte, 1))
	}()
	eventually(t, "the holder did not poll", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.polling && e.asleep
	})
	t.Cleanup(func() {
		clients[0].Write([]byte{0})
		<-done
	})
}

// onEngine moves conns, before their first operation, onto e.
func onEngine(e *engine, conns ...*Conn) {
	for _, c := range conns {
		c.fd.moveTo(e)
	}
}

// arm makes s's multishot receive live: a 1-byte Read waits for the byte c
// writes after it.
func arm(t *testing.T, c, s *Conn) {
	t.Helper()
	read := make(chan error, 1)
	b := make([]byte, 1)
	go func() {
		_, err := s.Read(b)
		read <- err
	}()
	// Write only once the Read waits on its multishot receive, or it
	// could take the byte straight from the socket.
	eventually(t, "the Read did not wait on a multishot receive", func() bool {
		e := s.fd.e
		e.mu.Lock()
		defer e.mu.Unlock()
		return s.fd.rd.op.inflight && s.fd.rd.op.ms
	})
	_, err := c.Write([]byte{'!'})
	require.NoError(t, err)
	require.NoError(t, <-read)
	require.Equal(t, "!", string(b))
	s.fd.rd.mu.Lock()
	defer s.fd.rd.mu.Unlock()
	s.fd.e.mu.Lock()
	defer s.fd.e.mu.Unlock()
	require.True(t, s.fd.rd.ms.armed && s.fd.rd.msOn, "the Read did not arm a multishot receive")
}

// armedPair returns a connection pair whose server end is on an engine of
// its own with its multishot receive armed.
func armedPair(t *testing.T) (e *engine, c, s *Conn) {
	e = testEngine(t, msBufCount)
	clients, servers := connPairs(t, 1)
	c, s = clients[0], servers[0]
	onEngine(e, s)
	arm(t, c, s)
	return e, c, s
}

// msState reads s's multishot state.
func msState(s *Conn) (armed bool, queued, lent int) {
	e := s.fd.e
	e.mu.Lock()
	defer e.mu.Unlock()
	return s.fd.rd.ms.armed, len(s.fd.rd.ms.q), e.lent
}

// pattern returns n bytes that differ from one position to the next, with
// a tag so that two connections' bytes differ too.
func pattern(n int, tag byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ byte(i>>8) ^ tag
	}
	return b
}

// readAll reads len(want) bytes from s with Reads of size bytes and checks
// they are want.
func readAll(t *testing.T, s *Conn, want []byte, size int) {
	t.Helper()
	got := make([]byte, 0, len(want))
	b := make([]byte, size)
	require.NoError(t, s.SetReadDeadline(time.Now().Add(10*time.Second)))
	for len(got) < len(want) {
		n, err := s.Read(b)
		require.NoError(t, err)
		got = append(got, b[:n]...)
	}
	require.NoError(t, s.SetReadDeadline(time.Time{}))
	require.True(t, bytes.Equal(want, got), "bytes lost or out of order")
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), what)
		time.Sleep(time.Millisecond)
	}
}

// TestMultishotQueueIsBounded checks that a connection whose reader falls
// behind stops receiving at msLimit bytes, so the rest waits in the socket,
// and that every byte still arrives in order and every buffer returns to
// the ring.
func TestMultishotQueueIsBounded(t *testing.T) {
	e, c, s := armedPair(t)
	data := pattern(1<<20, 0)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		wrote <- err
	}()
	eventually(t, "the receive did not end at its limit", func() bool {
		reap(e)
		armed, _, _ := msState(s)
		return !armed
	})
	_, queued, lent := msState(s)
	require.Equal(t, queued, lent)
	e.mu.Lock()
	held := 0
	for _, ch := range s.fd.rd.ms.q {
		held += len(ch.buf)
	}
	e.mu.Unlock()
	require.GreaterOrEqual(t, held, msLimit)
	require.Less(t, held, msLimit+msBufSize, "the receive took more than its limit")
	readAll(t, s, data, 100)
	require.NoError(t, <-wrote)
	require.NoError(t, s.Close())
	_, _, lent = msState(s)
	require.Zero(t, lent, "buffers not given back")
}

// closeAll closes conns and checks that every buffer of e's ring came
// back.
func closeAll(t *testing.T, e *engine, conns []*Conn) {
	t.Helper()
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Zero(t, e.lent, "buffers not given back")
}

// reap runs e's completions when no goroutine is polling for them.
func reap(e *engine) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.polling {
		e.ring.Run(core.NoWait)
	}
}

// TestMultishotBuffersRunOut checks that connections that find the buffer
// ring empty fall back to receiving into their Reads' buffers and lose
// nothing, and that Close gives back the buffers a connection held unread.
func TestMultishotBuffersRunOut(t *testing.T) {
	const conns, bufs = 4, 8
	e := testEngine(t, bufs)
	clients, servers := connPairs(t, conns)
	onEngine(e, servers...)
	for i := range servers {
		arm(t, clients[i], servers[i])
	}
	sent := make([][]byte, conns)
	for i, c := range clients {
		sent[i] = pattern(256<<10, byte(i))
		go c.Write(sent[i])
	}
	eventually(t, "the buffer ring did not run dry", func() bool {
		reap(e)
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.lent == bufs
	})
	dry := 0
	eventually(t, "no receive found the buffer ring dry", func() bool {
		reap(e)
		e.mu.Lock()
		defer e.mu.Unlock()
		dry = 0
		for _, s := range servers {
			if s.fd.rd.ms.nobufs {
				dry++
			}
		}
		return dry > 0
	})
	for i, s := range servers {
		readAll(t, s, sent[i], msBufSize)
	}
	// Leave bytes queued on one connection, then close it.
	arm(t, clients[0], servers[0])
	_, err := clients[0].Write([]byte("left unread"))
	require.NoError(t, err)
	eventually(t, "the bytes did not arrive", func() bool {
		reap(e)
		_, queued, _ := msState(servers[0])
		return queued > 0
	})
	closeAll(t, e, servers)
}

// TestLargeReadAfterMultishot checks that a Read larger than a provided
// buffer first takes what the queue holds, then ends the multishot receive
// and receives into its own buffer, in order.
func TestLargeReadAfterMultishot(t *testing.T) {
	_, c, s := armedPair(t)
	data := pattern(3<<20, 1)
	go c.Write(data)
	readAll(t, s, data, 64<<10)
	armed, queued, _ := msState(s)
	require.False(t, armed, "large Reads left the multishot receive armed")
	require.Zero(t, queued)
	// A small Read arms it again.
	arm(t, c, s)
}

// TestWriteToAfterMultishot checks that WriteTo into a pipe, which it
// splices into, first ends the multishot receive and hands on what it
// queued, then splices the rest, in order.
func TestWriteToAfterMultishot(t *testing.T) {
	for _, queued := range []bool{false, true} {
		_, c, s := armedPair(t)
		data := pattern(1<<20, 2)
		rest := data
		if queued {
			_, err := c.Write(data[:10])
			require.NoError(t, err)
			eventually(t, "the bytes were not queued", func() bool {
				_, q, _ := msState(s)
				return q > 0
			})
			rest = data[10:]
		}
		go func() {
			c.Write(rest)
			c.CloseWrite()
		}()
		pr, pw, err := os.Pipe()
		require.NoError(t, err)
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(pr)
			got <- b
		}()
		n, err := s.WriteTo(pw)
		require.NoError(t, pw.Close())
		require.NoError(t, err)
		require.Equal(t, int64(len(data)), n)
		require.True(t, bytes.Equal(data, <-got), "bytes lost or out of order (queued first: %v)", queued)
		require.NoError(t, pr.Close())
	}
}

// TestRawReadAfterMultishot checks that a raw Read while a multishot
// receive holds bytes fails at once rather than wait for bytes that have
// arrived, and that once a Read has taken them raw Reads see the socket, and
// Reads arm no multishot receive again.
func TestRawReadAfterMultishot(t *testing.T) {
	_, c, s := armedPair(t)
	_, err := c.Write([]byte("held"))
	require.NoError(t, err)
	eventually(t, "the bytes were not queued", func() bool {
		_, q, _ := msState(s)
		return q > 0
	})
	rc, err := s.SyscallConn()
	require.NoError(t, err)
	rawRead := func() (string, error) {
		var got string
		err := rc.Read(func(fd uintptr) bool {
			b := make([]byte, 64)
			n, err := unix.Read(int(fd), b)
			if err == unix.EAGAIN {
				return false
			}
			got = string(b[:max(n, 0)])
			return true
		})
		return got, err
	}
	_, err = rawRead()
	require.ErrorIs(t, err, errHeldForRead)
	b := make([]byte, 64)
	n, err := s.Read(b)
	require.NoError(t, err)
	require.Equal(t, "held", string(b[:n]))
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("raw"))
	}()
	got, err := rawRead()
	require.NoError(t, err)
	require.Equal(t, "raw", got)
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("again"))
	}()
	n, err = s.Read(b)
	require.NoError(t, err)
	require.Equal(t, "again", string(b[:n]))
	armed, _, _ := msState(s)
	require.False(t, armed, "a Read armed a multishot receive after SyscallConn")
}

// TestReadWriteAllocatesNothing checks that a ping-pong's Writes and Reads
// allocate nothing once warm, on both ends: through Reads that wait for
// readiness (or, under OURIO_RECV=ring, receive on their own) and through a
// multishot receive.
func TestReadWriteAllocatesNothing(t *testing.T) {
	pingPong := func(t *testing.T, c, s *Conn) {
		go func() {
			b := make([]byte, 64)
			for {
				n, err := s.Read(b)
				if err != nil {
					return
				}
				if _, err := s.Write(b[:n]); err != nil {
					return
				}
			}
		}()
		msg, got := make([]byte, 64), make([]byte, 64)
		var failed error
		round := func() {
			if _, err := c.Write(msg); err != nil {
				failed = err
			}
			for n := 0; n < len(got) && failed == nil; {
				k, err := c.Read(got[n:])
				n += k
				failed = err
			}
		}
		for i := 0; i < 200; i++ {
			round()
		}
		allocs := testing.AllocsPerRun(2000, round)
		require.NoError(t, failed)
		require.Zero(t, allocs, "allocations per Write and Read")
	}
	t.Run("own", func(t *testing.T) {
		clients, servers := connPairs(t, 1)
		pingPong(t, clients[0], servers[0])
	})
	t.Run("multishot", func(t *testing.T) {
		_, c, s := armedPair(t)
		pingPong(t, c, s)
		armed, _, _ := msState(s)
		require.True(t, armed, "the Reads did not go through the multishot receive")
	})
}
