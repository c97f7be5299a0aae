//go:build linux

package uringnet

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/ourio-go/ourio/internal/netaddr"
	"github.com/ourio-go/ourio/internal/neterr"
	"golang.org/x/sys/unix"
)

// dialTCP connects one socket to ra, choosing its family as package net
// does: IPv4 for tcp4, IPv6 only for tcp6, and for tcp IPv4 when both
// ends are IPv4 (or unspecified as 0.0.0.0 or no IP), else IPv6 open to
// mapped IPv4 addresses.
func (d *Dialer) dialTCP(ctx context.Context, e *engine, network string, ra *net.TCPAddr) (net.Conn, error) {
	la, _ := d.LocalAddr.(*net.TCPAddr)
	family, v6only := unix.AF_INET, -1
	switch {
	case network == "tcp4":
	case network == "tcp6":
		family, v6only = unix.AF_INET6, 1
	case !isIPv4Family(la) || !isIPv4Family(ra):
		family, v6only = unix.AF_INET6, 0
	}
	sa, err := ipSockaddr(family, ra)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Source: d.LocalAddr, Addr: ra, Err: err}
	}
	// When the kernel picks the local port, it may pick the port dialed
	// on the host dialed and connect the socket to itself, or fail with an
	// EADDRNOTAVAIL that may be spurious (the port it tried was taken
	// meanwhile): package net tries twice more, then gives what it got,
	// and so does this.
	for attempt := 0; ; attempt++ {
		c, err := d.dialOne(ctx, e, network, family, v6only, sa, ra)
		if attempt == 2 || la != nil && la.Port != 0 {
			return c, err
		}
		switch {
		case err == nil && selfConnected(c):
			c.Close()
		case err != nil && errors.Is(err, unix.EADDRNOTAVAIL):
		default:
			return c, err
		}
	}
}

// selfConnected reports whether c is connected to itself, or has lost an
// address, which package net also takes for a dial to try again.
func selfConnected(c net.Conn) bool {
	l, _ := c.LocalAddr().(*net.TCPAddr)
	r, _ := c.RemoteAddr().(*net.TCPAddr)
	if l == nil || r == nil {
		return true
	}
	return l.Port == r.Port && l.IP.Equal(r.IP)
}

// isIPv4Family reports whether a is dialed from or to on an IPv4 socket:
// no address, no IP or an IPv4 one (mapped or not).
func isIPv4Family(a *net.TCPAddr) bool {
	return a == nil || len(a.IP) <= net.IPv4len || a.IP.To4() != nil
}

// ipSockaddr converts a to a socket address of family as package net does:
// no IP is the unspecified address, 0.0.0.0 serves an IPv6 socket as ::,
// an IPv6 address does not fit an IPv4 socket, and a zone is an interface
// name or index. A nil a converts to nil.
func ipSockaddr(family int, a *net.TCPAddr) (unix.Sockaddr, error) {
	if a == nil {
		return nil, nil
	}
	ip := a.IP
	if family == unix.AF_INET {
		if len(ip) == 0 {
			ip = net.IPv4zero
		}
		ip4 := ip.To4()
		if ip4 == nil {
			return nil, &net.AddrError{Err: "non-IPv4 address", Addr: ip.String()}
		}
		return &unix.SockaddrInet4{Port: a.Port, Addr: [4]byte(ip4)}, nil
	}
	if len(ip) == 0 || ip.Equal(net.IPv4zero) {
		ip = net.IPv6zero
	}
	ip16 := ip.To16()
	if ip16 == nil {
		return nil, &net.AddrError{Err: "non-IPv6 address", Addr: ip.String()}
	}
	return &unix.SockaddrInet6{Port: a.Port, Addr: [16]byte(ip16), ZoneId: zoneIndex(a.Zone)}, nil
}

// zoneIndex is the interface index a zone names, by name or as a number.
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.ParseUint(zone, 10, 32)
	return uint32(n)
}

// localSockaddr is the address a dial on family binds to, from the
// Dialer's LocalAddr: nil for none, a typed nil included.
func localSockaddr(family int, local net.Addr) (unix.Sockaddr, error) {
	switch la := local.(type) {
	case *net.TCPAddr:
		return ipSockaddr(family, la)
	case *net.UDPAddr:
		if la == nil {
			return nil, nil
		}
		return ipSockaddr(family, &net.TCPAddr{IP: la.IP, Port: la.Port, Zone: la.Zone})
	}
	return nil, nil // a unix LocalAddr binds through bindUnixLocal
}

// dialOne connects one socket of family to sa with an io_uring connect
// that ctx can cancel, in package net's order: socket, IPV6_V6ONLY when
// v6only is 0 or 1, ControlContext or Control, bind to the LocalAddr,
// connect. Its errors name the LocalAddr as Source and raddr as Addr.
func (d *Dialer) dialOne(ctx context.Context, e *engine, network string, family, v6only int, sa unix.Sockaddr, raddr net.Addr) (net.Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Source: d.LocalAddr, Addr: raddr, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(neterr.FromContext(err))
	}
	fd, err := unix.Socket(family, sockType(network)|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, opErr(os.NewSyscallError("socket", err))
	}
	if v6only >= 0 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			unix.Close(fd)
			return nil, opErr(os.NewSyscallError("setsockopt", err))
		}
	}
	if isUDP(network) {
		// As package net sets on every datagram socket of IP.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
			unix.Close(fd)
			return nil, opErr(os.NewSyscallError("setsockopt", err))
		}
	}
	nfd := newFD(e, fd, network)
	nfd.dialed = true
	if err := d.control(ctx, ctrlNetwork(network, family), raddr.String(), rawConn{nfd}); err != nil {
		unix.Close(fd)
		return nil, opErr(err)
	}
	lsa, err := localSockaddr(family, d.LocalAddr)
	if err != nil {
		unix.Close(fd)
		return nil, opErr(err)
	}
	if ua, ok := d.LocalAddr.(*net.UnixAddr); ok && family == unix.AF_UNIX {
		err = bindUnixLocal(fd, ua)
	} else if lsa != nil {
		err = unix.Bind(fd, lsa)
	}
	if err != nil {
		unix.Close(fd)
		return nil, opErr(os.NewSyscallError("bind", err))
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
	if isUDP(network) {
		if a := peerAddr(network, fd); a != nil {
			nfd.raddr = a
		}
		return newUDPConn(nfd, family, true), nil
	}
	if sa, err := unix.Getpeername(fd); err == nil { // as package net
		nfd.raddr = netaddr.FromSockaddr(network, sa)
	}
	if family != unix.AF_UNIX {
		setDefaultTCPOptions(fd, d.KeepAlive, d.KeepAliveConfig)
	}
	return newConn(nfd), nil
}

// control calls ControlContext, or else Control, as package net does.
func (d *Dialer) control(ctx context.Context, network, address string, c syscall.RawConn) error {
	if d.ControlContext != nil {
		return d.ControlContext(ctx, network, address, c)
	}
	if d.Control != nil {
		return d.Control(network, address, c)
	}
	return nil
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
