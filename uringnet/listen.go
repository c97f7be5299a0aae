//go:build linux

package uringnet

import (
	"context"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/internal/netaddr"
	"golang.org/x/sys/unix"
)

// Listen announces on the local address, like net.Listen. Networks are tcp,
// tcp4, tcp6, unix and unixpacket; unixgram is package net's, which gives
// what net.Listen gives for it.
func Listen(network, address string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(context.Background(), network, address)
}

// Listen announces on the local address, like net.ListenConfig.Listen.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	e, err := listenEngine()
	if err != nil {
		if lc.NoFallback {
			return nil, &net.OpError{Op: "listen", Net: network, Err: err}
		}
		std := lc.netListenConfig()
		return std.Listen(ctx, network, address)
	}
	var family int
	var sa unix.Sockaddr
	var v6only = -1
	var path string
	var la net.Addr // the address as package net reports it before binding
	switch network {
	case "tcp", "tcp4", "tcp6":
		addr, err := resolveListenTCP(ctx, network, address)
		if err != nil {
			return nil, &net.OpError{Op: "listen", Net: network, Err: err}
		}
		family, v6only = listenFamily(network, addr)
		if sa, err = ipSockaddr(family, addr); err != nil {
			return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
		}
		la = addr
	case "unixgram":
		std := net.ListenConfig{Control: lc.Control}
		return std.Listen(ctx, network, address)
	case "unix", "unixpacket":
		addr, err := net.ResolveUnixAddr(network, address)
		if err != nil {
			return nil, &net.OpError{Op: "listen", Net: network, Err: err}
		}
		family, sa, path = unix.AF_UNIX, &unix.SockaddrUnix{Name: addr.Name}, addr.Name
		la = netaddr.FromSockaddr(network, sa)
	default:
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	fd, err := unix.Socket(family, sockType(network)|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: la, Err: os.NewSyscallError("socket", err)}
	}
	fail := func(err error) (net.Listener, error) {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: network, Addr: la, Err: err}
	}
	if v6only >= 0 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail(os.NewSyscallError("setsockopt", err))
		}
	}
	if family != unix.AF_UNIX {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail(os.NewSyscallError("setsockopt", err))
		}
	}
	nfd := newFD(e, fd, network)
	if lc.Control != nil {
		if err := lc.Control(ctrlNetwork(network, family), la.String(), rawConn{nfd}); err != nil {
			return fail(err)
		}
	}
	if family == unix.AF_UNIX {
		err = bindUnix(fd, path)
	} else {
		err = unix.Bind(fd, sa)
	}
	if err != nil {
		return fail(os.NewSyscallError("bind", err))
	}
	if err := unix.Listen(fd, listenBacklog()); err != nil {
		return fail(os.NewSyscallError("listen", err))
	}
	nfd.laddr = localAddr(network, fd)
	l := &Listener{fd: nfd, keepAlive: lc.KeepAlive, keepAliveConfig: lc.KeepAliveConfig}
	// Listen made the socket file, so Close removes it (unix.go).
	l.unlink.Store(family == unix.AF_UNIX)
	return l, nil
}

// listenFamily chooses a TCP listener's socket family as package net
// does: IPv4 for tcp4, IPv6 only for tcp6, and for tcp a dual-stack IPv6
// socket for a wildcard (0.0.0.0 included), else the address's family.
// v6only is the IPV6_V6ONLY value to set, or -1 for an IPv4 socket.
func listenFamily(network string, a *net.TCPAddr) (family, v6only int) {
	switch {
	case network == "tcp4" || network == "udp4":
		return unix.AF_INET, -1
	case network == "tcp6" || network == "udp6":
		return unix.AF_INET6, 1
	case isWildcard(a) || !isIPv4Family(a):
		return unix.AF_INET6, 0
	}
	return unix.AF_INET, -1
}

// listenBacklog reads the kernel's limit, as package net does.
func listenBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return unix.SOMAXCONN
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || n > 1<<16-1 {
		return unix.SOMAXCONN
	}
	return n
}

// Listener accepts connections with io_uring accept operations.
type Listener struct {
	fd              *netFD
	keepAlive       time.Duration
	keepAliveConfig net.KeepAliveConfig
	// unlink says whether Close removes a unix socket's file; one atomic
	// word, so SetUnlinkOnClose may race a Close. unlinked is set by the
	// one Close that removes it.
	unlink, unlinked atomic.Bool
}

