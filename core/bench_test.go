//go:build linux

package core

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ourio-go/ourio/internal/echotest"
	"golang.org/x/sys/unix"
)

func BenchmarkNop(b *testing.B) {
	r, err := ktNew(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Nop(Ctx{}); err != nil {
			b.Fatal(err)
		}
		if err := r.Run(UntilDone); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkNopBatch64(b *testing.B) {
	r, err := ktNew(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := r.Nop(Ctx{}); err != nil {
			b.Fatal(err)
		}
		if n++; n%64 == 0 {
			if err := r.Run(UntilDone); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Run(UntilDone); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// tcpPair returns both ends of a loopback TCP connection as raw fds.
func tcpPair(tb testing.TB) (client, server int) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatal(err)
	}
	if err := unix.Listen(ln, 16); err != nil {
		tb.Fatal(err)
	}
	sa, _ := unix.Getsockname(ln)
	client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := unix.Connect(client, sa); err != nil {
		tb.Fatal(err)
	}
	server, _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		tb.Fatal(err)
	}
	unix.SetsockoptInt(client, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(server, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	tb.Cleanup(func() { unix.Close(client); unix.Close(server) })
	return client, server
}

// echoBench drives ping-pong round trips over conns connections, both ends
// on one ring and entirely by callbacks.
type echoBench struct {
	left    int
	msgSize int
	stop    bool // set while draining: callbacks submit nothing new
}

type echoConn struct {
	b              *echoBench
	client, server int
	cbuf, sbuf     []byte
	msg            []byte
}

const (
	echoClientSent uint16 = iota
	echoServerRecv
	echoServerSent
	echoClientRecv
)

func echoStep(rt Runtime, t *Task) error {
	c := UserdataAs[*echoConn](t)
	if c.b.stop {
		return nil
	}
	if err := t.Err(); err != nil {
		if err == unix.ECANCELED {
			return nil
		}
		return err
	}
	switch t.Msg {
	case echoServerRecv:
		if t.N() == 0 {
			return io.ErrUnexpectedEOF
		}
		_, err := rt.Send(c.server, c.sbuf[:t.N()], 0, Ctx{Callback: echoStep, Userdata: c, Msg: echoServerSent})
		return err
	case echoServerSent:
		_, err := rt.Recv(c.server, c.sbuf, 0, Ctx{Callback: echoStep, Userdata: c, Msg: echoServerRecv})
		return err
	case echoClientRecv:
		// One round trip done; messages are small enough to arrive whole.
		if c.b.left--; c.b.left <= 0 {
			return nil
		}
		if _, err := rt.Send(c.client, c.msg, 0, Ctx{Callback: echoStep, Userdata: c, Msg: echoClientSent}); err != nil {
			return err
		}
		_, err := rt.Recv(c.client, c.cbuf, 0, Ctx{Callback: echoStep, Userdata: c, Msg: echoClientRecv})
		return err
	}
	return nil
}

func benchmarkEchoCallback(b *testing.B, backend Backend, conns, size int) {
	r, err := New(Options{Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	eb := &echoBench{msgSize: size}
	cs := make([]*echoConn, conns)
	for i := range cs {
		cl, sv := tcpPair(b)
		cs[i] = &echoConn{b: eb, client: cl, server: sv, cbuf: make([]byte, size), sbuf: make([]byte, size), msg: make([]byte, size)}
	}
	round := func(n int) {
		eb.left = n
		eb.stop = false
		for _, c := range cs {
			r.Recv(c.server, c.sbuf, 0, Ctx{Callback: echoStep, Userdata: c, Msg: echoServerRecv})
			r.Send(c.client, c.msg, 0, Ctx{Callback: echoStep, Userdata: c, Msg: echoClientSent})
			r.Recv(c.client, c.cbuf, 0, Ctx{Callback: echoStep, Userdata: c, Msg: echoClientRecv})
		}
		for eb.left > 0 {
			if err := r.Run(Once); err != nil {
				b.Fatal(err)
			}
		}
		eb.stop = true
		if _, err := r.CancelAll(Ctx{}); err != nil {
			b.Fatal(err)
		}
		if err := r.Run(UntilDone); err != nil {
			b.Fatal(err)
		}
	}
	round(1000) // warm the task pool
	b.ReportAllocs()
	b.ResetTimer()
	round(b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchmarkEchoStdNet(b *testing.B, conns, size int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	echotest.Serve(ln, size)
	clients := echotest.Clients(b, ln.Addr().String(), conns)
	run := func(total int) { echotest.PingPong(clients, total, size) }
	run(1000)
	b.ReportAllocs()
	b.ResetTimer()
	run(b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkEcho(b *testing.B) {
	for _, conns := range []int{1, 16} {
		b.Run("callback/conns="+itoa(conns), func(b *testing.B) { benchmarkEchoCallback(b, BackendIOURing, conns, 64) })
		b.Run("callback-epoll/conns="+itoa(conns), func(b *testing.B) { benchmarkEchoCallback(b, BackendEpoll, conns, 64) })
		b.Run("stdnet/conns="+itoa(conns), func(b *testing.B) { benchmarkEchoStdNet(b, conns, 64) })
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// BenchmarkBulkSend streams buffers of 64 KiB and 1 MiB over one loopback
// TCP connection with Send and with SendZC, one send in flight (with
// MSG_WAITALL, so each goes whole), a goroutine draining the other end.
// An op is one buffer sent; for SendZC it lasts until the notification,
// when the buffer could be refilled. cpu-ns/op is the process's CPU time,
// both ends, per buffer.
func BenchmarkBulkSend(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		for _, zc := range []bool{false, true} {
			name := "send"
			if zc {
				name = "sendzc"
			}
			b.Run(name+"/size="+itoa(size>>10)+"KiB", func(b *testing.B) { benchmarkBulkSend(b, size, zc) })
		}
	}
}

func benchmarkBulkSend(b *testing.B, size int, zc bool) {
	r, err := New(Options{Backend: BackendIOURing})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if zc && !r.ZeroCopy(OpSendZC) {
		b.Skip("no kernel zero-copy send")
	}
	client, server := tcpPair(b)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 1<<20)
		for {
			n, err := unix.Read(server, buf)
			if err == unix.EINTR {
				continue
			}
			if n <= 0 {
				return
			}
		}
	}()
	out := make([]byte, size)
	var failed error
	ctx := Ctx{Callback: func(_ Runtime, t *Task) error {
		if !t.Notif() && t.N() != size {
			failed = fmt.Errorf("sent %d of %d: %v", t.N(), size, t.Err())
		}
		return nil
	}}
	send := func() {
		var err error
		if zc {
			_, err = r.SendZC(client, out, unix.MSG_WAITALL, ctx)
		} else {
			_, err = r.Send(client, out, unix.MSG_WAITALL, ctx)
		}
		if err == nil {
			err = r.Run(UntilDone)
		}
		if err == nil {
			err = failed
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for range 16 {
		send()
	}
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		send()
	}
	b.StopTimer()
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	unix.Shutdown(client, unix.SHUT_WR)
	<-drained
}
