package uringnet

import (
	"context"
	"net"
	"net/netip"
)

// resolveTCP returns the addresses a TCP dial tries, in order, as package
// net computes them: the host resolved for network's family (an
// unspecified host meaning the local system, :: standing for 0.0.0.0 too,
// go.dev/issue/18806), then filtered by the family of the Dialer's
// LocalAddr unless either side is unspecified. Its errors are net's, to be
// wrapped in an OpError with no addresses.
func (d *Dialer) resolveTCP(ctx context.Context, network, address string) ([]*net.TCPAddr, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	resolver := d.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	port, err := resolver.LookupPort(ctx, network, portStr)
	if err != nil {
		return nil, err
	}
	var addrs []*net.TCPAddr
	if host == "" {
		// No IP at all: net dials it on an IPv4 socket for tcp and tcp4,
		// and reports it as ":port".
		addrs = []*net.TCPAddr{{Port: port}}
	} else {
		// LookupIP is the lookup a dial does, literal addresses, the
		// family filter and its "no suitable address" error included;
		// only a literal address's zone is lost on the way.
		ipNet := "ip" + network[len("tcp"):]
		ips, err := resolver.LookupIP(ctx, ipNet, host)
		if err != nil {
			return nil, err
		}
		zone := ""
		if a, err := netip.ParseAddr(host); err == nil {
			zone = a.Zone()
		}
		for _, ip := range ips {
			addrs = append(addrs, &net.TCPAddr{IP: ip, Port: port, Zone: zone})
		}
	}
	if d.LocalAddr == nil {
		return addrs, nil
	}
	return filterByLocal(addrs, d.LocalAddr)
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
