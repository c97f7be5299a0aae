//go:build linux

package uringnet_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// TestEOFStress looks for lost wake-ups at the end of a stream: a Read
// blocked on a socket whose peer has already sent its last bytes, its FIN
// or its RST, which stays blocked because the event that should have woken
// it was lost (the socket sits in CLOSE_WAIT with nothing queued). The
// race is narrow, so the test runs many short connections at once, beside
// CPU-burning goroutines and processes that stretch every window, with
// every kind of ending mixed at random: normal closes, half-closes, resets
// after half a request and after a whole one, and Reads that a Close or a
// moving deadline interrupts.
//
// The Reads that check for end of stream carry no deadline, as a caller
// reading to EOF would not; a watchdog instead notices a Read that stays
// blocked for -eofstress.bound after everything it waits for has been sent
// (its peer's bytes, FIN or RST), counts it as lost, and closes its
// connection so that the test ends. A Read interrupted by Close or by a
// deadline does not count as lost, but it must end within the same bound
// with the error package net gives.
//
// The race needs a Read's direct attempt to find the socket empty just
// before the peer's last bytes and FIN arrive together, and the Read's
// thread to stall right after that attempt while the poller records the
// event. So most messages are trickled in writes that the reader's buffer
// takes whole (a full read makes the next Read try the socket at once),
// with a short last write and the FIN or RST right behind it; few
// connections are in flight, so that each Read keeps up with its writer;
// and GOMAXPROCS is raised well above the cores, beside the burners, so
// that the kernel preempts Go's threads often, on their way out of
// recvfrom among other places. Each of these multiplied the rate at which
// the test found the race.
//
// The short default fits CI; -eofstress.conns=200000 (and optionally
// -eofstress.time) runs the long version; -eofstress.only and
// -eofstress.seed help to reproduce a failure. The same scenario runs on
// package net as a control, with a third of the budget: it must pass
// there.
func TestEOFStress(t *testing.T) {
	cfg := eofStressConfig(t)
	// The rings are created now, one per core (unless SetRings or
	// GOMAXPROCS said otherwise), before GOMAXPROCS goes up: more Ps
	// than cores make the kernel preempt the threads running Reads at
	// any instruction, which widens the race's window, while fewer rings
	// keep each one's poller busy and its wake-ups prompt.
	if err := uringnet.Available(); err != nil {
		t.Skip("io_uring unavailable:", err)
	}
	procs := *eofProcs
	if procs == 0 {
		procs = 8 * runtime.NumCPU()
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	if err := startBurners(t, cfg.spinners, cfg.burners); err != nil {
		t.Fatalf("starting CPU burners: %v", err)
	}
	forBoth(t, func(t *testing.T, im impl) {
		runEOFStress(t, im, cfg)
	})
}

var (
	eofConns    = flag.Int("eofstress.conns", 100000, "TestEOFStress: most connections on uringnet, a third of them on package net (the long version: 200000 or more)")
	eofTime     = flag.Duration("eofstress.time", 0, "TestEOFStress: time budget on uringnet, a third of it on package net (0: 20s with the default -eofstress.conns, 2h otherwise)")
	eofConc     = flag.Int("eofstress.conc", 8, "TestEOFStress: connections in flight at once")
	eofBound    = flag.Duration("eofstress.bound", 5*time.Second, "TestEOFStress: how long a Read may stay blocked after what it waits for was sent, or after its Close or deadline, before it counts as lost")
	eofSeed     = flag.Uint64("eofstress.seed", 0, "TestEOFStress: random seed (0: from the clock)")
	eofBurners  = flag.Int("eofstress.burners", -1, "TestEOFStress: CPU-burning child processes (-1: one per two cores)")
	eofOnly     = flag.String("eofstress.only", "", "TestEOFStress: comma-separated scenarios to run (default all), to reproduce one")
	eofResp     = flag.Int("eofstress.resp", 3000, "TestEOFStress: largest response, in bytes")
	eofTrickle  = flag.Float64("eofstress.trickle", 0.8, "TestEOFStress: share of connections whose messages are trickled")
	eofPause    = flag.Duration("eofstress.pause", 0, "TestEOFStress: longest pause between trickled writes")
	eofProcs    = flag.Int("eofstress.procs", 0, "TestEOFStress: GOMAXPROCS while it runs (0: 8 per core)")
	eofSpinners = flag.Int("eofstress.spinners", -1, "TestEOFStress: CPU-burning goroutines (-1: one per two cores)")
)

// burnEnv, set to the parent's pid, makes the test binary a CPU burner
// (see init).
const burnEnv = "OURIO_EOFSTRESS_BURN"

// init turns a test binary started by startBurners into a busy loop that
// never reaches the tests. It leaves when its parent is gone, should the
// parent die before it could kill it (Pdeathsig covers most of that).
func init() {
	ppid, err := strconv.Atoi(os.Getenv(burnEnv))
	if err != nil || ppid == 0 {
		return
	}
	for x := uint64(1); ; x++ {
		if x%(1<<24) == 0 && os.Getppid() != ppid {
			os.Exit(0)
		}
	}
}

type stressConfig struct {
	conns, conc int
	budget      time.Duration
	bound       time.Duration
	seed        uint64
	burners     int
	spinners    int
	resp        int
	trickle     float64
	pause       time.Duration
	weights     [nScenarios]int
}

func eofStressConfig(t *testing.T) stressConfig {
	c := stressConfig{conns: *eofConns, conc: *eofConc, budget: *eofTime, bound: *eofBound, seed: *eofSeed, burners: *eofBurners, spinners: *eofSpinners}
	if c.budget == 0 {
		c.budget = 20 * time.Second
		flag.Visit(func(f *flag.Flag) {
			if f.Name == "eofstress.conns" {
				c.budget = 2 * time.Hour
			}
		})
	}
	if testing.Short() && c.budget > 5*time.Second {
		c.budget = 5 * time.Second
	}
	var err error
	if c.weights, err = parseOnly(*eofOnly); err != nil {
		t.Fatal(err)
	}
	c.resp = max(*eofResp, 0)
	c.trickle = *eofTrickle
	c.pause = *eofPause
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	// One burner per core in all, half of them goroutines: more made
	// the race rarer, starving the test of CPU.
	if c.burners < 0 {
		c.burners = max(1, runtime.NumCPU()/2)
	}
	if c.spinners < 0 {
		c.spinners = max(1, runtime.NumCPU()/2)
	}
	if c.conc < 1 {
		c.conc = 1
	}
	return c
}

// startBurners keeps the machine's cores busy for the rest of the test:
// spinners goroutines spinning in this process, competing with the
// connections' goroutines for Ps and threads, and n child processes
// spinning, competing with every thread of the process (the pollers'
// included) for the cores. All of them stop when the test ends, failed or
// not.
func startBurners(t *testing.T, spinners, n int) error {
	var stop atomic.Bool
	var wg sync.WaitGroup
	t.Cleanup(func() {
		stop.Store(true)
		wg.Wait()
	})
	for range spinners {
		wg.Go(func() {
			for x := 0; !stop.Load(); x++ {
				// Go preempts a spinning goroutine asynchronously,
				// so the loop needs no yield.
			}
		})
	}
	if n == 0 {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for range n {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), burnEnv+"="+strconv.Itoa(os.Getpid()))
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return err
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	return nil
}

// scenario is how one connection ends. The first five end every
// connection with the peer's FIN or RST, which a Read without a deadline
// must see; the last three race a blocked Read with Close or with
// deadlines, and its peer then reads to EOF.
type scenario int

const (
	// The client sends its request; the server responds and closes; the
	// client reads to EOF.
	scClose scenario = iota
	// The client sends its request and half-closes (a half-closed
	// keep-alive client); the server reads the request to EOF, responds
	// and closes; the client reads the response to EOF.
	scHalfClose
	// The client sends half its request and resets (SetLinger(0), Close);
	// the server reads until ECONNRESET.
	scResetHalf
	// A whole exchange, then the client resets; the server, waiting for
	// a next request, reads ECONNRESET.
	scResetFull
	// The server responds and resets; the client reads until ECONNRESET.
	scServerReset
	// Another goroutine closes the racer's connection while its Read
	// waits for bytes that never come; the Read returns net.ErrClosed.
	scCloseMidRead
	// Another goroutine moves the racer's read deadline while its Read
	// waits, until one expires; the Read returns os.ErrDeadlineExceeded.
	scDeadlineExpire
	// Another goroutine sets and moves the racer's read deadline while
	// its Read waits, lets timers fire and cancel it, then clears the
	// deadline; only then does the peer end the connection, which the
	// Read, now without a deadline, must see.
	scDeadlineCleared
	nScenarios
)

var scenarioNames = [nScenarios]string{"close", "half-close", "reset-after-half-request", "reset-after-response", "server-reset", "close-mid-read", "deadline-expires", "deadline-cleared"}

func (s scenario) String() string { return scenarioNames[s] }

// scenarioWeights favour the endings that must bring EOF or ECONNRESET to
// a Read without a deadline.
var scenarioWeights = [nScenarios]int{4, 4, 2, 1, 3, 1, 1, 2}

// parseOnly returns the scenario weights that -eofstress.only leaves.
func parseOnly(only string) ([nScenarios]int, error) {
	if only == "" {
		return scenarioWeights, nil
	}
	var w [nScenarios]int
	for _, name := range strings.Split(only, ",") {
		found := false
		for s, n := range scenarioNames {
			if n == strings.TrimSpace(name) {
				w[s], found = scenarioWeights[s], true
			}
		}
		if !found {
			return w, fmt.Errorf("-eofstress.only: no scenario %q (have %s)", name, strings.Join(scenarioNames[:], ", "))
		}
	}
	return w, nil
}

func pickScenario(rng *rand.Rand, weights *[nScenarios]int) scenario {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for s, w := range weights {
		if n < w {
			return scenario(s)
		}
		n -= w
	}
	return scClose
}

// The two ends of a connection.
const (
	dialed   = 0
	accepted = 1
)

var sideNames = [2]string{"dialed", "accepted"}

// cycle is one connection's life: its scenario, what each end sends, and
// both ends' progress, which the watchdog reads.
type cycle struct {
	id      int
	sc      scenario
	racer   int // the end whose Read is raced, in the last three scenarios
	peerEnd int // how the racer's peer ends the connection in scDeadlineCleared
	req     []byte
	resp    []byte
	seed    uint64 // of the cycle's own random choices
	ends    [2]end
	// trickle: messages go out in writes of the reader's buffer size, each
	// read whole, with pauses of up to pause between them; the last write
	// is shorter than the buffer, and the FIN or RST follows it at once.
	trickle bool
	pause   time.Duration
	proceed chan struct{} // scDeadlineCleared: the deadline is cleared, the peer may end
	release func()        // gives the cycle's slot back (runEOFStress)
	// started is closed when the server is about to read: the client
	// waits for it, so that its request, like the response, finds a Read
	// already waiting, one that keeps up with the writes and tries the
	// socket just before the last bytes and the FIN arrive. (Sent at
	// once, a request was often all there, FIN included, before the
	// server's first Read, and the test found the race less than half as
	// often.)
	started chan struct{}
	done    chan struct{} // the server's half is done
}

// end is one end of a connection, with what it sent and read so far.
type end struct {
	side int
	conn net.Conn
	buf  []byte // reads go through a buffer of a random size, often small
	sent atomic.Int64
	fin  atomic.Bool  // it has sent its FIN or RST
	got  atomic.Int64 // bytes its Reads returned
	// seq is odd while a Read is in progress; each Read adds 2.
	seq atomic.Uint64
	// trigger is when a raced Read must end (its Close, or the deadline
	// that expires), in UnixNano; 0 if none.
	trigger atomic.Int64
	// lost: the watchdog gave up on its Read and closed conn.
	lost atomic.Bool
}

func (e *end) write(b []byte) error {
	if len(b) == 0 {
		// A Write of nothing still reports a reset the peer may
		// already have sent.
		return nil
	}
	n, err := e.conn.Write(b)
	e.sent.Add(int64(n))
	if err != nil {
		return fmt.Errorf("%s Write: %w", sideNames[e.side], err)
	}
	return nil
}

// send writes msg from e, trickled if c says so.
func (c *cycle) send(e *end, msg []byte) error {
	if !c.trickle {
		return e.write(msg)
	}
	chunk := len(c.ends[1-e.side].buf)
	rng := rand.New(rand.NewPCG(c.seed, uint64(3+e.side)))
	for len(msg) > 0 {
		n := min(chunk, len(msg))
		if err := e.write(msg[:n]); err != nil {
			return err
		}
		msg = msg[n:]
		if len(msg) > 0 {
			spin(time.Duration(rng.Int64N(int64(c.pause) + 1)))
		}
	}
	return nil
}

// spin waits for d without leaving the thread, for pauses shorter than a
// timer's resolution.
func spin(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}

func (e *end) read(b []byte) (int, error) {
	e.seq.Add(1)
	n, err := e.conn.Read(b)
	e.got.Add(int64(n))
	e.seq.Add(1)
	return n, err
}

// readFull reads exactly len(want) bytes, which must be want.
func (e *end) readFull(want []byte) error {
	for off := 0; off < len(want); {
		b := e.buf
		if len(b) > len(want)-off {
			b = b[:len(want)-off]
		}
		n, err := e.read(b)
		if n > 0 && string(b[:n]) != string(want[off:off+n]) {
			return fmt.Errorf("%s read wrong bytes at offset %d", sideNames[e.side], off)
		}
		off += n
		if err != nil {
			return fmt.Errorf("%s Read after %d of %d bytes: %w", sideNames[e.side], off, len(want), err)
		}
	}
	return nil
}

// readToEnd reads until an error and checks that the bytes were want (a
// prefix of want if reset, when bytes in flight may be dropped); the error
// must be io.EOF, or ECONNRESET if reset. A Read that timed out while
// tolerate says so is retried.
func (e *end) readToEnd(want []byte, reset bool, tolerate func() bool) error {
	off := 0
	for {
		var tol bool
		if tolerate != nil {
			tol = tolerate()
		}
		n, err := e.read(e.buf)
		if n > 0 {
			if off+n > len(want) || string(e.buf[:n]) != string(want[off:off+n]) {
				return fmt.Errorf("%s read unexpected bytes at offset %d", sideNames[e.side], off)
			}
			off += n
		}
		switch {
		case err == nil:
			continue
		case tol && errors.Is(err, os.ErrDeadlineExceeded):
			continue
		case e.lost.Load():
			return nil // counted by the watchdog
		case errors.Is(err, io.EOF):
			if off != len(want) {
				return fmt.Errorf("%s read EOF after %d of %d bytes", sideNames[e.side], off, len(want))
			}
			return nil
		case reset && errors.Is(err, syscall.ECONNRESET):
			return nil
		case tolerate != nil && errors.Is(err, os.ErrDeadlineExceeded):
			// A timer of a deadline already moved or cleared must not
			// end a later Read, as package net's never does.
			return fmt.Errorf("%s Read begun after its deadline was cleared timed out, after %d of %d bytes: %w", sideNames[e.side], off, len(want), err)
		}
		return fmt.Errorf("%s read to end after %d of %d bytes: %w (want EOF%s)", sideNames[e.side], off, len(want), err, map[bool]string{true: " or ECONNRESET"}[reset])
	}
}

func (e *end) close() {
	e.conn.Close()
	e.fin.Store(true)
}

func (e *end) closeWrite() error {
	err := e.conn.(interface{ CloseWrite() error }).CloseWrite()
	e.fin.Store(true)
	return err
}

// lingerZero makes e's Close reset the connection (SO_LINGER 0), set
// before anything is sent so that the RST follows the last write at once,
// as the FIN of a plain Close does.
func (e *end) lingerZero() error {
	if err := e.conn.(interface{ SetLinger(int) error }).SetLinger(0); err != nil {
		return fmt.Errorf("%s SetLinger: %w", sideNames[e.side], err)
	}
	return nil
}

// endBy ends e's side of the connection the way how says: 0 close, 1
// half-close, 2 reset (lingerZero was called).
func (e *end) endBy(how int) error {
	if how == 1 {
		return e.closeWrite()
	}
	e.close()
	return nil
}

// raced checks the error of a Read that a Close or a deadline interrupted:
// a *net.OpError matching want, as package net returns it.
func raced(e *end, err error, want error) error {
	if e.lost.Load() {
		return nil
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, want) {
		return fmt.Errorf("%s raced Read returned %v (%T), want a read *net.OpError matching %v", sideNames[e.side], err, err, want)
	}
	if want == os.ErrDeadlineExceeded && !oe.Timeout() {
		return fmt.Errorf("%s raced Read: %v does not say Timeout", sideNames[e.side], err)
	}
	return nil
}

// raceRead runs the racer's blocked Read in the interrupting scenarios
// against another goroutine that closes the connection or moves its
// deadline, and returns the checked result. Its peer sends nothing until
// this Read has ended. A racer whose Read timed out then sends c.resp and
// closes, which its peer must read to EOF.
func raceRead(c *cycle, e *end, rng *rand.Rand) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	delay := time.Duration(rng.IntN(500)) * time.Microsecond
	switch c.sc {
	case scCloseMidRead:
		wg.Go(func() {
			time.Sleep(delay)
			e.trigger.Store(time.Now().UnixNano())
			e.close()
		})
		_, err := e.read(e.buf)
		return raced(e, err, net.ErrClosed)
	case scDeadlineExpire:
		moves := 1 + rng.IntN(4)
		steps := make([]time.Duration, moves)
		for i := range steps {
			steps[i] = time.Duration(rng.IntN(1000)-200) * time.Microsecond
		}
		wg.Go(func() {
			time.Sleep(delay)
			for i, d := range steps {
				if i < len(steps)-1 {
					d += time.Hour // moved away before it expires
				}
				dl := time.Now().Add(d)
				if i == len(steps)-1 {
					e.trigger.Store(dl.UnixNano())
				}
				e.conn.SetReadDeadline(dl)
			}
		})
		_, err := e.read(e.buf)
		wg.Wait()
		if err := raced(e, err, os.ErrDeadlineExceeded); err != nil || e.lost.Load() {
			return err
		}
		return c.send(e, c.resp)
	}
	panic("not a raced scenario")
}

