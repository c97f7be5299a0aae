//go:build !linux

package tlsdial

import "syscall"

// Off Linux no kernel ring exists; the runtimes there, such as mock.Ring,
// read no socket or send flags. socket(2) takes SOCK_NONBLOCK and
// SOCK_CLOEXEC, and send(2) MSG_NOSIGNAL, only on some systems, so a
// runtime on another kernel would set those properties itself.
const (
	socketType   = syscall.SOCK_STREAM
	datagramType = syscall.SOCK_DGRAM
	sendFlags    = 0
)
