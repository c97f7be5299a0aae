package tlsdial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/internal/neterr"
)

// defaultLookup is what a nil Config.Lookup means.
func defaultLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// resolution is a resolver goroutine's answer, posted to the ring.
type resolution struct {
	a       *Attempt
	targets []dialTarget
	err     error
}

// resolve starts the resolver goroutine. It reads nothing of a: the
// lookup, host and port are handed over here, and the answer goes back
// through rt.Post, whose synchronisation orders it before the ring's
// callback. The goroutine ends when the lookup returns, which a cancelled
// context makes prompt.
func (a *Attempt) resolve(rt core.Runtime) {
	ctx, cancel := context.WithCancel(a.ctx)
	a.cancelLookup = cancel
	lookup, host, port := a.lookup, a.host, a.port
	res := &resolution{a: a}
	go func() {
		addrs, err := lookup(ctx, host)
		if err == nil {
			// Zone names are turned into interface indexes here, off the
			// ring's goroutine.
			for _, ip := range addrs {
				if ip.IsValid() {
					res.targets = append(res.targets, makeTarget(ip, port))
				}
			}
		}
		res.err = err
		_ = rt.Post(core.Ctx{Callback: connectCallback, Userdata: res, Msg: uint16(msgResolved)})
	}()
}

// resolved takes the resolver's answer on the ring's goroutine.
func (a *Attempt) resolved(rt core.Runtime, res *resolution) error {
	if a.finished {
		return nil // the attempt ended first; the goroutine has ended too
	}
	if a.cancelLookup != nil {
		a.cancelLookup()
		a.cancelLookup = nil
	}
	if res.err != nil {
		return a.finish(rt, -1, &net.OpError{Op: "dial", Net: a.network(), Err: dnsError(res.err, a.host)})
	}
	if len(res.targets) == 0 {
		return a.finish(rt, -1, &net.OpError{Op: "dial", Net: a.network(), Err: &net.DNSError{
			Err: "no such host", Name: a.host, IsNotFound: true,
		}})
	}
	return a.race(rt, res.targets)
}

// makeTarget pairs ip with port as the socket address connect takes. An
// IPv4-mapped IPv6 address becomes IPv4, as net treats it.
func makeTarget(ip netip.Addr, port uint16) dialTarget {
	ip = ip.Unmap()
	ap := netip.AddrPortFrom(ip, port)
	family := syscall.AF_INET6
	if ip.Is4() {
		family = syscall.AF_INET
	}
	return dialTarget{ap: ap, family: family, sa: core.AddrPortToSockaddr(ap)}
}

// dnsError shapes a resolution failure as net's resolver does: a
// *net.DNSError stays as it is; anything else is wrapped in one, context
// errors mapped to net's ("operation was canceled", "i/o timeout").
func dnsError(err error, host string) error {
	if de, ok := err.(*net.DNSError); ok {
		return de
	}
	err = neterr.FromContext(err)
	de := &net.DNSError{Err: err.Error(), Name: host, UnwrapErr: err}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) {
		de.IsTimeout = te.Timeout()
	}
	var tmp interface{ Temporary() bool }
	if errors.As(err, &tmp) {
		de.IsTemporary = tmp.Temporary()
	}
	return de
}