// raceDeadlinesThenEOF runs scDeadlineCleared's reader: deadlines come and
// go under its Read, some firing before they are moved, and once the
// deadline is cleared the peer sends c.resp and ends the connection, all
// of which the Read, now without a deadline, must see.
func raceDeadlinesThenEOF(c *cycle, e *end, rng *rand.Rand) error {
	var cleared atomic.Bool
	moves := 1 + rng.IntN(6)
	steps := make([]time.Duration, moves)
	for i := range steps {
		steps[i] = time.Duration(rng.IntN(1000)-300) * time.Microsecond
	}
	delay := time.Duration(rng.IntN(500)) * time.Microsecond
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(delay)
		for _, d := range steps {
			e.conn.SetReadDeadline(time.Now().Add(d))
			runtime.Gosched()
			e.conn.SetReadDeadline(time.Now().Add(time.Hour))
		}
		e.conn.SetReadDeadline(time.Time{})
		cleared.Store(true)
		close(c.proceed)
	})
	// A Read begun before the deadline was cleared may time out.
	err := e.readToEnd(c.resp, c.peerEnd == 2, func() bool { return !cleared.Load() })
	wg.Wait()
	return err
}

// finishAfterRace plays the racer's peer once the raced scenario's
// exchange is done: in scDeadlineCleared it waits for the racer's
// deadline to be cleared, then sends c.resp and ends as c.peerEnd says;
// otherwise it reads to the end of what the racer sends after its Read.
func finishAfterRace(c *cycle, e *end) error {
	if c.sc != scDeadlineCleared {
		var want []byte
		if c.sc == scDeadlineExpire {
			want = c.resp
		}
		return e.readToEnd(want, false, nil)
	}
	<-c.proceed
	if err := c.send(e, c.resp); err != nil {
		return err
	}
	return e.endBy(c.peerEnd)
}

