package uringnet_test

import (
	"net"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// TestUnixDialNilUnixLocalAddr dials with a LocalAddr that is a nil
// *net.UnixAddr, on which package net panics: uringnet takes it for no
// address, as a nil *net.TCPAddr is for TCP, and dials unbound.
func TestUnixDialNilUnixLocalAddr(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket"} {
		path := t.TempDir() + "/s"
		ln := listen(t, uringImpl, network, path)
		d := uringnet.Dialer{LocalAddr: (*net.UnixAddr)(nil), NoFallback: true, Timeout: 10 * time.Second}
		c, err := d.Dial(network, path)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if got := c.LocalAddr().String(); got != "@" || c.LocalAddr().Network() != network {
			t.Errorf("%s: LocalAddr %s on %s, want @ (unnamed) on %s", network, got, c.LocalAddr().Network(), network)
		}
		c.Close()
		ln.Close()
	}
}
