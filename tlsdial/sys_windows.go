package tlsdial

import (
	"net"
	"os"
	"syscall"

	"github.com/ourio-go/ourio/internal/netaddr"
)

// closeFd closes a socket directly, for when the runtime takes no more work.
func closeFd(fd int) error { return syscall.Closesocket(syscall.Handle(fd)) }

// socketAddrs reads a connected socket's network ("tcp" or "unix") and its
// two addresses, as package net reports them.
func socketAddrs(fd int) (network string, laddr, raddr net.Addr, err error) {
	lsa, err := syscall.Getsockname(syscall.Handle(fd))
	if err != nil {
		return "", nil, nil, os.NewSyscallError("getsockname", err)
	}
	rsa, err := syscall.Getpeername(syscall.Handle(fd))
	if err != nil {
		return "", nil, nil, os.NewSyscallError("getpeername", err)
	}
	network = "tcp"
	if _, ok := lsa.(*syscall.SockaddrUnix); ok {
		network = "unix"
	}
	return network, netaddr.FromSockaddr(network, lsa), netaddr.FromSockaddr(network, rsa), nil
}