// runClient plays the dialed end of c.
func runClient(c *cycle) error {
	e := &c.ends[dialed]
	rng := rand.New(rand.NewPCG(c.seed, 1))
	defer e.close()
	if c.resets(dialed) {
		if err := e.lingerZero(); err != nil {
			return err
		}
	}
	select {
	case <-c.started:
	case <-time.After(time.Minute):
		return errors.New("the server never started")
	}
	if err := c.send(e, c.req[:c.reqSent()]); err != nil {
		return err
	}
	switch c.sc {
	case scClose, scServerReset:
		return e.readToEnd(c.resp, c.sc == scServerReset, nil)
	case scHalfClose:
		if err := e.closeWrite(); err != nil {
			return err
		}
		return e.readToEnd(c.resp, false, nil)
	case scResetHalf:
		e.close()
	case scResetFull:
		if err := e.readFull(c.resp); err != nil {
			return err
		}
		e.close()
	case scCloseMidRead, scDeadlineExpire, scDeadlineCleared:
		return c.raced(e, dialed, rng)
	}
	return nil
}

// runServer plays the accepted end of c.
func runServer(c *cycle) error {
	e := &c.ends[accepted]
	rng := rand.New(rand.NewPCG(c.seed, 2))
	defer e.close()
	var err error
	if c.resets(accepted) {
		err = e.lingerZero()
	}
	close(c.started)
	if err != nil {
		return err
	}
	switch c.sc {
	case scHalfClose:
		if err := e.readToEnd(c.req, false, nil); err != nil {
			return err
		}
		return c.send(e, c.resp)
	case scResetHalf:
		return e.readToEnd(c.req[:c.reqSent()], true, nil)
	}
	if err := e.readFull(c.req); err != nil {
		return err
	}
	switch c.sc {
	case scClose, scServerReset:
		return c.send(e, c.resp) // and close or reset at once
	case scResetFull:
		if err := c.send(e, c.resp); err != nil {
			return err
		}
		return e.readToEnd(nil, true, nil)
	case scCloseMidRead, scDeadlineExpire, scDeadlineCleared:
		return c.raced(e, accepted, rng)
	}
	return nil
}

