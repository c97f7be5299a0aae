//go:build !linux

package uringnet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
)

// TestAvailableOffLinux checks that Available says why io_uring cannot be
// used here, in an error matching errors.ErrUnsupported.
func TestAvailableOffLinux(t *testing.T) {
	err := uringnet.Available()
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.Contains(t, err.Error(), "io_uring needs Linux")
	require.Zero(t, uringnet.Rings())
	require.Error(t, uringnet.SetRings(0))
}

// TestListenDialArePackageNets checks that off Linux a listener and a
// connection are package net's, and carry bytes.
func TestListenDialArePackageNets(t *testing.T) {
	ln, err := uringnet.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	require.IsType(t, (*net.TCPListener)(nil), ln)
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(c, c)
		done <- err
	}()
	c, err := uringnet.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	require.IsType(t, (*net.TCPConn)(nil), c)
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, "ping", string(b))
	require.NoError(t, c.Close())
	require.NoError(t, <-done)
}

// TestNoFallbackOffLinux checks that NoFallback refuses package net with
// Available's error, inside package net's error type.
func TestNoFallbackOffLinux(t *testing.T) {
	lc := uringnet.ListenConfig{NoFallback: true}
	_, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "listen", oe.Op)
	require.ErrorIs(t, err, errors.ErrUnsupported)

	d := uringnet.Dialer{NoFallback: true}
	_, err = d.Dial("tcp", "127.0.0.1:1")
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "dial", oe.Op)
	require.ErrorIs(t, err, errors.ErrUnsupported)

	_, err = uringnet.FileConn(nil)
	require.ErrorAs(t, err, &oe)
	_, err = uringnet.FileListener(nil)
	require.ErrorAs(t, err, &oe)
}
