//go:build linux

package uringnet

import (
	"context"
	"net"
	"net/netip"
)

// resolveTCP returns the addresses a TCP dial tries, in order, as package
// net computes them: lookupTCP's, filtered by the family of the Dialer's
// LocalAddr unless either side is unspecified. Its errors are net's, to be
// wrapped in an OpError with no addresses.
func (d *Dialer) resolveTCP(ctx context.Context, network, address string) ([]*net.TCPAddr, error) {
	resolver := d.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	addrs, err := lookupTCP(ctx, resolver, network, address)
	if err != nil || d.LocalAddr == nil {
		return addrs, err
	}
	return filterByLocal(addrs, d.LocalAddr)
}

// resolveListenTCP returns the address a TCP listener binds to, as package
// net picks it: the first IPv4 one of lookupTCP's, or else the first.
func resolveListenTCP(ctx context.Context, network, address string) (*net.TCPAddr, error) {
	addrs, err := lookupTCP(ctx, net.DefaultResolver, network, address)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			return a, nil
		}
	}
	return addrs[0], nil
}

// lookupTCP resolves address for network as package net does for dials
// and listeners: an empty address or host is no IP at all, which net
// reports as ":port"; a host is resolved for network's family, :: standing
// for 0.0.0.0 too (go.dev/issue/18806).
func lookupTCP(ctx context.Context, resolver *net.Resolver, network, address string) ([]*net.TCPAddr, error) {
	var host string
	var port int
	if address != "" {
		h, portStr, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if port, err = resolver.LookupPort(ctx, network, portStr); err != nil {
			return nil, err
		}
		host = h
	}
	if host == "" {
		return []*net.TCPAddr{{Port: port}}, nil
	}
	// LookupIP is the lookup package net does, literal addresses, the
	// family filter and its "no suitable address" error included; only a
	// literal address's zone is lost on the way.
	ips, err := resolver.LookupIP(ctx, "ip"+network[len("tcp"):], host)
	if err != nil {
		return nil, err
	}
	zone := ""
	if a, err := netip.ParseAddr(host); err == nil {
		zone = a.Zone()
	}
	addrs := make([]*net.TCPAddr, len(ips))
	for i, ip := range ips {
		addrs[i] = &net.TCPAddr{IP: ip, Port: port, Zone: zone}
	}
	return addrs, nil
}

// filterByLocal keeps the addresses a dial from local can reach, as
// package net does: any when local or the target is unspecified, else
// those of local's family.
func filterByLocal(addrs []*net.TCPAddr, local net.Addr) ([]*net.TCPAddr, error) {
	if local.Network() != "tcp" {
		return nil, &net.AddrError{Err: "mismatched local address type", Addr: local.String()}
	}
	la, _ := local.(*net.TCPAddr)
	if isWildcard(la) {
		return addrs, nil
	}
	var kept []*net.TCPAddr
	for _, a := range addrs {
		if isWildcard(a) || sameFamily(a.IP, la.IP) {
			kept = append(kept, a)
		}
	}
	if len(kept) == 0 {
		return nil, &net.AddrError{Err: "no suitable address found", Addr: local.String()}
	}
	return kept, nil
}

// isWildcard reports whether a names no particular host.
func isWildcard(a *net.TCPAddr) bool {
	return a == nil || a.IP == nil || a.IP.IsUnspecified()
}

// sameFamily reports whether a and b are both IPv4 (mapped or not) or both
// IPv6 proper.
func sameFamily(a, b net.IP) bool {
	if a.To4() != nil || b.To4() != nil {
		return a.To4() != nil && b.To4() != nil
	}
	return a.To16() != nil && b.To16() != nil
}

// partitionByFamily splits addrs into those of the first address's family
// (IPv4 or not) and the rest, keeping their order, as package net does for
// Happy Eyeballs.
func partitionByFamily(addrs []*net.TCPAddr) (primaries, fallbacks []*net.TCPAddr) {
	first := addrs[0].IP.To4() != nil
	for _, a := range addrs {
		if (a.IP.To4() != nil) == first {
			primaries = append(primaries, a)
		} else {
			fallbacks = append(fallbacks, a)
		}
	}
	return primaries, fallbacks
}
