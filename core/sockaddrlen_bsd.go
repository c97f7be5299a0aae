//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package core

// setSockaddrLen records an address's length in its first byte, which the
// BSD kernels' layouts keep for it (sa_len).
func setSockaddrLen(raw *RawSockaddrAny, n uint32) { raw.Addr.Len = uint8(n) }
