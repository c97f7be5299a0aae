//go:build linux

package core_test

import (
	"fmt"
	"log"
	"time"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// A ring runs one operation: New, a submission, Run.
func ExampleNew() {
	ring, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()

	_, err = ring.Nop(core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		fmt.Println("completed:", t.Result.Op, "error:", t.Err())
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	// Submissions reach the kernel on the next Run, which returns once
	// nothing submitted is left.
	if err := ring.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	// Output: completed: nop error: <nil>
}

func ExampleRing_Timer() {
	ring, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()

	start := time.Now()
	_, err = ring.Timer(20*time.Millisecond, core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		fmt.Println("fired:", t.Err(), "waited 20ms:", time.Since(start) >= 20*time.Millisecond)
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := ring.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	// Output: fired: <nil> waited 20ms: true
}

// MsgRing hands a task to another ring, whose Run calls its callback. The
// rings usually belong to different goroutines; here one goroutine runs
// both in turn.
func ExampleRing_MsgRing() {
	rt1, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt1.Close()
	rt2, err := rt1.InitChild(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt2.Close()

	// The task that travels: reserved on rt1, run on rt2.
	task := rt1.GetTask()
	task.Userdata = "hello from rt1"
	task.Callback = func(rt core.Runtime, t *core.Task) error {
		fmt.Printf("rt2 runs %q (op %v, on rt2: %v)\n", core.UserdataAs[string](t), t.Result.Op, rt == rt2)
		return nil
	}
	// The Ctx says what runs on rt1 once the message is posted.
	_, err = rt1.MsgRing(rt2, task, core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		fmt.Println("rt1 posted it, error:", t.Err())
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := rt1.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	if err := rt2.Run(core.NoWait); err != nil {
		log.Fatal(err)
	}
	// Output:
	// rt1 posted it, error: <nil>
	// rt2 runs "hello from rt1" (op message, on rt2: true)
}

// A multishot receive takes its buffers from a BufRing and completes once per
// receive, with More set, until end of stream.
func ExampleRing_RecvMultishot() {
	ring, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(fds[0])

	// Group 1: 8 buffers of 64 bytes, released by ring.Close.
	br, err := ring.NewBufRing(1, 8, 64)
	if err != nil {
		log.Fatal(err)
	}
	_, err = ring.RecvMultishot(fds[0], br, core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		switch {
		case t.Err() != nil:
			fmt.Println("error:", t.Err())
		case t.N() == 0:
			fmt.Println("end of stream, more:", t.More())
		default:
			// t.Result.Buf goes back to the BufRing when the callback returns.
			fmt.Printf("received %q, more: %v\n", t.Result.Buf, t.More())
		}
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}

	for _, data := range []string{"hello", "world"} {
		if _, err := unix.Write(fds[1], []byte(data)); err != nil {
			log.Fatal(err)
		}
		if err := ring.Run(core.Once); err != nil {
			log.Fatal(err)
		}
	}
	unix.Close(fds[1])
	if err := ring.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	// Output:
	// received "hello", more: true
	// received "world", more: true
	// end of stream, more: false
}

// Cancel stops an operation the kernel holds. The cancelled operation
// completes with ECANCELED, and the cancel reports its own result.
func ExampleHandle_Cancel() {
	ring, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	var recvErr, cancelErr error
	// Nobody writes to fds[1]: the receive would wait forever.
	h, err := ring.Recv(fds[0], make([]byte, 16), 0, core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		recvErr = t.Err()
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := ring.Run(core.NoWait); err != nil { // the kernel now holds it
		log.Fatal(err)
	}
	_, err = h.Cancel(core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		cancelErr = t.Err()
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := ring.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	fmt.Println("receive:", recvErr)
	fmt.Println("cancel:", cancelErr)
	fmt.Println("live:", h.Live())
	// Output:
	// receive: operation canceled
	// cancel: <nil>
	// live: false
}

// SetDeadline bounds an operation: if it has not completed in time it is
// cancelled and completes with ECANCELED.
func ExampleHandle_SetDeadline() {
	ring, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	h, err := ring.Recv(fds[0], make([]byte, 16), 0, core.Ctx{Callback: func(rt core.Runtime, t *core.Task) error {
		fmt.Println("receive:", t.Err())
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.SetDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		log.Fatal(err)
	}
	if err := ring.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	// Output: receive: operation canceled
}

// SpawnThread runs a child ring on its own OS thread. The parent reaches it
// with tasks sent through MsgRing, and the thread answers the same way.
func ExampleRing_SpawnThread() {
	parent, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer parent.Close()
	th, err := parent.SpawnThread(core.Options{}, nil)
	if err != nil {
		log.Fatal(err)
	}

	var reply string
	job := parent.GetTask()
	job.Userdata = "ping"
	job.Callback = func(rt core.Runtime, t *core.Task) error {
		// On the thread: rt is the thread's ring.
		fmt.Println("thread got", core.UserdataAs[string](t))
		answer := rt.GetTask()
		answer.Userdata = "pong"
		answer.Callback = func(rt core.Runtime, t *core.Task) error {
			// Back on the parent's goroutine.
			reply = core.UserdataAs[string](t)
			return nil
		}
		_, err := rt.MsgRing(parent, answer, core.Ctx{})
		return err
	}
	if _, err := th.Send(job, core.Ctx{}); err != nil {
		log.Fatal(err)
	}
	for reply == "" {
		if err := parent.Run(core.Once); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("parent got", reply)
	if err := th.Stop(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// thread got ping
	// parent got pong
}

// One callback drives a state machine: the message says which step
// completed and the userdata carries the state. This one writes into a pipe,
// reads the bytes back and closes the write end.
func ExampleMsgAs() {
	ring, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		log.Fatal(err)
	}
	defer unix.Close(p[0])

	type step uint16
	const (
		wrote step = iota
		read
		closed
	)
	type pipeJob struct {
		rd, wr int
		buf    [32]byte
	}
	var onStep core.Callback
	onStep = func(rt core.Runtime, t *core.Task) error {
		if err := t.Err(); err != nil {
			return err // stops Run, which returns it
		}
		j := core.UserdataAs[*pipeJob](t)
		switch core.MsgAs[step](t) {
		case wrote:
			fmt.Println("wrote", t.N(), "bytes")
			_, err := rt.Read(j.rd, j.buf[:], -1, core.Ctx{Callback: onStep, Userdata: j, Msg: uint16(read)})
			return err
		case read:
			fmt.Printf("read %q\n", j.buf[:t.N()])
			_, err := rt.CloseFd(j.wr, core.Ctx{Callback: onStep, Userdata: j, Msg: uint16(closed)})
			return err
		case closed:
			fmt.Println("closed")
		}
		return nil
	}

	j := &pipeJob{rd: p[0], wr: p[1]}
	_, err = ring.Write(j.wr, []byte("one callback"), -1, core.Ctx{Callback: onStep, Userdata: j, Msg: uint16(wrote)})
	if err != nil {
		log.Fatal(err)
	}
	if err := ring.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	// Output:
	// wrote 12 bytes
	// read "one callback"
	// closed
}

// UserdataAs gives the callback back the value the submission carried, with
// its type.
func ExampleUserdataAs() {
	ring, err := core.New(core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()

	type request struct{ name string }
	cb := func(rt core.Runtime, t *core.Task) error {
		fmt.Println("done:", core.UserdataAs[*request](t).name)
		return nil
	}
	if _, err := ring.Nop(core.Ctx{Callback: cb, Userdata: &request{name: "first"}}); err != nil {
		log.Fatal(err)
	}
	if err := ring.Run(core.UntilDone); err != nil {
		log.Fatal(err)
	}
	// A value of another type gives the zero value.
	fmt.Println(core.UserdataAs[*request](&core.Task{Userdata: "not a request"}) == nil)
	// Output:
	// done: first
	// true
}