// raced plays side's part in a scenario whose Reads race a Close or
// deadlines: the racing side's Read is interrupted, the other side ends
// the connection after it.
func (c *cycle) raced(e *end, side int, rng *rand.Rand) error {
	switch {
	case c.racer != side:
		return finishAfterRace(c, e)
	case c.sc == scDeadlineCleared:
		return raceDeadlinesThenEOF(c, e, rng)
	}
	return raceRead(c, e, rng)
}

// resets reports whether end side of c ends the connection with an RST.
func (c *cycle) resets(side int) bool {
	switch c.sc {
	case scResetHalf, scResetFull:
		return side == dialed
	case scServerReset:
		return side == accepted
	case scDeadlineCleared:
		return c.peerEnd == 2 && side != c.racer
	}
	return false
}

// reqSent is how much of its request the client sends: half of it in
// scResetHalf.
func (c *cycle) reqSent() int {
	if c.sc == scResetHalf {
		return len(c.req) / 2
	}
	return len(c.req)
}

// bufSizes are the reads' buffer sizes: mostly small, so that a response
// takes many Reads, each a chance to race the peer's FIN.
var bufSizes = []int{1, 3, 16, 16, 64, 64, 100, 256, 512, 1024, 4096}

func newCycle(id int, rng *rand.Rand, cfg *stressConfig) *cycle {
	c := &cycle{
		id:      id,
		sc:      pickScenario(rng, &cfg.weights),
		racer:   rng.IntN(2),
		peerEnd: rng.IntN(3),
		seed:    rng.Uint64(),
		proceed: make(chan struct{}),
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for i := range c.ends {
		c.ends[i].side = i
		c.ends[i].buf = make([]byte, bufSizes[rng.IntN(len(bufSizes))])
	}
	c.trickle = rng.Float64() < cfg.trickle
	if c.trickle {
		// Whole chunks the reader's buffer takes exactly, then a tail
		// that leaves it room, so that the last Read is short.
		sizes := func(buf int) int {
			buf = max(buf, 2)
			return buf*rng.IntN(6) + 1 + rng.IntN(buf-1)
		}
		c.pause = cfg.pause
		c.req = cyclePattern(id, max(2, sizes(len(c.ends[accepted].buf))))
		c.resp = cyclePattern(id+1, sizes(len(c.ends[dialed].buf)))
	} else {
		c.req = cyclePattern(id, 2+rng.IntN(600))
		c.resp = cyclePattern(id+1, rng.IntN(cfg.resp+1))
	}
	return c
}

func cyclePattern(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*7 + i*13)
	}
	return b
}

