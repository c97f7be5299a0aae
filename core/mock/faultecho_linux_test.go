//go:build linux

package mock_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var errWatchdog = errors.New("echo server on the kernel ring: no end within the bound")

// TestEchoServerOnRing runs the echo server that the random-fault runs
// test on a kernel ring over loopback TCP: clients send up to 256 KiB in
// random pieces while reading the echo, and one resets its connection
// half-way, which the server must survive.
func TestEchoServerOnRing(t *testing.T) {
	r := kernelRing(t)
	lfd, port := listenLoopback(t)
	const clients = 6
	type outcome struct {
		i   int
		err error
	}
	done := make(chan outcome, clients)
	for i := range clients {
		go func() {
			done <- outcome{i, echoClient(port, uint64(i), i == clients-1)}
		}()
	}

	s := &echoServer{lfd: lfd, acceptFlags: unix.SOCK_CLOEXEC, sendFlags: unix.MSG_NOSIGNAL}
	require.NoError(t, s.Start(r))
	watchdog := must(t)(r.Timer(30*time.Second, core.Ctx{Callback: func(_ core.Runtime, tk *core.Task) error {
		if tk.Err() == nil {
			return errWatchdog
		}
		return nil
	}}))
	for s.served < clients {
		require.NoError(t, r.Run(core.Once))
	}
	require.NoError(t, s.err)
	require.NoError(t, s.Stop(r))
	for !s.stopped {
		require.NoError(t, r.Run(core.Once))
	}
	must(t)(watchdog.Cancel(core.Ctx{}))
	require.NoError(t, r.Run(core.UntilDone))
	require.Empty(t, s.conns)
	t.Logf("the server met %+v", s.met)
	for range clients {
		o := <-done
		require.NoError(t, o.err, "client %d", o.i)
	}
}

// echoClient sends random bytes in random pieces and checks that they all
// come back; with reset it resets the connection half-way instead.
func echoClient(port int, seed uint64, reset bool) error {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	data := make([]byte, rng.IntN(256<<10))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	if reset {
		data = data[:len(data)/2]
	}
	echoed := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		echoed <- b
	}()
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(32<<10))
		if _, err := c.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if reset {
		if err := c.(*net.TCPConn).SetLinger(0); err != nil {
			return err
		}
		return c.Close()
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	got := <-echoed
	if !bytes.Equal(got, data) {
		return fmt.Errorf("echoed %d bytes for %d sent, equal prefix %v", len(got), len(data), bytes.HasPrefix(data, got))
	}
	return nil
}
