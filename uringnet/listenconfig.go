package uringnet

import (
	"net"
	"syscall"
	"time"
)

// ListenConfig mirrors net.ListenConfig.
type ListenConfig struct {
	// Control, if not nil, is called after the socket is created and before
	// it is bound, as in net.ListenConfig.
	Control func(network, address string, c syscall.RawConn) error
	// KeepAlive is the keep-alive period of accepted connections: zero
	// means 15 seconds, negative disables keep-alive.
	KeepAlive time.Duration
	// KeepAliveConfig, when Enable is true, sets accepted connections'
	// keep-alive probes instead of KeepAlive, as in net.ListenConfig.
	KeepAliveConfig net.KeepAliveConfig
	// NoFallback makes Listen fail when io_uring is unavailable instead of
	// returning a listener from package net.
	NoFallback bool
}

// netListenConfig is the net.ListenConfig that listens as lc says, for the
// listeners package net makes: every one where io_uring is unavailable.
func (lc *ListenConfig) netListenConfig() net.ListenConfig {
	return net.ListenConfig{Control: lc.Control, KeepAlive: lc.KeepAlive, KeepAliveConfig: lc.KeepAliveConfig}
}
