package mock_test

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/core/mock"
)

// echo is the application code under test, written against core.Runtime:
// it sends back whatever it receives on fd and closes fd at end of stream or
// on a receive error, which it keeps.
type echo struct {
	fd  int
	buf [512]byte
	err error
}

func (e *echo) Start(rt core.Runtime) error {
	_, err := rt.Recv(e.fd, e.buf[:], 0, core.Ctx{Callback: echoReceived, Userdata: e})
	return err
}

func echoReceived(rt core.Runtime, t *core.Task) error {
	e := core.UserdataAs[*echo](t)
	if t.Err() != nil || t.N() == 0 {
		e.err = t.Err()
		_, err := rt.CloseFd(e.fd, core.Ctx{})
		return err
	}
	out := append([]byte(nil), e.buf[:t.N()]...)
	_, err := rt.Send(e.fd, out, 0, core.Ctx{Callback: echoSent, Userdata: e})
	return err
}

func echoSent(rt core.Runtime, t *core.Task) error {
	if err := t.Err(); err != nil {
		return err
	}
	return core.UserdataAs[*echo](t).Start(rt)
}

// Example_echoHandler tests an echo handler without a kernel. In a test,
// pass t to mock.New: the test then fails if the handler leaks or double
// closes a descriptor, and require takes the place of the prints.
func Example_echoHandler() {
	m := mock.New(nil)

	// The connection the handler serves: the peer sends two pieces of
	// data, then closes its side.
	const conn = 7
	m.RegisterFd(conn)
	m.Script(conn, core.OpRecv,
		mock.Data([]byte("hello, ")),
		mock.Data([]byte("mock")),
		mock.EOF())

	e := &echo{fd: conn}
	if err := e.Start(m); err != nil {
		panic(err)
	}
	if err := m.Run(core.UntilDone); err != nil {
		panic(err)
	}
	fmt.Printf("echoed %q, error %v, descriptors: %v\n", m.Sent(conn), e.err, m.Verify())

	// The same handler when the peer resets the connection.
	m2 := mock.New(nil)
	m2.RegisterFd(conn)
	m2.Script(conn, core.OpRecv, mock.Errno(syscall.ECONNRESET))
	e2 := &echo{fd: conn}
	if err := e2.Start(m2); err != nil {
		panic(err)
	}
	if err := m2.Run(core.UntilDone); err != nil {
		panic(err)
	}
	fmt.Printf("echoed %q, error %v, descriptors: %v\n", m2.Sent(conn), e2.err, m2.Verify())

	// Output:
	// echoed "hello, mock", error <nil>, descriptors: <nil>
	// echoed "", error connection reset by peer, descriptors: <nil>
}

// ExampleRing_ScriptCancel shows the three ways a cancel can end when it
// races the receive it cancels.
func ExampleRing_ScriptCancel() {
	m := mock.New(nil)
	const conn = 7
	show := func(_ core.Runtime, t *core.Task) error {
		// Errno names, since each platform words the errors its own way.
		result := "ok"
		for _, errno := range []syscall.Errno{syscall.ECANCELED, syscall.ENOENT, syscall.EALREADY} {
			if errors.Is(t.Err(), errno) {
				result = errnoName[errno]
			}
		}
		fmt.Printf("  %v: %s\n", t.Result.Op, result)
		return nil
	}
	for _, outcome := range []mock.CancelOutcome{mock.CancelWins, mock.CancelTooLate, mock.CancelRunning} {
		fmt.Println(outcome)
		h, _ := m.Recv(conn, make([]byte, 16), 0, core.Ctx{Callback: show})
		m.ScriptCancel(outcome)
		h.Cancel(core.Ctx{Callback: show})
		m.Run(core.UntilDone)
		if h.Live() {
			// The receive was not stopped: it ends with its own
			// result.
			m.Script(conn, core.OpRecv, mock.Data([]byte("late")))
			m.Run(core.UntilDone)
		}
	}
	// Output:
	// CancelWins
	//   cancel: ok
	//   recv: ECANCELED
	// CancelTooLate
	//   recv: ok
	//   cancel: ENOENT
	// CancelRunning
	//   cancel: EALREADY
	//   recv: ok
}

var errnoName = map[syscall.Errno]string{
	syscall.ECANCELED: "ECANCELED", syscall.ENOENT: "ENOENT", syscall.EALREADY: "EALREADY",
}

// ExampleRing_SetFaults turns on the random-fault mode with every send
// short: the application sends the rest until all is gone.
func ExampleRing_SetFaults() {
	m := mock.New(nil)
	if err := m.SetFaults(mock.Faults{Seed: 1, ShortSend: 1}); err != nil {
		panic(err)
	}
	const conn = 7
	var send func(rt core.Runtime, b []byte) error
	send = func(rt core.Runtime, b []byte) error {
		_, err := rt.Send(conn, b, 0, core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
			if err := t.Err(); err != nil {
				return err
			}
			fmt.Printf("sent %d of %d\n", t.N(), len(b))
			if t.N() < len(b) {
				return send(rt, b[t.N():])
			}
			return nil
		}})
		return err
	}
	if err := send(m, []byte("hello, world")); err != nil {
		panic(err)
	}
	if err := m.Run(core.UntilDone); err != nil {
		panic(err)
	}
	fmt.Printf("%q after %d faults\n", m.Sent(conn), len(m.Injected()))
	// Output:
	// sent 1 of 12
	// sent 2 of 11
	// sent 7 of 9
	// sent 1 of 2
	// sent 1 of 1
	// "hello, world" after 4 faults
}
