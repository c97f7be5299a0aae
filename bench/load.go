package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// load is one echo ping-pong run against a server process.
type load struct {
	addr      string
	serverPID int
	conns     int
	size      int
	warmup    time.Duration
	duration  time.Duration
}

// sample is what one run measured.
type sample struct {
	Msgs       uint64        `json:"msgs"`
	Seconds    float64       `json:"seconds"`
	MsgsPerSec float64       `json:"msgs_per_s"`
	P50        time.Duration `json:"-"`
	P99        time.Duration `json:"-"`
	P50us      float64       `json:"p50_us"`
	P99us      float64       `json:"p99_us"`
	ServerCPU  float64       `json:"server_cpu_us_per_msg"`
	GenCPU     float64       `json:"gen_cpu_us_per_msg"`
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// client is one closed-loop connection: it sends a message, waits for the
// whole echo, and records the round trip while the run is measuring.
type client struct {
	conn net.Conn
	msg  []byte
	buf  []byte
	hist histogram
	err  error
}

func (c *client) run(phase *atomic.Int32) {
	for {
		ph := phase.Load()
		if ph == phaseStop {
			return
		}
		t0 := time.Now()
		if _, err := c.conn.Write(c.msg); err != nil {
			c.err = err
			return
		}
		if _, err := io.ReadFull(c.conn, c.buf); err != nil {
			c.err = err
			return
		}
		d := time.Since(t0)
		// Count only messages that began and ended inside the window.
		if ph == phaseMeasure && phase.Load() == phaseMeasure {
			c.hist.record(d)
		}
	}
}

// run dials the connections, lets them warm up, measures for l.duration and
// stops them. Server CPU comes from /proc, the generator's own from
// getrusage, both over the measured window only.
func (l load) run() (sample, error) {
	clients := make([]*client, l.conns)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.conn.Close()
			}
		}
	}()
	for i := range clients {
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			return sample{}, err
		}
		clients[i] = &client{conn: conn, msg: make([]byte, l.size), buf: make([]byte, l.size)}
		for j := range clients[i].msg {
			clients[i].msg[j] = byte(j)
		}
	}
	var phase atomic.Int32
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(&phase) })
	}

	time.Sleep(l.warmup)
	srv0, err := procCPU(l.serverPID)
	if err != nil {
		phase.Store(phaseStop)
		wg.Wait()
		return sample{}, err
	}
	gen0 := selfCPU()
	t0 := time.Now()
	phase.Store(phaseMeasure)
	time.Sleep(l.duration)
	phase.Store(phaseStop)
	elapsed := time.Since(t0)
	gen1 := selfCPU()
	srv1, err := procCPU(l.serverPID)
	if err != nil {
		return sample{}, err
	}
	// Each client finishes its message in flight; a server that stopped
	// answering is given two seconds.
	for _, c := range clients {
		c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	}
	wg.Wait()

	var h histogram
	for _, c := range clients {
		if c.err != nil {
			return sample{}, fmt.Errorf("client: %w", c.err)
		}
		h.merge(&c.hist)
	}
	if h.total == 0 {
		return sample{}, errors.New("no message completed in the measured window")
	}
	s := sample{
		Msgs:       h.total,
		Seconds:    elapsed.Seconds(),
		MsgsPerSec: float64(h.total) / elapsed.Seconds(),
		P50:        h.quantile(0.50),
		P99:        h.quantile(0.99),
		ServerCPU:  usPer(srv1-srv0, h.total),
		GenCPU:     usPer(gen1-gen0, h.total),
	}
	s.P50us, s.P99us = us(s.P50), us(s.P99)
	return s, nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func usPer(d time.Duration, n uint64) float64 { return us(d) / float64(n) }

// selfCPU returns this process's user plus system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
