package uringnet

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/internal/netaddr"
	"github.com/ourio-go/ourio/internal/neterr"
	"golang.org/x/sys/unix"
)

// Dialer mirrors net.Dialer.
type Dialer struct {
	// Timeout bounds the whole dial, resolution included.
	Timeout time.Duration
	// Deadline is an absolute time after which the dial fails.
	Deadline time.Time
	// LocalAddr is the local address to bind to, or nil.
	LocalAddr net.Addr
	// KeepAlive is the keep-alive period: zero means 15 seconds, negative
	// disables keep-alive.
	KeepAlive time.Duration
	// KeepAliveConfig, when Enable is true, sets the keep-alive probes
	// instead of KeepAlive, as in net.Dialer.
	KeepAliveConfig net.KeepAliveConfig
	// Control, if not nil, is called after the socket is created and before
	// it connects.
	Control func(network, address string, c syscall.RawConn) error
	// FallbackDelay is how long the addresses of the first family get
	// before those of the other family race them (Happy Eyeballs, RFC
	// 6555), as in net.Dialer: zero means 300ms, negative disables it.
	FallbackDelay time.Duration
	// Resolver looks up host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// NoFallback makes Dial fail when io_uring is unavailable instead of
	// dialing with package net.
	NoFallback bool
}

// Dial connects to address on network, like net.Dial.
func Dial(network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(context.Background(), network, address)
}

// Dial connects to address on network.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on network; ctx bounds the whole dial.
// The addresses a name resolves to are tried in order until one connects;
// the first error is returned if none does, as in package net.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	e, err := defaultEngine()
	if err != nil {
		if d.NoFallback {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		std := net.Dialer{Timeout: d.Timeout, Deadline: d.Deadline, LocalAddr: d.LocalAddr, KeepAlive: d.KeepAlive, KeepAliveConfig: d.KeepAliveConfig, FallbackDelay: d.FallbackDelay, Control: d.Control, Resolver: d.Resolver}
		return std.DialContext(ctx, network, address)
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	if !d.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Deadline)
		defer cancel()
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
		if address == "" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: neterr.ErrMissingAddress}
		}
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "unix", "unixpacket":
		return d.dialUnix(ctx, e, network, address)
	case "unixgram":
		return d.dialUnixgram(ctx, network, address)
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	resolver := d.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	port, err := resolver.LookupPort(ctx, network, portStr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var ips []netip.Addr
	if host == "" {
		// As in package net: the unspecified address, which the kernel
		// connects to the local host.
		ips = []netip.Addr{netip.IPv4Unspecified()}
		if network == "tcp6" {
			ips = []netip.Addr{netip.IPv6Unspecified()}
		}
	} else if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ipNet := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[network]
		if ips, err = resolver.LookupNetIP(ctx, ipNet, host); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
	}
	// A local address filters the candidates by family, as in package net.
	var lip netip.Addr
	if d.LocalAddr != nil {
		la, ok := d.LocalAddr.(*net.TCPAddr)
		if !ok {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "mismatched local address type", Addr: d.LocalAddr.String()}}
		}
		if la != nil {
			lip, _ = netip.AddrFromSlice(la.IP)
		}
	}
	var targets []netip.Addr
	for _, ip := range ips {
		if network == "tcp4" && !ip.Unmap().Is4() || network == "tcp6" && ip.Is4() {
			continue
		}
		if lip.IsValid() && !lip.IsUnspecified() && !ip.IsUnspecified() && lip.Unmap().Is4() != ip.Unmap().Is4() {
			continue
		}
		targets = append(targets, ip)
	}
	if len(targets) == 0 {
		if lip.IsValid() && len(ips) > 0 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "no suitable address found", Addr: d.LocalAddr.String()}}
		}
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "no suitable address found", Addr: host}}
	}
	t := dialTargets{d: d, e: e, network: network, port: port, anyHost: host == ""}
	primaries, fallbacks := targets, []netip.Addr(nil)
	if network == "tcp" && d.FallbackDelay >= 0 {
		primaries, fallbacks = partitionByFamily(targets)
	}
	if len(fallbacks) == 0 {
		return t.serial(ctx, primaries)
	}
	return t.parallel(ctx, primaries, fallbacks)
}

