package core

import "syscall"

// Sockaddr is a socket address as Connect and RawSockaddr take it. On Unix
// systems it is x/sys/unix's; on Windows, where x/sys/unix does not build,
// it is package syscall's, so syscall.SockaddrInet4, syscall.SockaddrInet6
// and syscall.SockaddrUnix are Sockaddrs.
type Sockaddr = syscall.Sockaddr

// RawSockaddrAny is a socket address in the kernel's layout, as an Accept
// fills it in (Task.RemoteSockaddr). It is x/sys/unix's on Unix systems and
// package syscall's on Windows, like Sockaddr.
type RawSockaddrAny = syscall.RawSockaddrAny

// The layouts of the families the runtime converts.
type (
	rawSockaddrInet4 = syscall.RawSockaddrInet4
	rawSockaddrInet6 = syscall.RawSockaddrInet6
)

const (
	afInet  = syscall.AF_INET
	afInet6 = syscall.AF_INET6
)

type (
	sockaddrInet4   = syscall.SockaddrInet4
	sockaddrInet6   = syscall.SockaddrInet6
	sockaddrUnix    = syscall.SockaddrUnix
	rawSockaddrUnix = syscall.RawSockaddrUnix
)

const afUnix = syscall.AF_UNIX
