//go:build linux

package uringnet

import (
	"context"
	"net"

	"github.com/ourio-go/ourio/internal/neterr"
)

// Dial connects to address on network, like net.Dial.
func Dial(network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(context.Background(), network, address)
}

// Dial connects to address on network.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on network; ctx bounds the whole dial.
// The addresses a name resolves to are tried in order until one connects;
// the first error is returned if none does, as in package net. For tcp,
// the addresses of the first one's family race those of the other
// (FallbackDelay).
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	e, err := defaultEngine()
	if err != nil {
		if d.NoFallback {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		std := d.netDialer()
		return std.DialContext(ctx, network, address)
	}
	if d.Timeout != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	if !d.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Deadline)
		defer cancel()
	}
	if d.Cancel != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-d.Cancel:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix", "udp", "udp4", "udp6":
		if address == "" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: neterr.ErrMissingAddress}
		}
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "unix", "unixpacket":
		return d.dialUnix(ctx, e, network, address)
	case "unixgram":
		return d.dialUnixgram(ctx, network, address)
	case "udp", "udp4", "udp6":
		return d.dialUDP(ctx, e, network, address)
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	targets, err := d.resolveTCP(ctx, network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	t := dialTargets{d: d, e: e, network: network}
	primaries, fallbacks := targets, []*net.TCPAddr(nil)
	if network == "tcp" && d.FallbackDelay >= 0 {
		primaries, fallbacks = partitionByFamily(targets)
	}
	if len(fallbacks) == 0 {
		return t.serial(ctx, primaries)
	}
	return t.parallel(ctx, primaries, fallbacks)
}
