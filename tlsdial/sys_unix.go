//go:build unix

package tlsdial

import (
	"net"
	"os"

	"github.com/ourio-go/ourio/internal/netaddr"
	"golang.org/x/sys/unix"
)

// closeFd closes a socket directly, for when the runtime takes no more work.
func closeFd(fd int) error { return unix.Close(fd) }

// socketAddrs reads a connected socket's network ("tcp" or "unix") and its
// two addresses, as package net reports them.
func socketAddrs(fd int) (network string, laddr, raddr net.Addr, err error) {
	lsa, err := unix.Getsockname(fd)
	if err != nil {
		return "", nil, nil, os.NewSyscallError("getsockname", err)
	}
	rsa, err := unix.Getpeername(fd)
	if err != nil {
		return "", nil, nil, os.NewSyscallError("getpeername", err)
	}
	network = "tcp"
	if _, ok := lsa.(*unix.SockaddrUnix); ok {
		network = "unix"
	}
	return network, netaddr.FromSockaddr(network, lsa), netaddr.FromSockaddr(network, rsa), nil
}