// rendezvous hands each accepted connection the cycle its client
// registered under the client's local address.
type rendezvous struct {
	mu sync.Mutex
	m  map[string]chan *cycle
}

func (r *rendezvous) slot(key string) chan *cycle {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch, ok := r.m[key]
	if !ok {
		ch = make(chan *cycle, 1)
		r.m[key] = ch
	}
	return ch
}

func (r *rendezvous) put(key string, c *cycle) { r.slot(key) <- c }

func (r *rendezvous) take(key string, timeout time.Duration) *cycle {
	select {
	case c := <-r.slot(key):
		r.mu.Lock()
		delete(r.m, key)
		r.mu.Unlock()
		return c
	case <-time.After(timeout):
		return nil
	}
}

// lostRead describes a Read the watchdog gave up on.
type lostRead struct {
	side     int
	sc       scenario
	what     string // what it waited for: "EOF", "RST", "data", or for a raced Read "Close" or "deadline"
	got      int64
	peerSent int64
	buf      int
	tcp      string // the socket's line in /proc/net/tcp
}

func (l lostRead) key() string {
	return fmt.Sprintf("%s end, %s, waiting for %s", sideNames[l.side], l.sc, l.what)
}

// watchdog scans the live cycles. A Read in progress that is owed
// something (its peer sent bytes it has not read, or its FIN or RST) for
// longer than bound is lost; a raced Read still blocked bound after its
// Close or deadline is stuck. Either way the watchdog records it and
// closes its connection, so that the test ends.
type watchdog struct {
	bound time.Duration
	mu    sync.Mutex
	live  map[*cycle]struct{}
	lost  []lostRead
	stuck []lostRead
}

