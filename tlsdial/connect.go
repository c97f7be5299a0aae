package tlsdial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/neterr"
)

// ConnectFunc is the one callback a connection attempt ends in. It runs on
// the ring's goroutine, from inside the runtime's Run, exactly once per
// attempt that ConnectToHost or ConnectToAddr started, and never before they
// return.
//
// On success fd is a connected TCP socket (a UDP one for UDPConnectToHost
// and UDPConnectToAddr), created non-blocking
// (SOCK_NONBLOCK) and close-on-exec (SOCK_CLOEXEC), and err is nil; the
// callee owns fd and must close it (rt.CloseFd). On failure fd is -1 and err
// says why, in the forms net.Dialer uses (see ConnectToHost). The returned
// error is the callback's: as with any core.Callback, a non-nil error stops
// the Run that delivered it and is returned from there.
type ConnectFunc func(rt core.Runtime, fd int, err error) error

// DefaultFallbackDelay is the head start the first address family gets
// before the other family is tried, when Config.FallbackDelay is zero. It is
// net.Dialer's default.
const DefaultFallbackDelay = 300 * time.Millisecond

// Config tunes a connection attempt. A nil *Config is the zero Config.
type Config struct {
	// Timeout bounds the whole attempt, resolution included, like
	// net.Dialer.Timeout; zero means no timeout beyond the context's
	// deadline, which also applies. When a name resolves to several
	// addresses, each address gets a share of the remaining time (at least
	// two seconds, as net.Dialer gives), so one that does not answer does
	// not use up the time of the ones after it.
	Timeout time.Duration

	// FallbackDelay is how long the addresses of the first family (that
	// of the first address) get before the addresses of the other family
	// start racing them, like net.Dialer.FallbackDelay ("Happy Eyeballs",
	// RFC 6555). Zero means DefaultFallbackDelay; a negative value turns
	// racing off and tries every address in order. The fallback starts at
	// once when every address of the first family has failed.
	FallbackDelay time.Duration

	// Lookup resolves a host name to addresses, which are then tried in
	// the order returned (IPv4-mapped IPv6 addresses count as IPv4). It
	// runs on a goroutine of its own and must return when ctx is done.
	// nil means net.DefaultResolver.LookupNetIP(ctx, "ip", host). An error
	// that is not a *net.DNSError is wrapped in one, whose Unwrap returns
	// it.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

func (c *Config) fallbackDelay() time.Duration {
	switch {
	case c == nil || c.FallbackDelay == 0:
		return DefaultFallbackDelay
	case c.FallbackDelay < 0:
		return -1
	}
	return c.FallbackDelay
}

// Attempt is a connection attempt in progress. Its methods must be called
// on the ring's goroutine (from a callback or between Runs), like every
// other use of the runtime.
type Attempt struct {
	rt     core.Runtime
	ctx    context.Context
	done   ConnectFunc
	host   string   // the name to resolve; "" when the addresses are known
	port   uint16   // the port to pair with resolved addresses
	lookup lookupFn // resolver for host
	delay  time.Duration
	limit  time.Duration // Config.Timeout

	udp      bool         // a UDP socket is connected, not a TCP one
	targets  []dialTarget // the literal address, until the race starts
	deadline time.Time

	stopCtx      func() bool        // stops the context.AfterFunc
	cancelLookup context.CancelFunc // cancels the resolver goroutine
	timer        core.Handle        // the Timeout / context deadline
	fbTimer      core.Handle        // starts the fallback racer
	primary      racer
	fallback     racer
	started      bool // racing has begun
	finished     bool // the outcome is decided
	err          error
}

type lookupFn func(ctx context.Context, host string) ([]netip.Addr, error)

// racer tries the addresses of one family in order, one at a time.
type racer struct {
	a       *Attempt
	targets []dialTarget
	next    int         // the address being tried
	fd      int         // the socket being connected, or -1
	op      core.Handle // the socket or connect in flight
	busy    bool        // op is in flight
	partial bool        // the connect in flight has a per-address deadline
	started bool
	failed  bool  // every address has failed
	err     error // the first address's error
}

// dialTarget is one address to try.
type dialTarget struct {
	ap     netip.AddrPort
	sa     core.Sockaddr
	family int
}

type connectMsg uint16

const (
	msgStart connectMsg = iota + 1
	msgResolved
	msgCtxDone
	msgTimeout
	msgFallback
	msgSocket
	msgConnect
	msgDeliver
)

// errNilCallback and errNilRuntime report misuse of the entry points.
var (
	errNilCallback = errors.New("tlsdial: nil ConnectFunc")
	errNilRuntime  = errors.New("tlsdial: nil core.Runtime")
)

// ConnectToHost connects to port on host, a name or a literal IP address,
// and calls done with the connected socket or the error. It returns once the
// attempt is queued on rt; the work happens in rt's Run.
//
// A name is resolved by cfg.Lookup on a goroutine whose answer comes back to
// the ring through rt.Post; a literal IP address (with an optional IPv6 zone)
// is used as it is. The empty host is the local system, as for net.Dial. The
// addresses are then raced as net.Dialer races them: those of the first
// address's family are tried in order, one at a time, until one connects;
// after cfg.FallbackDelay (or as soon as the first family has failed) the
// other family's addresses are tried the same way alongside; the first
// socket to connect wins and every other is cancelled and closed. Socket
// creation, connect and the closing of failed sockets are ring operations;
// the ring's goroutine never blocks.
//
// ctx and cfg.Timeout bound the whole attempt: when ctx is done or the
// timeout passes, what is in flight is cancelled, sockets are closed, the
// resolver goroutine is told to stop, and done gets the error. Once done has
// run, ctx no longer matters. Sockets being cancelled or closed are finished
// by later completions, so Run(UntilDone) returns only once none is left.
//
// Errors are the ones net.Dialer.DialContext returns for the same failure:
//
//   - a name that does not resolve: *net.OpError{Op: "dial", Net: "tcp"}
//     wrapping the *net.DNSError (IsNotFound for an unknown name);
//   - a refused, unreachable or timed-out connect: *net.OpError{Op:
//     "dial", Net: "tcp", Addr: *net.TCPAddr} wrapping *os.SyscallError{
//     Syscall: "connect"} over the syscall.Errno, so errors.Is(err,
//     syscall.ECONNREFUSED) holds; when every address fails, the first
//     address's error (of the first family, when racing);
//   - the timeout or ctx's deadline: a *net.OpError whose Timeout() is true
//     and which matches context.DeadlineExceeded ("i/o timeout"); ctx
//     cancelled or Attempt.Cancel: one that matches context.Canceled
//     ("operation was canceled"). Addr is the address being connected, or
//     nil during resolution, when the cause is wrapped in a *net.DNSError
//     as net does. This holds even when an earlier address failed for
//     another reason, where net.Dialer may report that earlier error
//     instead: a timeout here always reads as one.
//
// While a name is being resolved the ring may have no operation of the
// attempt in flight (only the timeout timer, if any), and Run(UntilDone)
// does not wait for a Post not yet made: drive the ring with Run(Once), or
// keep it running, until done has run.
//
// ConnectToHost returns an error, and done is never called, only when rt or
// done is nil or the first submission to rt fails. A nil ctx panics, as it
// does for net.Dialer.
func ConnectToHost(ctx context.Context, rt core.Runtime, host string, port uint16, cfg *Config, done ConnectFunc) (*Attempt, error) {
	return connectToHost(ctx, rt, host, port, cfg, done, false)
}

// connectToHost is ConnectToHost, or UDPConnectToHost when udp is set.
func connectToHost(ctx context.Context, rt core.Runtime, host string, port uint16, cfg *Config, done ConnectFunc, udp bool) (*Attempt, error) {
	if host == "" {
		host = "0.0.0.0"
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return connectToAddr(ctx, rt, netip.AddrPortFrom(ip, port), cfg, done, udp)
	}
	a := newAttempt(ctx, rt, cfg, done, udp)
	a.host, a.port = host, port
	a.lookup = defaultLookup
	if cfg != nil && cfg.Lookup != nil {
		a.lookup = cfg.Lookup
	}
	return a.submit()
}

// ConnectToAddr connects to addr and calls done with the connected socket
// or the error, as ConnectToHost does for a literal address. An IPv4-mapped
// IPv6 address is connected over IPv4, as net does; an IPv6 zone that names
// an interface is looked up (net.InterfaceByName) before ConnectToAddr
// returns. An invalid addr is an error (a *net.OpError over a
// *net.AddrError), and done is then never called.
func ConnectToAddr(ctx context.Context, rt core.Runtime, addr netip.AddrPort, cfg *Config, done ConnectFunc) (*Attempt, error) {
	return connectToAddr(ctx, rt, addr, cfg, done, false)
}

// connectToAddr is ConnectToAddr, or UDPConnectToAddr when udp is set.
func connectToAddr(ctx context.Context, rt core.Runtime, addr netip.AddrPort, cfg *Config, done ConnectFunc, udp bool) (*Attempt, error) {
	a := newAttempt(ctx, rt, cfg, done, udp)
	if !addr.IsValid() {
		return nil, &net.OpError{Op: "dial", Net: a.network(), Err: &net.AddrError{Err: "invalid address", Addr: addr.String()}}
	}
	a.targets = []dialTarget{makeTarget(addr.Addr(), addr.Port())}
	return a.submit()
}

// UDPConnectToHost connects a UDP socket to port on host, a name or a
// literal IP address, on the ring, and calls done once with the connected
// socket (SOCK_DGRAM, non-blocking, close-on-exec) or the error, as
// ConnectToHost does for TCP: the same resolution, Timeout, context and
// Cancel, and errors as net.Dialer's for "udp". The addresses are tried in
// order, as package net does for UDP (no family racing; FallbackDelay does
// not apply): connect on a datagram socket fails only where no route or
// address fits, and refusals come later, from a later read or write.
func UDPConnectToHost(ctx context.Context, rt core.Runtime, host string, port uint16, cfg *Config, done ConnectFunc) (*Attempt, error) {
	return connectToHost(ctx, rt, host, port, cfg, done, true)
}

// UDPConnectToAddr connects a UDP socket to addr on the ring and calls
// done once with it or the error, as UDPConnectToHost does for a literal
// address.
func UDPConnectToAddr(ctx context.Context, rt core.Runtime, addr netip.AddrPort, cfg *Config, done ConnectFunc) (*Attempt, error) {
	return connectToAddr(ctx, rt, addr, cfg, done, true)
}

func newAttempt(ctx context.Context, rt core.Runtime, cfg *Config, done ConnectFunc, udp bool) *Attempt {
	if ctx == nil {
		panic("nil context")
	}
	a := &Attempt{rt: rt, ctx: ctx, done: done, delay: cfg.fallbackDelay(), udp: udp}
	if udp {
		a.delay = -1 // addresses in order, as package net tries them for UDP
	}
	if cfg != nil {
		a.limit = cfg.Timeout
	}
	a.primary = racer{a: a, fd: -1}
	a.fallback = racer{a: a, fd: -1}
	return a
}

// submit queues the start of the attempt: everything that touches the ring
// happens in callbacks, so done never runs inside the entry points.
func (a *Attempt) submit() (*Attempt, error) {
	if a.rt == nil {
		return nil, errNilRuntime
	}
	if a.done == nil {
		return nil, errNilCallback
	}
	if _, err := a.rt.Nop(core.Ctx{Callback: connectCallback, Userdata: a, Msg: uint16(msgStart)}); err != nil {
		return nil, err
	}
	return a, nil
}

// Cancel stops the attempt if it has not finished: what is in flight is
// cancelled and its sockets closed, and done is called from a later
// completion (in rt's Run, not from Cancel) with an error matching
// context.Canceled. After done has run, Cancel does nothing. Call it on the
// ring's goroutine.
func (a *Attempt) Cancel() {
	if a.finished {
		return
	}
	a.err = a.abortErr(neterr.ErrCanceled)
	a.finished = true
	a.teardown(a.rt)
	if _, err := a.rt.Nop(core.Ctx{Callback: connectCallback, Userdata: a, Msg: uint16(msgDeliver)}); err != nil {
		// The ring takes no more work; done must still run once.
		_ = a.deliver(a.rt, -1, a.err)
	}
}

// connectCallback is the one core.Callback every operation of an attempt
// completes with; the message says which step it is.
func connectCallback(rt core.Runtime, t *core.Task) error {
	switch core.MsgAs[connectMsg](t) {
	case msgStart:
		return core.UserdataAs[*Attempt](t).start(rt)
	case msgResolved:
		res := core.UserdataAs[*resolution](t)
		return res.a.resolved(rt, res)
	case msgCtxDone:
		a := core.UserdataAs[*Attempt](t)
		if a.finished {
			return nil
		}
		return a.finish(rt, -1, a.abortErr(neterr.FromContext(a.ctx.Err())))
	case msgTimeout:
		a := core.UserdataAs[*Attempt](t)
		a.timer = core.Handle{}
		if a.finished || t.Err() != nil { // cancelled
			return nil
		}
		return a.finish(rt, -1, a.abortErr(neterr.ErrTimeout))
	case msgFallback:
		a := core.UserdataAs[*Attempt](t)
		a.fbTimer = core.Handle{}
		if a.finished || t.Err() != nil || a.fallback.started {
			return nil
		}
		return a.fallback.start(rt)
	case msgSocket:
		return core.UserdataAs[*racer](t).socketDone(rt, t)
	case msgConnect:
		return core.UserdataAs[*racer](t).connectDone(rt, t)
	case msgDeliver:
		a := core.UserdataAs[*Attempt](t)
		return a.deliver(rt, -1, a.err)
	}
	return nil
}

// start runs on the ring: it arms the timeout and the context, then
// resolves or races.
func (a *Attempt) start(rt core.Runtime) error {
	if a.finished {
		return nil // cancelled before it started
	}
	if err := a.ctx.Err(); err != nil {
		return a.finish(rt, -1, a.abortErr(neterr.FromContext(err)))
	}
	if a.limit > 0 {
		a.deadline = time.Now().Add(a.limit)
	}
	if d, ok := a.ctx.Deadline(); ok && (a.deadline.IsZero() || d.Before(a.deadline)) {
		a.deadline = d
	}
	if !a.deadline.IsZero() {
		h, err := rt.Timer(time.Until(a.deadline), core.Ctx{Callback: connectCallback, Userdata: a, Msg: uint16(msgTimeout)})
		if err != nil {
			return a.finish(rt, -1, &net.OpError{Op: "dial", Net: a.network(), Err: err})
		}
		a.timer = h
	}
	if a.ctx.Done() != nil {
		ctxDone := core.Ctx{Callback: connectCallback, Userdata: a, Msg: uint16(msgCtxDone)}
		a.stopCtx = context.AfterFunc(a.ctx, func() { _ = rt.Post(ctxDone) })
	}
	if a.host == "" {
		targets := a.targets
		a.targets = nil
		return a.race(rt, targets)
	}
	a.resolve(rt)
	return nil
}

// race splits the addresses into primaries and fallbacks and starts the
// primaries, and the fallback timer.
func (a *Attempt) race(rt core.Runtime, targets []dialTarget) error {
	a.started = true
	if a.delay < 0 {
		a.primary.targets = targets
	} else {
		for i := range targets {
			if targets[i].family == targets[0].family {
				a.primary.targets = append(a.primary.targets, targets[i])
			} else {
				a.fallback.targets = append(a.fallback.targets, targets[i])
			}
		}
	}
	if len(a.fallback.targets) > 0 {
		h, err := rt.Timer(a.delay, core.Ctx{Callback: connectCallback, Userdata: a, Msg: uint16(msgFallback)})
		if err == nil {
			a.fbTimer = h
		} else if err := a.fallback.start(rt); err != nil || a.finished {
			return err
		}
	}
	return a.primary.start(rt)
}

func (r *racer) start(rt core.Runtime) error {
	r.started = true
	return r.tryNext(rt)
}

// tryNext creates a socket for the address r.next, or fails the racer when
// none is left.
func (r *racer) tryNext(rt core.Runtime) error {
	a := r.a
	for r.next < len(r.targets) {
		tg := &r.targets[r.next]
		if !a.deadline.IsZero() && !time.Now().Before(a.deadline) {
			r.record(a.targetErr(tg, neterr.ErrTimeout))
			break
		}
		typ, proto := socketType, syscall.IPPROTO_TCP
		if a.udp {
			typ, proto = datagramType, syscall.IPPROTO_UDP
		}
		h, err := rt.Socket(tg.family, typ, proto,
			core.Ctx{Callback: connectCallback, Userdata: r, Msg: uint16(msgSocket)})
		if err != nil {
			r.record(a.targetErr(tg, err))
			r.next++
			continue
		}
		r.op, r.busy = h, true
		return nil
	}
	r.failed = true
	return a.racerFailed(rt, r)
}

// record keeps the first error of the racer's addresses.
func (r *racer) record(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *racer) socketDone(rt core.Runtime, t *core.Task) error {
	r.op, r.busy = core.Handle{}, false
	a := r.a
	fd := t.Fd()
	if a.finished {
		if fd >= 0 {
			closeSocket(rt, fd)
		}
		return nil
	}
	tg := &r.targets[r.next]
	if err := t.Err(); err != nil {
		r.record(a.targetErr(tg, os.NewSyscallError("socket", err)))
		r.next++
		return r.tryNext(rt)
	}
	h, err := rt.Connect(fd, tg.sa, core.Ctx{Callback: connectCallback, Userdata: r, Msg: uint16(msgConnect)})
	if err != nil {
		closeSocket(rt, fd)
		r.record(a.targetErr(tg, err))
		r.next++
		return r.tryNext(rt)
	}
	r.fd, r.op, r.busy = fd, h, true
	if !a.deadline.IsZero() {
		now := time.Now()
		if pd := partialDeadline(now, a.deadline, len(r.targets)-r.next); pd.Before(a.deadline) {
			// Without the deadline the attempt's timeout still bounds it.
			r.partial = h.SetDeadline(pd) == nil
		}
	}
	return nil
}

func (r *racer) connectDone(rt core.Runtime, t *core.Task) error {
	fd, partial := r.fd, r.partial
	r.op, r.busy, r.fd, r.partial = core.Handle{}, false, -1, false
	a := r.a
	if a.finished {
		closeSocket(rt, fd)
		return nil
	}
	err := t.Err()
	if err == nil {
		return a.finish(rt, fd, nil)
	}
	closeSocket(rt, fd)
	tg := &r.targets[r.next]
	if err == syscall.ECANCELED && partial {
		r.record(a.targetErr(tg, neterr.ErrTimeout)) // this address's share of the time ran out
	} else {
		r.record(a.targetErr(tg, os.NewSyscallError("connect", err)))
	}
	r.next++
	return r.tryNext(rt)
}

// racerFailed handles a racer whose every address failed: the fallback
// starts at once if the primaries failed first, and the attempt fails with
// the primaries' error once both have failed.
func (a *Attempt) racerFailed(rt core.Runtime, r *racer) error {
	if a.finished {
		return nil
	}
	if r == &a.primary && len(a.fallback.targets) > 0 && !a.fallback.started {
		cancelIfLive(rt, a.fbTimer)
		a.fbTimer = core.Handle{}
		return a.fallback.start(rt)
	}
	if a.primary.failed && (a.fallback.failed || len(a.fallback.targets) == 0) {
		err := a.primary.err
		if err == nil {
			err = &net.OpError{Op: "dial", Net: a.network(), Err: neterr.ErrMissingAddress}
		}
		return a.finish(rt, -1, err)
	}
	return nil
}

// finish decides the outcome, releases everything still held and calls
// done.
func (a *Attempt) finish(rt core.Runtime, fd int, err error) error {
	a.finished = true
	a.teardown(rt)
	return a.deliver(rt, fd, err)
}

func (a *Attempt) deliver(rt core.Runtime, fd int, err error) error {
	done := a.done
	a.done = nil
	if done == nil {
		return nil
	}
	return done(rt, fd, err)
}

// teardown stops the context watch, the resolver, the timers and the
// racers' operations. The racers' sockets are closed when their cancelled
// operations complete.
func (a *Attempt) teardown(rt core.Runtime) {
	if a.stopCtx != nil {
		a.stopCtx()
		a.stopCtx = nil
	}
	if a.cancelLookup != nil {
		a.cancelLookup()
		a.cancelLookup = nil
	}
	cancelIfLive(rt, a.timer)
	cancelIfLive(rt, a.fbTimer)
	a.timer, a.fbTimer = core.Handle{}, core.Handle{}
	for _, r := range []*racer{&a.primary, &a.fallback} {
		if r.busy {
			cancelIfLive(rt, r.op)
		}
	}
}

// abortErr is the error for an attempt stopped by cause (a timeout or a
// cancellation), shaped as net.Dialer shapes it.
func (a *Attempt) abortErr(cause error) error {
	if a.host != "" && !a.started {
		return &net.OpError{Op: "dial", Net: a.network(), Err: dnsError(cause, a.host)}
	}
	for _, r := range []*racer{&a.primary, &a.fallback} {
		if r.busy {
			return a.targetErr(&r.targets[r.next], cause)
		}
	}
	if len(a.targets) > 0 { // not started yet
		return a.targetErr(&a.targets[0], cause)
	}
	return &net.OpError{Op: "dial", Net: a.network(), Err: cause}
}

func cancelIfLive(rt core.Runtime, h core.Handle) {
	if h.Live() {
		_, _ = rt.Cancel(h, core.Ctx{})
	}
}

// closeSocket closes a socket of the attempt with the ring. If the ring takes
// no more work, a core.Ring's socket is closed directly, so it cannot leak.
func closeSocket(rt core.Runtime, fd int) {
	if fd < 0 {
		return
	}
	if _, err := rt.CloseFd(fd, core.Ctx{}); err != nil {
		if _, ok := rt.(*core.Ring); ok {
			_ = closeFd(fd)
		}
	}
}

// partialDeadline is net's: the deadline for one address when
// addrsRemaining are left, an equal share of the time left but at least two
// seconds.
func partialDeadline(now, deadline time.Time, addrsRemaining int) time.Time {
	timeRemaining := deadline.Sub(now)
	if timeRemaining <= 0 || addrsRemaining <= 1 {
		return deadline
	}
	timeout := timeRemaining / time.Duration(addrsRemaining)
	const saneMinimum = 2 * time.Second
	if timeout < saneMinimum {
		if timeRemaining < saneMinimum {
			timeout = timeRemaining
		} else {
			timeout = saneMinimum
		}
	}
	return now.Add(timeout)
}

func (a *Attempt) targetErr(tg *dialTarget, err error) error {
	if a.udp {
		return &net.OpError{Op: "dial", Net: "udp", Addr: net.UDPAddrFromAddrPort(tg.ap), Err: err}
	}
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(tg.ap), Err: err}
}

// network is the attempt's network, for its errors.
func (a *Attempt) network() string {
	if a.udp {
		return "udp"
	}
	return "tcp"
}
