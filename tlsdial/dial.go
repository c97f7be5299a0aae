package tlsdial

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/uringnet"
)

// ConnectTLS connects to host:port as ConnectToHost does and then runs a TLS
// client handshake over the socket as Handshake does, ending in done on rt's
// goroutine with the TLS connection or the error of whichever step failed.
// If tlsCfg has no ServerName, a copy with ServerName set to host is used,
// so SNI and certificate verification name the host dialed. ctx bounds both
// steps.
func ConnectTLS(ctx context.Context, rt core.Runtime, host string, port uint16, cfg *Config, tlsCfg *tls.Config, done HandshakeFunc) (*Attempt, error) {
	if done == nil {
		return nil, errors.New("tlsdial: ConnectTLS needs a callback")
	}
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	if tlsCfg.ServerName == "" {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.ServerName = host
	}
	return ConnectToHost(ctx, rt, host, port, cfg, func(rt core.Runtime, fd int, err error) error {
		if err != nil {
			return done(rt, nil, err)
		}
		if err := Handshake(ctx, rt, fd, tlsCfg, done); err != nil {
			closeSocket(rt, fd)
			return done(rt, nil, err)
		}
		return nil
	})
}

// Dial connects to address on network over uringnet and runs a TLS client
// handshake, for goroutine-style callers: it returns a *tls.Conn ready for
// use, as tls.Dialer.DialContext does. A nil cfg is the zero tls.Config;
// without a ServerName the host part of address is used.
func Dial(ctx context.Context, network, address string, cfg *tls.Config) (*tls.Conn, error) {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	var d uringnet.Dialer
	raw, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, &HandshakeError{Addr: address, ServerName: cfg.ServerName, Err: err}
	}
	return tc, nil
}