type watchState struct {
	seq       uint64
	first     time.Time
	owedSince time.Time
}

func (w *watchdog) add(c *cycle) {
	w.mu.Lock()
	w.live[c] = struct{}{}
	w.mu.Unlock()
}

func (w *watchdog) remove(c *cycle) {
	w.mu.Lock()
	delete(w.live, c)
	w.mu.Unlock()
}

func (w *watchdog) run(stop <-chan struct{}) {
	seen := map[*end]watchState{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		w.mu.Lock()
		for c := range w.live {
			for i := range c.ends {
				e, peer := &c.ends[i], &c.ends[1-i]
				seq := e.seq.Load()
				if seq%2 == 0 || e.lost.Load() {
					delete(seen, e)
					continue
				}
				st, ok := seen[e]
				if !ok || st.seq != seq {
					st = watchState{seq: seq, first: now}
				}
				owed := peer.fin.Load() || peer.sent.Load() > e.got.Load()
				if owed && st.owedSince.IsZero() {
					st.owedSince = now
				}
				seen[e] = st
				var lost, stuck bool
				if owed && now.Sub(st.owedSince) > w.bound {
					lost = true
				} else if trig := e.trigger.Load(); trig != 0 {
					since := max(trig, st.first.UnixNano())
					stuck = now.UnixNano()-since > w.bound.Nanoseconds()
				}
				if !lost && !stuck {
					continue
				}
				l := lostRead{side: i, sc: c.sc, got: e.got.Load(), peerSent: peer.sent.Load(), buf: len(e.buf), tcp: tcpLine(e.conn)}
				switch {
				case stuck && c.sc == scCloseMidRead:
					l.what = "Close"
				case stuck:
					l.what = "deadline"
				case peer.sent.Load() > e.got.Load():
					l.what = "data"
				case c.resets(1 - i):
					l.what = "RST"
				default:
					l.what = "EOF"
				}
				e.lost.Store(true)
				c.release()
				if lost {
					w.lost = append(w.lost, l)
				} else {
					w.stuck = append(w.stuck, l)
				}
				go e.conn.Close()
				delete(seen, e)
			}
		}
		w.mu.Unlock()
	}
}

