//go:build !(darwin || dragonfly || freebsd || netbsd || openbsd)

package core

// setSockaddrLen does nothing: this system's socket addresses carry no
// length of their own (no sa_len), as on Linux and Windows.
func setSockaddrLen(*RawSockaddrAny, uint32) {}
