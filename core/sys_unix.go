//go:build unix

package core

import "golang.org/x/sys/unix"

// Sockaddr is a socket address as Connect and RawSockaddr take it. On Unix
// systems it is x/sys/unix's, so unix.SockaddrInet4, unix.SockaddrInet6 and
// unix.SockaddrUnix are Sockaddrs and Linux code that passes them is
// unchanged; on Windows, where x/sys/unix does not build, it is package
// syscall's.
type Sockaddr = unix.Sockaddr

// RawSockaddrAny is a socket address in the kernel's layout, as an Accept
// fills it in (Task.RemoteSockaddr). It is x/sys/unix's on Unix systems and
// package syscall's on Windows, like Sockaddr.
type RawSockaddrAny = unix.RawSockaddrAny

// The kernel layouts of the families the runtime converts.
type (
	rawSockaddrInet4 = unix.RawSockaddrInet4
	rawSockaddrInet6 = unix.RawSockaddrInet6
)

const (
	afInet  = unix.AF_INET
	afInet6 = unix.AF_INET6
)

type (
	sockaddrInet4   = unix.SockaddrInet4
	sockaddrInet6   = unix.SockaddrInet6
	sockaddrUnix    = unix.SockaddrUnix
	rawSockaddrUnix = unix.RawSockaddrUnix
)

const afUnix = unix.AF_UNIX
