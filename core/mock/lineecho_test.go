package mock_test

import (
	"bytes"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
)

// lineServer is application code written only against core.Runtime: it
// accepts one connection, echoes every complete line back (one send in
// flight at a time, finishing short sends), drops an unterminated last
// line, and closes the connection at end of stream. Receives have an idle
// deadline.
type lineServer struct {
	lfd         int
	acceptFlags int // accept4's flags: SOCK_CLOEXEC on a kernel ring
	conn        int
	peer        netip.AddrPort
	buf         [8]byte // small, so lines span receives
	partial     []byte
	lines       []string
	outq        [][]byte
	sending     bool
	eof         bool
	closed      bool
	err         error
}

type lineMsg uint16

const (
	msgAccept lineMsg = iota
	msgRecv
	msgSend
	msgClose
)

const idleTimeout = 5 * time.Second

func (s *lineServer) ctx(msg lineMsg) core.Ctx {
	return core.Ctx{Callback: lineServerCallback, Userdata: s, Msg: uint16(msg)}
}

func (s *lineServer) start(rt core.Runtime) error {
	_, err := rt.Accept(s.lfd, s.acceptFlags, s.ctx(msgAccept))
	return err
}

func (s *lineServer) recv(rt core.Runtime) error {
	h, err := rt.Recv(s.conn, s.buf[:], 0, s.ctx(msgRecv))
	if err != nil {
		return err
	}
	return h.SetDeadline(time.Now().Add(idleTimeout))
}

func (s *lineServer) flush(rt core.Runtime) error {
	if s.sending || len(s.outq) == 0 {
		return nil
	}
	s.sending = true
	_, err := rt.Send(s.conn, s.outq[0], 0, s.ctx(msgSend))
	return err
}

func (s *lineServer) maybeClose(rt core.Runtime) error {
	if !s.eof || s.sending || len(s.outq) > 0 {
		return nil
	}
	_, err := rt.CloseFd(s.conn, s.ctx(msgClose))
	return err
}

func lineServerCallback(rt core.Runtime, t *core.Task) error {
	s := core.UserdataAs[*lineServer](t)
	switch core.MsgAs[lineMsg](t) {
	case msgAccept:
		if err := t.Err(); err != nil {
			return err
		}
		s.conn = t.Fd()
		s.peer, _ = core.SockaddrToAddrPort(t.RemoteSockaddr())
		return s.recv(rt)
	case msgRecv:
		if err := t.Err(); err != nil {
			s.err, s.eof, s.outq = err, true, nil
			return s.maybeClose(rt)
		}
		if t.N() == 0 {
			s.eof = true
			return s.maybeClose(rt)
		}
		s.partial = append(s.partial, s.buf[:t.N()]...)
		for {
			i := bytes.IndexByte(s.partial, '\n')
			if i < 0 {
				break
			}
			s.lines = append(s.lines, string(s.partial[:i]))
			s.outq = append(s.outq, bytes.Clone(s.partial[:i+1]))
			s.partial = s.partial[i+1:]
		}
		if err := s.flush(rt); err != nil {
			return err
		}
		return s.recv(rt)
	case msgSend:
		s.sending = false
		if err := t.Err(); err != nil {
			s.err, s.eof, s.outq = err, true, nil
			return s.maybeClose(rt)
		}
		if n := t.N(); n < len(s.outq[0]) {
			s.outq[0] = s.outq[0][n:]
		} else {
			s.outq = s.outq[1:]
		}
		if err := s.flush(rt); err != nil {
			return err
		}
		return s.maybeClose(rt)
	case msgClose:
		s.closed = true
		return t.Err()
	}
	return nil
}

// checkLineServer holds the assertions both runtimes must pass: the server
// state after Run(UntilDone), and what the peer received.
func checkLineServer(t *testing.T, s *lineServer, received []byte) {
	t.Helper()
	require.NoError(t, s.err)
	require.Equal(t, []string{"hello", "world", "again"}, s.lines)
	require.Equal(t, "hello\nworld\nagain\n", string(received))
	require.Equal(t, "bye", string(s.partial))
	require.True(t, s.closed)
	require.Equal(t, netip.MustParseAddr("127.0.0.1"), s.peer.Addr())
	require.NotZero(t, s.peer.Port())
}

const clientInput = "hello\nworld\nagain\nbye"

func TestLineServerOnMock(t *testing.T) {
	m := mock.New(t)
	const lfd, conn = 3, 7
	m.Script(lfd, core.OpAccept, mock.Accepted(conn, netip.MustParseAddrPort("127.0.0.1:40000")))
	// The peer's bytes arrive in pieces that do not follow line breaks.
	m.Script(conn, core.OpRecv,
		mock.Data([]byte(clientInput[:9])),
		mock.Data([]byte(clientInput[9:15])),
		mock.Data([]byte(clientInput[15:])),
		mock.EOF())
	// The first send is short; the server must send the rest.
	m.Script(conn, core.OpSend, mock.Res(2))

	s := &lineServer{lfd: lfd}
	require.NoError(t, s.start(m))
	require.NoError(t, m.Run(core.UntilDone))
	require.Zero(t, m.Active())
	checkLineServer(t, s, m.Sent(conn))
}

// TestLineServerIdleTimeout runs the deadline path on the mock: the test
// fires the server's idle deadline instead of waiting five seconds.
func TestLineServerIdleTimeout(t *testing.T) {
	m := mock.New(t)
	const lfd, conn = 3, 7
	m.Script(lfd, core.OpAccept, mock.Res(conn))
	s := &lineServer{lfd: lfd}
	require.NoError(t, s.start(m))
	require.NoError(t, m.Run(core.UntilDone))
	require.Equal(t, 1, m.Active(), "the receive waits for data")

	m.Advance(idleTimeout + time.Second)
	require.NoError(t, m.Run(core.UntilDone))
	require.ErrorIs(t, s.err, syscall.ECANCELED)
	require.True(t, s.closed)
	require.Zero(t, m.Active())
}
