//go:build linux

package uringnet_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// An accepted unix connection's RemoteAddr is its own peer's, whatever the
// peer accepted before it was called: an abstract name, a shorter one,
// then an unnamed client, as package net reports them.
func TestUnixAcceptedRemoteAddrs(t *testing.T) {
	want := []string{"@ourio-peer-abcdefgh", "@xy", "@"}
	for _, im := range []string{"net", "uringnet"} {
		t.Run(im, func(t *testing.T) { acceptedRemoteAddrs(t, im, want) })
	}
}

func acceptedRemoteAddrs(t *testing.T, im string, want []string) {
	path := filepath.Join(t.TempDir(), "s")
	var ln net.Listener
	var err error
	if im == "net" {
		ln, err = net.Listen("unix", path)
	} else {
		ln, err = (&uringnet.ListenConfig{NoFallback: true}).Listen(context.Background(), "unix", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var got []string
	for _, local := range []*net.UnixAddr{{Name: want[0], Net: "unix"}, {Name: want[1], Net: "unix"}, nil} {
		d := net.Dialer{Timeout: 5 * time.Second}
		if local != nil {
			d.LocalAddr = local
		}
		c, err := d.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got = append(got, s.RemoteAddr().String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: accepted RemoteAddrs %q, want %q", im, got, want)
			break
		}
	}

}