var _ net.Listener = (*Listener)(nil)

// Accept waits for and returns the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	s := &l.fd.rd
	s.mu.Lock()
	if s.op.sa == nil {
		s.op.sa = new(unix.RawSockaddrAny)
	}
	res, err := l.fd.accept(s)
	var raw unix.RawSockaddrAny
	if err == nil && res >= 0 {
		raw = *s.op.sa
	}
	s.mu.Unlock()
	if err == nil && res < 0 {
		// accept4, as package net names the call; the ring's accept is one.
		err = os.NewSyscallError("accept4", syscall.Errno(-res))
	}
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: l.fd.net, Addr: l.fd.laddr, Err: l.fd.closedWait(s, err)}
	}
	e, err := defaultEngine() // spread connections over the rings
	if err != nil {
		e = l.fd.e
	}
	fd := newFD(e, int(res), l.fd.net)
	fd.laddr = localAddr(l.fd.net, fd.fd)
	fd.raddr = rawToAddr(l.fd.net, &raw)
	if !isUnix(l.fd.net) {
		setDefaultTCPOptions(fd.fd, l.keepAlive, l.keepAliveConfig)
	}
	return newConn(fd), nil
}

// setDefaultTCPOptions applies what package net applies to every TCP
// connection: no Nagle delay, and keep-alive as the period and the config
// say (by default idle 15s, interval 15s, 9 probes).
func setDefaultTCPOptions(fd int, period time.Duration, cfg net.KeepAliveConfig) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if !cfg.Enable {
		if period < 0 {
			return
		}
		cfg = net.KeepAliveConfig{Enable: true, Idle: period}
	}
	setKeepAliveConfig(fd, cfg)
}

// setKeepAliveConfig applies cfg as (*net.TCPConn).SetKeepAliveConfig does:
// zero fields take net's defaults, negative ones stay unchanged.
func setKeepAliveConfig(fd int, cfg net.KeepAliveConfig) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, boolInt(cfg.Enable)); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	secs := func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
	opts := []struct {
		opt  int
		v    int
		skip bool
	}{
		{unix.TCP_KEEPIDLE, secs(orDefault(cfg.Idle, 15*time.Second)), cfg.Idle < 0},
		{unix.TCP_KEEPINTVL, secs(orDefault(cfg.Interval, 15*time.Second)), cfg.Interval < 0},
		{unix.TCP_KEEPCNT, int(orDefault(time.Duration(cfg.Count), 9)), cfg.Count < 0},
	}
	for _, o := range opts {
		if o.skip {
			continue
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, o.opt, o.v); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	return nil
}

func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// Close stops listening; a blocked Accept returns an error matching
// net.ErrClosed. A unix socket's file is removed first, as package net
// does, unless SetUnlinkOnClose said not to.
func (l *Listener) Close() error {
	l.unlinkOnce()
	if err := l.fd.Close(); err != nil {
		return &net.OpError{Op: "close", Net: l.fd.net, Addr: l.fd.laddr, Err: err}
	}
	return nil
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.fd.laddr }

// SetDeadline sets the deadline for Accept, including one already blocked,
// as (*net.TCPListener).SetDeadline does; a zero t means none. On a closed
// listener it returns net.ErrClosed itself, unwrapped, as package net's
// listeners do.
func (l *Listener) SetDeadline(t time.Time) error {
	if l.fd.closed.Load() {
		return net.ErrClosed
	}
	l.fd.rd.setDeadline(t)
	return nil
}

// SyscallConn returns a raw listener, for Control, as
// (*net.TCPListener).SyscallConn does; its Read and Write fail.
func (l *Listener) SyscallConn() (syscall.RawConn, error) {
	return rawListener{rawConn{l.fd}}, nil
}

type rawListener struct{ rawConn }

func (rawListener) Read(func(uintptr) bool) error  { return syscall.EINVAL }
func (rawListener) Write(func(uintptr) bool) error { return syscall.EINVAL }

// Fd returns the listening socket, for core's callback API. The Listener
// still owns it.
func (l *Listener) Fd() int { return l.fd.fd }
