//go:build linux

package uringnet_test

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/net/nettest"
)

// pipeMaker returns a nettest.MakePipe that connects a client dialed with
// dial to a server accepted from a listener made by listen.
func pipeMaker(t *testing.T, network string, listen func(network, address string) (net.Listener, error), dial func(network, address string) (net.Conn, error)) nettest.MakePipe {
	return func() (c1, c2 net.Conn, stop func(), err error) {
		addr := "127.0.0.1:0"
		if network == "unix" {
			addr = filepath.Join(t.TempDir(), "s")
		}
		ln, err := listen(network, addr)
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := ln.Accept()
			ch <- res{c, err}
		}()
		c1, err = dial(network, ln.Addr().String())
		if err != nil {
			return nil, nil, nil, err
		}
		r := <-ch
		if r.err != nil {
			c1.Close()
			return nil, nil, nil, r.err
		}
		return c1, r.c, func() { c1.Close(); r.c.Close() }, nil
	}
}

func TestNettestConn(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network+"/both", func(t *testing.T) {
			nettest.TestConn(t, pipeMaker(t, network, uringnet.Listen, uringnet.Dial))
		})
		t.Run(network+"/std-client", func(t *testing.T) {
			nettest.TestConn(t, pipeMaker(t, network, uringnet.Listen, net.Dial))
		})
		t.Run(network+"/std-server", func(t *testing.T) {
			nettest.TestConn(t, pipeMaker(t, network, net.Listen, uringnet.Dial))
		})
	}
}
