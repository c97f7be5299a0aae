package echoserver

import (
	"errors"
	"runtime"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// CallbackRings runs Callback's echo on several rings, each on its own
// locked OS thread (core's SpawnThread), rings of them or, for rings <= 0,
// one per CPU. An acceptor ring on the calling goroutine takes connections
// off listener with a multishot accept and hands each to the next serving
// ring in turn with MsgRing, so a connection lives on one thread from
// accept to close and the threads share nothing. Handing over in turn
// spreads the connections evenly, where SO_REUSEPORT's hash would not.
// It stops like Callback: nil once stopFd becomes readable (-1: never),
// after stopping the threads and closing every connection.
func CallbackRings(listener, stopFd, bufSize, rings int) (err error) {
	return CallbackRingsOn(core.BackendAuto, listener, stopFd, bufSize, rings)
}

// CallbackRingsOn is CallbackRings on the given core backend; the serving
// rings run on the acceptor's.
func CallbackRingsOn(backend core.Backend, listener, stopFd, bufSize, rings int) (err error) {
	if rings <= 0 {
		rings = runtime.NumCPU()
	}
	acceptor, err := core.New(core.Options{Entries: 64, Backend: backend})
	if err != nil {
		return err
	}
	servers := make([]*callbackServer, rings)
	threads := make([]*core.Thread, 0, rings)
	defer func() {
		// A serving ring whose callback failed ended its thread early,
		// and the acceptor then saw ErrClosed handing it a connection, or
		// nothing at all: the thread's error is the server's.
		for _, th := range threads {
			if terr := th.Stop(); terr != nil && (err == nil || errors.Is(err, core.ErrClosed)) {
				err = terr
			}
		}
		acceptor.Close()
		// The threads have ended: their connections are ours to close.
		for _, s := range servers {
			if s == nil {
				continue
			}
			for c := range s.conns {
				unix.Close(c.fd)
			}
		}
	}()
	for i := range servers {
		servers[i] = newCallbackServer(0, bufSize)
		th, err := acceptor.SpawnThread(core.Options{Entries: 512}, nil)
		if err != nil {
			return err
		}
		threads = append(threads, th)
	}

	next := 0
	a := newCallbackServer(listener, 0)
	a.handoff = func(rt core.Runtime, fd int) error {
		i := next
		next = (next + 1) % rings
		task := acceptor.GetTask()
		task.Callback, task.Msg, task.Userdata = servers[i].cb, msgAdopt, fd
		if _, err := threads[i].Send(task, core.Ctx{Callback: a.cb, Msg: msgHandedOff, Userdata: fd}); err != nil {
			unix.Close(fd)
			return err
		}
		return nil
	}
	if stopFd >= 0 {
		if _, err := acceptor.Poll(stopFd, unix.POLLIN, core.Ctx{Callback: a.cb, Msg: msgStop}); err != nil {
			return err
		}
	}
	if _, err := acceptor.AcceptMultishot(listener, unix.SOCK_CLOEXEC, core.Ctx{Callback: a.cb, Msg: msgAccept}); err != nil {
		return err
	}
	for {
		if err := acceptor.Run(core.Once); err != nil {
			if !errors.Is(err, errStop) {
				return err
			}
			return nil
		}
	}
}
