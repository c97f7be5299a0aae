//go:build linux

package uringnet_test

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"testing"
)

// WriteToUnix on each side of a unix and a unixpacket connection, as
// package net answers it: a dialed conn refuses it (ErrWriteToConnected),
// an accepted one wants an address and hands it to the kernel, which
// refuses it on a stream (EISCONN) and ignores it on a seqpacket socket.
func TestWriteToUnixSides(t *testing.T) {
	type toUnix interface {
		WriteToUnix([]byte, *net.UnixAddr) (int, error)
	}
	tmp := regexp.MustCompile(`/tmp/\S+/\d+/`)
	for _, network := range []string{"unix", "unixpacket"} {
		got := map[string]string{}
		for _, im := range impls {
			client, server := pair(t, im, network)
			var out string
			for _, side := range []struct {
				name string
				c    net.Conn
			}{{"dialed", client}, {"accepted", server}} {
				for _, a := range []*net.UnixAddr{nil, {Name: filepath.Join(t.TempDir(), "x"), Net: network}} {
					n, err := side.c.(toUnix).WriteToUnix([]byte("x"), a)
					out += fmt.Sprintf("%s addr=%v: n=%d err=%v\n", side.name, a != nil, n, err)
				}
			}
			got[im.name] = tmp.ReplaceAllString(out, "TMP/")
		}
		if got["uringnet"] != got["net"] {
			t.Errorf("%s: uringnet\n%s\npackage net\n%s", network, got["uringnet"], got["net"])
		}
	}
}
