package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
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
	gen       string // the load generator, one of generators; "" is defaultGen
	// network is what the clients dial: "" for tcp, or "udp", whose
	// connected sockets send each message as one datagram and read the
	// echo as one.
	network string

	// syscalls, if not nil, counts the server's syscalls for syscallWindow
	// after the measured window, while the clients keep going.
	syscalls      syscallCounter
	syscallWindow time.Duration
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
	ServerCS   float64       `json:"server_cs_per_msg"` // context switches, voluntary and not
	GenCPU     float64       `json:"gen_cpu_us_per_msg"`
	Syscalls   *float64      `json:"syscalls_per_msg,omitempty"` // counted in round 1 only
}

// generators are the -gen values: package net clients, a goroutine per
// connection, or every connection on one of Ourio's rings (ringgen.go).
var generators = []string{"net", "ring"}

// defaultGen is the generator with the lower CPU per message, measured at 64
// and 1,000 connections of 64 B against the net and callback servers on 2
// CPUs: ring took about 6-7 µs per message at 64 connections and 10-11 µs at
// 1,000, net 10-12 and 14-16, and ring kept under one CPU busy where net
// neared the whole of the one the server left it.
const defaultGen = "ring"

// generator is a running set of closed-loop connections.
type generator interface {
	// echoed reports the messages echoed so far, in any phase.
	echoed() uint64
	// stop waits for each connection to finish its message in flight, at
	// most two seconds, and returns the round trips measured in the window
	// or the first error.
	stop() (histogram, error)
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseCount // after the window, while the syscall pass counts
	phaseStop
)

// client is one closed-loop connection: it sends a message, waits for the
// whole echo, and records the round trip while the run is measuring.
type client struct {
	conn net.Conn
	msg  []byte
	buf  []byte
	hist histogram
	done atomic.Uint64 // messages echoed in any phase, for the syscall pass
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
		c.done.Add(1)
		// Count only messages that began and ended inside the window.
		if ph == phaseMeasure && phase.Load() == phaseMeasure {
			c.hist.record(d)
		}
	}
}

// netGen is the package net generator: a goroutine per connection.
type netGen struct {
	clients []*client
	wg      sync.WaitGroup
	phase   *atomic.Int32
}

func startNetGen(l load, phase *atomic.Int32) (*netGen, error) {
	g := &netGen{phase: phase}
	for range l.conns {
		conn, err := net.Dial(l.dialNetwork(), l.addr)
		if err != nil {
			for _, c := range g.clients {
				c.conn.Close()
			}
			return nil, err
		}
		c := &client{conn: conn, msg: make([]byte, l.size), buf: make([]byte, l.size)}
		for j := range c.msg {
			c.msg[j] = byte(j)
		}
		g.clients = append(g.clients, c)
	}
	for _, c := range g.clients {
		g.wg.Go(func() { c.run(phase) })
	}
	return g, nil
}

func (g *netGen) echoed() (n uint64) {
	for _, c := range g.clients {
		n += c.done.Load()
	}
	return n
}

func (g *netGen) stop() (histogram, error) {
	g.phase.Store(phaseStop)
	// Each client finishes its message in flight; a server that stopped
	// answering is given two seconds.
	for _, c := range g.clients {
		c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	}
	g.wg.Wait()
	var h histogram
	var err error
	for _, c := range g.clients {
		c.conn.Close()
		if c.err != nil && err == nil {
			err = fmt.Errorf("client: %w", c.err)
		}
		h.merge(&c.hist)
	}
	return h, err
}

// dialNetwork is the network the clients dial.
func (l load) dialNetwork() string {
	if l.network == "" {
		return "tcp"
	}
	return l.network
}

// start dials the connections and starts l's generator on them.
func (l load) start(phase *atomic.Int32) (generator, error) {
	gen := l.gen
	if gen == "" {
		gen = defaultGen
	}
	switch gen {
	case "ring":
		return startRingGen(l, phase)
	case "net":
		return startNetGen(l, phase)
	}
	return nil, fmt.Errorf("unknown load generator %q (want one of %s)", l.gen, strings.Join(generators, ", "))
}

// run dials the connections, lets them warm up, measures for l.duration and
// stops them, after the syscall pass if there is one. Server CPU and
// context switches come from /proc, the generator's own CPU from getrusage,
// both over the measured window only.
func (l load) run() (sample, error) {
	var phase atomic.Int32
	g, err := l.start(&phase)
	if err != nil {
		return sample{}, err
	}
	stop := func() (histogram, error) {
		phase.Store(phaseStop)
		return g.stop()
	}

	time.Sleep(l.warmup)
	srv0, err := readProcUsage(l.serverPID)
	if err != nil {
		stop()
		return sample{}, err
	}
	gen0 := selfCPU()
	t0 := time.Now()
	phase.Store(phaseMeasure)
	time.Sleep(l.duration)
	phase.Store(phaseCount)
	elapsed := time.Since(t0)
	gen1 := selfCPU()
	srv1, err := readProcUsage(l.serverPID)
	if err != nil {
		stop()
		return sample{}, err
	}
	var syscalls *float64
	var syscallErr error
	if l.syscalls != nil {
		perMsg, err := countPerMessage(l.syscalls, l.serverPID, l.syscallWindow, g.echoed)
		if err != nil {
			syscallErr = fmt.Errorf("counting syscalls: %w", err)
		} else {
			syscalls = &perMsg
		}
	}
	h, err := stop()
	if err != nil {
		return sample{}, err
	}
	if h.total == 0 {
		return sample{}, errors.New("no message completed in the measured window")
	}
	if syscallErr != nil {
		return sample{}, syscallErr
	}
	s := sample{
		Msgs:       h.total,
		Seconds:    elapsed.Seconds(),
		MsgsPerSec: float64(h.total) / elapsed.Seconds(),
		P50:        h.quantile(0.50),
		P99:        h.quantile(0.99),
		ServerCPU:  usPer(srv1.cpu-srv0.cpu, h.total),
		ServerCS:   float64(srv1.switches-srv0.switches) / float64(h.total),
		GenCPU:     usPer(gen1-gen0, h.total),
		Syscalls:   syscalls,
	}
	s.P50us, s.P99us = us(s.P50), us(s.P99)
	return s, nil
}

// countPerMessage runs the syscall counter over window and divides the
// server's syscall rate by the clients' message rate over the counter's
// whole life: the counter counts for window exactly, but starting it takes
// a moment that the message count cannot tell apart, and the rate is
// steady by now.
func countPerMessage(counter syscallCounter, pid int, window time.Duration, done func() uint64) (float64, error) {
	m0, t0 := done(), time.Now()
	calls, err := counter.count(pid, window)
	if err != nil {
		return 0, err
	}
	m1, wall := done(), time.Since(t0)
	if m1 == m0 {
		return 0, errors.New("no message echoed while counting")
	}
	msgRate := float64(m1-m0) / wall.Seconds()
	return float64(calls) / window.Seconds() / msgRate, nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func usPer(d time.Duration, n uint64) float64 { return us(d) / float64(n) }

// selfCPU returns this process's user plus system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
