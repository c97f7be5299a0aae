// Package netaddr converts socket addresses to the net.Addr values package
// net reports, for uringnet and tlsdial.
package netaddr

import (
	"net"
	"strconv"
)

// Zone is the zone package net names for an IPv6 scope index: the
// interface's name, or the index in decimal when no interface has it, and
// none for 0.
func Zone(index uint32) string {
	if index == 0 {
		return ""
	}
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(index), 10)
}
