//go:build linux

package uringnet

import (
	"context"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// ListenPacket announces on the local network address, like
// net.ListenPacket: "udp", "udp4" and "udp6" return a *UDPConn on the
// ring, "unixgram" a *UnixgramConn; other networks ("ip:...") are package
// net's.
func ListenPacket(network, address string) (net.PacketConn, error) {
	var lc ListenConfig
	return lc.ListenPacket(context.Background(), network, address)
}

// ListenPacket announces on the local network address, like
// net.ListenConfig.ListenPacket; see the package function.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	if !isUDP(network) && network != "unixgram" {
		std := lc.netListenConfig()
		return std.ListenPacket(ctx, network, address)
	}
	e, err := defaultEngine()
	if err != nil {
		if lc.NoFallback {
			return nil, &net.OpError{Op: "listen", Net: network, Err: err}
		}
		std := lc.netListenConfig()
		return std.ListenPacket(ctx, network, address)
	}
	if network == "unixgram" {
		return lc.listenUnixgram(ctx, e, network, address)
	}
	ta, err := resolveListenTCP(ctx, network, address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	la := &net.UDPAddr{IP: ta.IP, Port: ta.Port, Zone: ta.Zone}
	fail := func(err error) (net.PacketConn, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: la, Err: err}
	}
	family, v6only := listenFamily(network, ta)
	sa, err := ipSockaddr(family, ta)
	if err != nil {
		return fail(err)
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	closeFail := func(err error) (net.PacketConn, error) {
		unix.Close(fd)
		return fail(err)
	}
	if v6only >= 0 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return closeFail(os.NewSyscallError("setsockopt", err))
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		return closeFail(os.NewSyscallError("setsockopt", err))
	}
	nfd := newFD(e, fd, network)
	if lc.Control != nil {
		if err := lc.Control(ctrlNetwork(network, family), la.String(), rawConn{nfd}); err != nil {
			return closeFail(err)
		}
	}
	if ta.IP.IsMulticast() {
		// As package net: listeners of a group share its port, and the
		// socket binds the wildcard address of its family (members join
		// groups with IP_ADD_MEMBERSHIP through SyscallConn).
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return closeFail(os.NewSyscallError("setsockopt", err))
		}
		wild := &net.TCPAddr{Port: ta.Port}
		if sa, err = ipSockaddr(family, wild); err != nil {
			return closeFail(err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return closeFail(os.NewSyscallError("bind", err))
	}
	nfd.laddr = localAddr(network, fd)
	return newUDPConn(nfd, family, false), nil
}

// dialUDP connects a UDP socket to the first of address's addresses that
// takes it, as package net does; the socket's family is chosen as for TCP.
func (d *Dialer) dialUDP(ctx context.Context, e *engine, network, address string) (net.Conn, error) {
	resolver := d.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	targets, err := lookupTCP(ctx, resolver, network, address)
	if err == nil && d.LocalAddr != nil {
		la, ok := d.LocalAddr.(*net.UDPAddr)
		if !ok {
			err = &net.AddrError{Err: "mismatched local address type", Addr: d.LocalAddr.String()}
		} else if la != nil {
			targets, err = filterByLocal(targets, &net.TCPAddr{IP: la.IP, Port: la.Port, Zone: la.Zone})
		}
	}
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	la, _ := d.LocalAddr.(*net.UDPAddr)
	var first error
	for _, ta := range targets {
		ra := &net.UDPAddr{IP: ta.IP, Port: ta.Port, Zone: ta.Zone}
		family, v6only := unix.AF_INET, -1
		switch {
		case network == "udp4":
		case network == "udp6":
			family, v6only = unix.AF_INET6, 1
		case la != nil && !isIPv4Family(&net.TCPAddr{IP: la.IP}) || !isIPv4Family(ta):
			family, v6only = unix.AF_INET6, 0
		}
		sa, err := ipSockaddr(family, ta)
		if err != nil {
			err = &net.OpError{Op: "dial", Net: network, Source: d.LocalAddr, Addr: ra, Err: err}
		} else {
			var c net.Conn
			if c, err = d.dialOne(ctx, e, network, family, v6only, sa, ra); err == nil {
				return c, nil
			}
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}
