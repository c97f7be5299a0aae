package tlsdial

import "golang.org/x/sys/unix"

const (
	// socketType makes a dialing socket non-blocking and close-on-exec
	// from the start, as package net's are.
	socketType = unix.SOCK_STREAM | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	// datagramType is socketType for UDP.
	datagramType = unix.SOCK_DGRAM | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	// sendFlags keeps a send on a socket the peer closed from raising
	// SIGPIPE.
	sendFlags = unix.MSG_NOSIGNAL
)
