//go:build linux

package uringnet_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRaceOrderWriteThenRead checks that a Write and a Read on the same
// connection are ordered for the race detector as package net orders them:
// a goroutine stores a value and then writes a ping, another, reading the
// peer's answer, then loads the value. Package net's descriptor lock is one
// word for both directions, so the Write's end happens before the Read's,
// and programs (grpc-go's GracefulStop among them) rely on it. Without that
// edge the race detector reports the load, and fails the test.
func TestRaceOrderWriteThenRead(t *testing.T) {
	if !raceEnabled {
		t.Skip("only the race detector can tell: run with -race")
	}
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		go func() {
			b := make([]byte, 1)
			for {
				if _, err := server.Read(b); err != nil {
					return
				}
				// Answer late, so that the Write has long returned.
				time.Sleep(5 * time.Millisecond)
				if _, err := server.Write(b); err != nil {
					return
				}
			}
		}()
		for round := 0; round < 20; round++ {
			var shared int // written before the ping, read after its answer
			answered := make(chan error, 1)
			go func() {
				b := make([]byte, 1)
				_, err := io.ReadFull(client, b)
				_ = shared
				answered <- err
			}()
			time.Sleep(time.Millisecond) // the Read waits first
			shared = round
			_, err := client.Write([]byte{byte(round)})
			require.NoError(t, err)
			require.NoError(t, <-answered)
		}
	})
}

// TestRaceOrderCloseWriteThenEOF checks the same edge for CloseWrite: a
// goroutine stores a value and half-closes, the peer answers the end of
// stream by closing, and a Read already waiting sees EOF and loads the
// value. Package net orders CloseWrite through its descriptor lock too.
func TestRaceOrderCloseWriteThenEOF(t *testing.T) {
	if !raceEnabled {
		t.Skip("only the race detector can tell: run with -race")
	}
	forBoth(t, func(t *testing.T, im impl) {
		client, server := pair(t, im, "tcp")
		go func() {
			io.Copy(io.Discard, server)
			time.Sleep(5 * time.Millisecond) // the half-close has long returned
			server.Close()
		}()
		var shared int
		ended := make(chan error, 1)
		go func() {
			_, err := client.Read(make([]byte, 1))
			_ = shared
			ended <- err
		}()
		time.Sleep(time.Millisecond) // the Read waits first
		shared = 1
		require.NoError(t, client.(interface{ CloseWrite() error }).CloseWrite())
		require.ErrorIs(t, <-ended, io.EOF)
	})
}