// dialTargets is one dial's resolved addresses and what connecting them
// needs.
type dialTargets struct {
	d       *Dialer
	e       *engine
	network string
	port    int
	anyHost bool // the address named no host: report it as :port
}

// partitionByFamily splits addrs into those of the first address's family
// and the rest, keeping their order, as package net does for Happy Eyeballs.
func partitionByFamily(addrs []netip.Addr) (primaries, fallbacks []netip.Addr) {
	first := addrs[0].Unmap().Is4()
	for _, a := range addrs {
		if a.Unmap().Is4() == first {
			primaries = append(primaries, a)
		} else {
			fallbacks = append(fallbacks, a)
		}
	}
	return primaries, fallbacks
}

// serial tries addrs in order, giving each a share of the time left as
// package net does, and returns the first connection or the first error.
func (t *dialTargets) serial(ctx context.Context, addrs []netip.Addr) (net.Conn, error) {
	var first error
	for i, ip := range addrs {
		if err := ctx.Err(); err != nil && first != nil {
			break
		}
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if deadline, ok := ctx.Deadline(); ok && len(addrs)-i > 1 {
			if pd := partialDeadline(time.Now(), deadline, len(addrs)-i); pd.Before(deadline) {
				dctx, cancel = context.WithDeadline(ctx, pd)
			}
		}
		family, sa := tcpSockaddr(t.network, ip, t.port)
		raddr := net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip.Unmap(), uint16(t.port)))
		if t.anyHost {
			raddr = &net.TCPAddr{Port: t.port}
		}
		c, err := t.d.dialOne(dctx, t.e, t.network, family, sa, raddr)
		cancel()
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// partialDeadline is package net's: the deadline for one of addrsRemaining
// addresses, an equal share of the time left but at least two seconds.
func partialDeadline(now, deadline time.Time, addrsRemaining int) time.Time {
	timeRemaining := deadline.Sub(now)
	if timeRemaining <= 0 {
		return deadline
	}
	each := timeRemaining / time.Duration(addrsRemaining)
	const saneMinimum = 2 * time.Second
	if each < saneMinimum {
		each = min(saneMinimum, timeRemaining)
	}
	return now.Add(each)
}

// parallel races the primaries against the fallbacks, which start after
// the Dialer's FallbackDelay (300ms by default) or as soon as every primary
// has failed, as package net's Happy Eyeballs does. The first connection
// wins; a later one is closed.
func (t *dialTargets) parallel(ctx context.Context, primaries, fallbacks []netip.Addr) (net.Conn, error) {
	type result struct {
		c       net.Conn
		err     error
		primary bool
	}
	results := make(chan result)
	returned := make(chan struct{})
	defer close(returned)
	race := func(ctx context.Context, addrs []netip.Addr, primary bool) {
		c, err := t.serial(ctx, addrs)
		select {
		case results <- result{c, err, primary}:
		case <-returned:
			if c != nil {
				c.Close()
			}
		}
	}
	primaryCtx, cancelPrimary := context.WithCancel(ctx)
	defer cancelPrimary()
	go race(primaryCtx, primaries, true)

	delay := t.d.FallbackDelay
	if delay == 0 {
		delay = 300 * time.Millisecond
	}
	fallbackTimer := time.NewTimer(delay)
	defer fallbackTimer.Stop()
	var primaryErr error
	primaryDone, fallbackDone, fallbackStarted := false, false, false
	for {
		select {
		case <-fallbackTimer.C:
			if !fallbackStarted {
				fallbackStarted = true
				fallbackCtx, cancelFallback := context.WithCancel(ctx)
				defer cancelFallback()
				go race(fallbackCtx, fallbacks, false)
			}
		case res := <-results:
			if res.err == nil {
				return res.c, nil
			}
			if res.primary {
				primaryDone, primaryErr = true, res.err
				if !fallbackStarted {
					fallbackTimer.Reset(0) // no reason to wait any longer
				}
			} else {
				fallbackDone = true
			}
			if primaryDone && fallbackDone {
				return nil, primaryErr
			}
		}
	}
}

