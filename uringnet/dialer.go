package uringnet

import (
	"context"
	"net"
	"syscall"
	"time"
)

// Dialer mirrors net.Dialer.
type Dialer struct {
	// Timeout bounds the whole dial, resolution included. As in
	// net.Dialer, a negative Timeout is a deadline already past: the dial
	// fails at once with a timeout.
	Timeout time.Duration
	// Deadline is an absolute time after which the dial fails.
	Deadline time.Time
	// LocalAddr is the local address to bind to, or nil. As in
	// net.Dialer, unless it is unspecified only addresses of its family
	// are dialed, and an unspecified one serves either family (0.0.0.0
	// binds an IPv6 socket as ::, but :: does not fit tcp4).
	LocalAddr net.Addr
	// KeepAlive is the keep-alive period: zero means 15 seconds, negative
	// disables keep-alive.
	KeepAlive time.Duration
	// KeepAliveConfig, when Enable is true, sets the keep-alive probes
	// instead of KeepAlive, as in net.Dialer.
	KeepAliveConfig net.KeepAliveConfig
	// Control, if not nil, is called after the socket is created and before
	// it is bound and connects, with tcp4 or tcp6 for tcp and the address
	// it is about to dial, as in net.Dialer.
	Control func(network, address string, c syscall.RawConn) error
	// ControlContext, if not nil, is called as Control is, with the dial's
	// context; Control is then ignored, as in net.Dialer.
	ControlContext func(ctx context.Context, network, address string, c syscall.RawConn) error
	// FallbackDelay is how long the addresses of the first family get
	// before those of the other family race them (Happy Eyeballs, RFC
	// 6555), as in net.Dialer: zero means 300ms, negative disables it.
	FallbackDelay time.Duration
	// Resolver looks up host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// DualStack is ignored, as in net.Dialer, where it is deprecated: Happy
	// Eyeballs is on by default and a negative FallbackDelay turns it off.
	//
	// Deprecated: set FallbackDelay instead.
	DualStack bool
	// Cancel, if not nil, ends the dial when it is closed, as in
	// net.Dialer.
	//
	// Deprecated: use DialContext.
	Cancel <-chan struct{}
	// NoFallback makes Dial fail when io_uring is unavailable instead of
	// dialing with package net.
	NoFallback bool
}

// netDialer is the net.Dialer that dials as d says, for the dials package
// net makes: every one where io_uring is unavailable.
func (d *Dialer) netDialer() net.Dialer {
	//lint:ignore SA1019 Cancel is passed on as it was given
	return net.Dialer{Timeout: d.Timeout, Deadline: d.Deadline, LocalAddr: d.LocalAddr, KeepAlive: d.KeepAlive, KeepAliveConfig: d.KeepAliveConfig, FallbackDelay: d.FallbackDelay, Cancel: d.Cancel, Control: d.Control, ControlContext: d.ControlContext, Resolver: d.Resolver}
}