// tcpLine returns the state and queues of c's socket from /proc/net/tcp,
// for the report of a lost Read.
func tcpLine(c net.Conn) string {
	la, ok1 := c.LocalAddr().(*net.TCPAddr)
	ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || la.IP.To4() == nil {
		return ""
	}
	hex := func(a *net.TCPAddr) string {
		ip := a.IP.To4()
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return ""
	}
	defer f.Close()
	want := hex(la) + " " + hex(ra)
	states := map[string]string{"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0B": "CLOSING"}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 4 && fs[1]+" "+fs[2] == want {
			st := states[fs[3]]
			if st == "" {
				st = fs[3]
			}
			return fmt.Sprintf("%s tx:rx queues %s", st, fs[4])
		}
	}
	return "not in /proc/net/tcp"
}

// stressStats counts what the workers saw.
type stressStats struct {
	mu       sync.Mutex
	cycles   [nScenarios]int
	failures []string
	nfail    int
}

func (s *stressStats) fail(c *cycle, err error) {
	if c != nil && (c.ends[dialed].lost.Load() || c.ends[accepted].lost.Load()) {
		return // the watchdog closed a Read's connection: counted there
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nfail++
	if len(s.failures) < 20 {
		id, sc := -1, "dial"
		if c != nil {
			id, sc = c.id, c.sc.String()
		}
		s.failures = append(s.failures, fmt.Sprintf("connection %d (%s): %v", id, sc, err))
	}
}

// runEOFStress runs cfg.conc workers, each dialing one connection at a
// time until cfg.conns connections or cfg.budget, against one listener of
// im whose connections each get a goroutine of their own.
func runEOFStress(t *testing.T, im impl, cfg stressConfig) {
	if im.name == stdImpl.name {
		// The control only has to pass: a third of the effort.
		cfg.budget /= 3
		cfg.conns /= 3
	}
	ln := listen(t, im, "tcp", loopback(t, "tcp"))
	addr := ln.Addr().String()
	reg := &rendezvous{m: map[string]chan *cycle{}}
	var stats stressStats
	wd := &watchdog{bound: cfg.bound, live: map[*cycle]struct{}{}}
	stopWD := make(chan struct{})
	wdDone := make(chan struct{})
	go func() {
		defer close(wdDone)
		wd.run(stopWD)
	}()

	var servers sync.WaitGroup
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			servers.Go(func() {
				c := reg.take(conn.RemoteAddr().String(), 30*time.Second)
				if c == nil {
					conn.Close()
					stats.fail(nil, fmt.Errorf("accepted %v: no client registered it", conn.RemoteAddr()))
					return
				}
				defer close(c.done)
				c.ends[accepted].conn = conn
				if err := runServer(c); err != nil {
					stats.fail(c, err)
				}
			})
		}
	}()

	start := time.Now()
	end := start.Add(cfg.budget)
	// cfg.conc cycles run at once. A cycle gives its slot back when it
	// ends or when the watchdog gives up on one of its Reads, so that lost
	// Reads, each blocked for cfg.bound, do not slow the search down.
	slots := make(chan struct{}, cfg.conc)
	var cycles sync.WaitGroup
	rng := rand.New(rand.NewPCG(cfg.seed, 0))
	for id := 0; id < cfg.conns && time.Now().Before(end); id++ {
		slots <- struct{}{}
		c := newCycle(id, rng, &cfg)
		var once sync.Once
		c.release = func() { once.Do(func() { <-slots }) }
		cycles.Go(func() {
			defer c.release()
			conn, err := im.dial(context.Background(), dialOpts{Timeout: 30 * time.Second}, "tcp", addr)
			if err != nil {
				stats.fail(c, fmt.Errorf("Dial: %w", err))
				time.Sleep(10 * time.Millisecond)
				return
			}
			c.ends[dialed].conn = conn
			wd.add(c)
			reg.put(conn.LocalAddr().String(), c)
			if err := runClient(c); err != nil {
				stats.fail(c, err)
			}
			select {
			case <-c.done:
			case <-time.After(2*cfg.bound + time.Minute):
				stats.fail(c, errors.New("the server's half never finished"))
			}
			wd.remove(c)
			stats.mu.Lock()
			stats.cycles[c.sc]++
			stats.mu.Unlock()
		})
	}
	cycles.Wait()
	elapsed := time.Since(start)
	ln.Close()
	<-acceptDone
	servers.Wait()
	close(stopWD)
	<-wdDone

	total := 0
	var per []string
	for s, n := range stats.cycles {
		total += n
		per = append(per, fmt.Sprintf("%s %d", scenario(s), n))
	}
	t.Logf("%s: %d connections in %v (%.0f/s), %d in flight, seed %d, GOMAXPROCS %d, %d spinning goroutines, %d burning processes; %s",
		im.name, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), cfg.conc, cfg.seed, runtime.GOMAXPROCS(0), cfg.spinners, cfg.burners, strings.Join(per, ", "))
	report := func(what string, ls []lostRead) {
		if len(ls) == 0 {
			return
		}
		byKey := map[string]int{}
		for _, l := range ls {
			byKey[l.key()]++
		}
		var keys []string
		for k, n := range byKey {
			keys = append(keys, fmt.Sprintf("%d × %s", n, k))
		}
		sort.Strings(keys)
		t.Errorf("%s: %d %s (seed %d):\n\t%s", im.name, len(ls), what, cfg.seed, strings.Join(keys, "\n\t"))
		for i, l := range ls {
			if i == 10 {
				break
			}
			t.Logf("  %s: read %d of the peer's %d bytes, buffer %d; socket %s", l.key(), l.got, l.peerSent, l.buf, l.tcp)
		}
	}
	report(fmt.Sprintf("lost wake-ups (Reads still blocked %v after their peer's data, FIN or RST)", cfg.bound), wd.lost)
	report(fmt.Sprintf("raced Reads still blocked %v after their Close or deadline", cfg.bound), wd.stuck)
	if stats.nfail > 0 {
		t.Errorf("%s: %d connections failed (seed %d), the first:\n\t%s", im.name, stats.nfail, cfg.seed, strings.Join(stats.failures, "\n\t"))
	}
}
