package transportexp

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/echotest"
	"golang.org/x/sys/unix"
)

type pconn struct {
	l      *loop
	fd     int
	rd, wr *op
}

func (c *pconn) Read(b []byte) (int, error) {
	c.l.mu.Lock()
	_, err := c.l.ring.Recv(c.fd, b, 0, core.Ctx{Callback: opDone, Userdata: c.rd})
	if err == nil {
		err = c.l.ring.Run(core.NoWait)
	}
	c.l.mu.Unlock()
	if err != nil {
		return 0, err
	}
	<-c.rd.done
	if c.rd.res < 0 {
		return 0, syscall.Errno(-c.rd.res)
	}
	if c.rd.res == 0 {
		return 0, io.EOF
	}
	return int(c.rd.res), nil
}

func (c *pconn) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c.l.mu.Lock()
		_, err := c.l.ring.Send(c.fd, b[n:], unix.MSG_NOSIGNAL, core.Ctx{Callback: opDone, Userdata: c.wr})
		if err == nil {
			err = c.l.ring.Run(core.NoWait)
		}
		c.l.mu.Unlock()
		if err != nil {
			return n, err
		}
		<-c.wr.done
		if c.wr.res < 0 {
			return n, syscall.Errno(-c.wr.res)
		}
		n += int(c.wr.res)
	}
	return n, nil
}

func benchEcho(b *testing.B, conns int, mode int) {
	useRing := mode > 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var l *loop
	var br *core.BufRing
	var rth *rthread
	if mode == 4 {
		rth = newRThread()
		useRing = false
	}
	if useRing {
		if l, err = newLoop(); err != nil {
			b.Fatal(err)
		}
		l.mu.Lock()
		br, err = l.ring.NewBufRing(1, 4096, 4096)
		l.mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var rw io.ReadWriter = c
			if mode == 4 {
				f, _ := c.(*net.TCPConn).File()
				c.Close()
				fd := int(f.Fd())
				unix.SetNonblock(fd, false)
				rw = &tconn{t: rth, fd: fd, rd: make(chan struct{}, 1)}
				_ = f
			}
			if useRing {
				f, _ := c.(*net.TCPConn).File()
				c.Close()
				fd := int(f.Fd())
				unix.SetNonblock(fd, true)
				switch mode {
				case 1:
					rw = &pconn{l: l, fd: fd, rd: newOp(), wr: newOp()}
				case 2, 3:
					rw = &mconn{l: l, br: br, fd: fd, rd: make(chan struct{}, 1), wr: newOp(), direct: mode == 3}
				}
				_ = f
			}
			go func() {
				buf := make([]byte, 64)
				for {
					n, err := rw.Read(buf)
					if err != nil {
						return
					}
					if _, err := rw.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	clients := echotest.Clients(b, ln.Addr().String(), conns)
	run := func(total int) { echotest.PingPong(clients, total, 64) }
	run(1000)
	var ru0, ru1 syscall.Rusage
	cs0 := contextSwitches()
	syscall.Getrusage(0, &ru0)
	b.ResetTimer()
	run(b.N)
	b.StopTimer()
	syscall.Getrusage(0, &ru1)
	b.ReportMetric(float64(contextSwitches()-cs0)/float64(b.N), "ctxsw/op")
	cpu := float64((ru1.Utime.Nano()+ru1.Stime.Nano())-(ru0.Utime.Nano()+ru0.Stime.Nano())) / float64(b.N)
	b.ReportMetric(cpu, "cpu-ns/op")
}

func BenchmarkProtoEcho(b *testing.B) {
	for _, c := range []int{1, 64} {
		for m, name := range []string{"std", "ring", "multishot", "msdirect", "thread"} {
			b.Run(name+"/"+string(rune('0'+c/10))+string(rune('0'+c%10)), func(b *testing.B) { benchEcho(b, c, m) })
		}
	}
}

// contextSwitches sums the voluntary and involuntary context switches of
// every thread of the process.
func contextSwitches() int {
	total := 0
	dirs, _ := os.ReadDir("/proc/self/task")
	for _, d := range dirs {
		data, err := os.ReadFile("/proc/self/task/" + d.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasSuffix(strings.Fields(line + " x")[0], "ctxt_switches:") {
				n, _ := strconv.Atoi(strings.Fields(line)[1])
				total += n
			}
		}
	}
	return total
}