// dialOne connects one socket to sa with an io_uring connect that ctx can
// cancel.
func (d *Dialer) dialOne(ctx context.Context, e *engine, network string, family int, sa unix.Sockaddr, raddr net.Addr) (net.Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(neterr.FromContext(err))
	}
	fd, err := unix.Socket(family, sockType(network)|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, opErr(os.NewSyscallError("socket", err))
	}
	nfd := newFD(e, fd, network)
	if d.Control != nil {
		if err := d.Control(ctrlNetwork(network, family), raddr.String(), rawConn{nfd}); err != nil {
			unix.Close(fd)
			return nil, opErr(err)
		}
	}
	if d.LocalAddr != nil {
		if err := bindLocal(fd, family, d.LocalAddr); err != nil {
			unix.Close(fd)
			return nil, opErr(os.NewSyscallError("bind", err))
		}
	}
	// ctx ends the connect through a past deadline on its side, which do
	// also honours when ctx ends before the connect is in flight, where a
	// plain cancel would find nothing to cancel.
	stop := context.AfterFunc(ctx, func() { nfd.wr.setDeadline(time.Unix(0, 1)) })
	s := &nfd.wr
	s.mu.Lock()
	res, err := nfd.do(s, kindConnect, args{sa: sa})
	s.mu.Unlock()
	if !stop() && err == nil && res >= 0 {
		// ctx ended just as the connect succeeded and has poisoned the
		// socket's write side: fail the dial, as package net does.
		err = os.ErrDeadlineExceeded
	}
	if err == os.ErrDeadlineExceeded && ctx.Err() != nil {
		err = neterr.FromContext(ctx.Err())
	}
	if err == nil && res < 0 {
		if res == -int32(unix.ECANCELED) && ctx.Err() != nil {
			err = neterr.FromContext(ctx.Err())
		} else {
			err = os.NewSyscallError("connect", syscall.Errno(-res))
		}
	}
	if errno, ok := err.(syscall.Errno); ok { // the ring refused the sockaddr
		err = os.NewSyscallError("connect", errno)
	}
	if err != nil {
		nfd.Close()
		return nil, opErr(err)
	}
	nfd.laddr = localAddr(network, fd)
	nfd.raddr = raddr
	if sa, err := unix.Getpeername(fd); err == nil { // as package net
		nfd.raddr = netaddr.FromSockaddr(network, sa)
	}
	if family != unix.AF_UNIX {
		setDefaultTCPOptions(fd, d.KeepAlive, d.KeepAliveConfig)
	}
	return newConn(nfd), nil
}

// ctrlNetwork is the network package net passes to Control: tcp4 or tcp6
// for tcp, by the socket's family.
func ctrlNetwork(network string, family int) string {
	if network != "tcp" {
		return network
	}
	if family == unix.AF_INET {
		return "tcp4"
	}
	return "tcp6"
}

func bindLocal(fd, family int, a net.Addr) error {
	switch la := a.(type) {
	case *net.TCPAddr:
		if la == nil { // a typed nil means no address, as in package net
			return nil
		}
		ip, _ := netip.AddrFromSlice(la.IP)
		if !ip.IsValid() || family == unix.AF_INET && ip.IsUnspecified() {
			ip = netip.IPv6Unspecified()
			if family == unix.AF_INET {
				ip = netip.IPv4Unspecified()
			}
		}
		if family == unix.AF_INET {
			if !ip.Unmap().Is4() {
				return unix.EAFNOSUPPORT
			}
			return unix.Bind(fd, &unix.SockaddrInet4{Port: la.Port, Addr: ip.Unmap().As4()})
		}
		return unix.Bind(fd, &unix.SockaddrInet6{Port: la.Port, Addr: ip.As16()})
	case *net.UnixAddr:
		return bindUnixLocal(fd, la)
	}
	return unix.EINVAL
}
