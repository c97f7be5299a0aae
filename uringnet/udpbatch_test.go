//go:build linux

package uringnet_test

import (
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

func batchMessages(n, size, oob int) []ipv4.Message {
	ms := make([]ipv4.Message, n)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, size)}
		ms[i].OOB = make([]byte, oob)
	}
	return ms
}

func udpPairOnRing(t *testing.T) (*uringnet.UDPConn, *uringnet.UDPConn) {
	t.Helper()
	srv := udpListen(t, udpImpls[1], "udp4", "127.0.0.1:0").(*uringnet.UDPConn)
	cl := udpListen(t, udpImpls[1], "udp4", "127.0.0.1:0").(*uringnet.UDPConn)
	return srv, cl
}

func TestUDPReadBatch(t *testing.T) {
	srv, cl := udpPairOnRing(t)
	cl2 := udpListen(t, udpImpls[1], "udp4", "127.0.0.1:0")
	rc, _ := srv.SyscallConn()
	rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1) })
	require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
	const total = 100 // more than the receive's buffers: it ends and is armed again
	want := map[string]string{}
	for i := 0; i < total; i++ {
		from := net.PacketConn(cl)
		if i%3 == 0 {
			from = cl2
		}
		payload := fmt.Sprintf("datagram %03d", i)
		want[payload] = from.LocalAddr().String()
		_, err := from.WriteTo([]byte(payload), srv.LocalAddr())
		require.NoError(t, err)
	}
	ms := batchMessages(8, 1500, 64)
	got := 0
	for got < total {
		n, err := srv.ReadBatch(ms, 0)
		require.NoError(t, err)
		require.Positive(t, n)
		require.LessOrEqual(t, n, len(ms))
		for _, m := range ms[:n] {
			payload := string(m.Buffers[0][:m.N])
			from, ok := want[payload]
			require.True(t, ok, "unexpected or repeated %q", payload)
			delete(want, payload)
			require.Equal(t, from, m.Addr.String())
			require.Zero(t, m.Flags)
			var cm ipv4.ControlMessage
			require.NoError(t, cm.Parse(m.OOB[:m.NN]))
			require.Equal(t, "127.0.0.1", cm.Dst.String())
		}
		got += n
	}
	require.Empty(t, want)

	// Short buffers truncate, and say so.
	_, err := cl.WriteTo(make([]byte, 3000), srv.LocalAddr())
	require.NoError(t, err)
	short := batchMessages(1, 100, 4)
	n, err := srv.ReadBatch(short, 0)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 100, short[0].N)
	require.NotZero(t, short[0].Flags&unix.MSG_TRUNC)
	require.NotZero(t, short[0].Flags&unix.MSG_CTRUNC)

	_, err = srv.ReadBatch(ms, unix.MSG_DONTWAIT)
	require.ErrorIs(t, err, unix.EINVAL)
}

func TestUDPReadBatchDeadlineAndClose(t *testing.T) {
	srv, cl := udpPairOnRing(t)
	ms := batchMessages(4, 64, 0)
	require.NoError(t, srv.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
	start := time.Now()
	_, err := srv.ReadBatch(ms, 0)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	// The receive stays armed across the timeout: a datagram sent now is
	// the next ReadBatch's.
	require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = cl.WriteTo([]byte("after"), srv.LocalAddr())
	require.NoError(t, err)
	n, err := srv.ReadBatch(ms, 0)
	require.NoError(t, err)
	require.Equal(t, "after", string(ms[0].Buffers[0][:ms[0].N]))
	require.Equal(t, 1, n)

	errc := make(chan error, 1)
	go func() {
		_, err := srv.ReadBatch(ms, 0)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, srv.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	_, err = srv.ReadBatch(ms, 0)
	require.ErrorIs(t, err, net.ErrClosed)
}

func TestUDPReadBatchCloseRaces(t *testing.T) {
	if err := startBurners(t, 2, 1); err != nil {
		t.Fatalf("starting CPU burners: %v", err)
	}
	for round := 0; round < 40; round++ {
		srv, cl := udpPairOnRing(t)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			ms := batchMessages(8, 256, 0)
			for {
				if _, err := srv.ReadBatch(ms, 0); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := cl.WriteTo([]byte("x"), srv.LocalAddr()); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(round%4) * time.Millisecond)
		require.NoError(t, srv.Close())
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: ReadBatch did not return after Close", round)
		}
	}
}

func TestUDPReadBatchThenReadFrom(t *testing.T) {
	// Once ReadBatch's receive takes the socket's datagrams, the other
	// reads take them from its queue: in order, none skipped.
	srv, cl := udpPairOnRing(t)
	require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
	for i := 0; i < 10; i++ {
		_, err := cl.WriteTo([]byte(fmt.Sprint(i)), srv.LocalAddr())
		require.NoError(t, err)
	}
	ms := batchMessages(2, 16, 0)
	n, err := srv.ReadBatch(ms, 0)
	require.NoError(t, err)
	next := 0
	for _, m := range ms[:n] {
		require.Equal(t, fmt.Sprint(next), string(m.Buffers[0][:m.N]))
		next++
	}
	buf := make([]byte, 16)
	for ; next < 10; next++ {
		k, from, err := srv.ReadFromUDPAddrPort(buf)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(next), string(buf[:k]))
		require.Equal(t, cl.LocalAddr().String(), from.String())
	}
}

func TestUDPReadBatchCloseFreesThePort(t *testing.T) {
	// When Close returns the kernel holds the socket no longer: its port
	// can be bound again at once, as after package net's Close.
	for i := 0; i < 100; i++ {
		srv, cl := udpPairOnRing(t)
		addr := srv.LocalAddr().String()
		if i%2 == 0 {
			// The receive armed, a datagram read.
			_, err := cl.WriteTo([]byte("x"), srv.LocalAddr())
			require.NoError(t, err)
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, err = srv.ReadBatch(batchMessages(4, 16, 0), 0)
			require.NoError(t, err)
		} else {
			// The receive armed, the ReadBatch timed out.
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(time.Millisecond)))
			_, err := srv.ReadBatch(batchMessages(4, 16, 0), 0)
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		}
		require.NoError(t, srv.Close())
		again, err := net.ListenPacket("udp4", addr)
		require.NoError(t, err, "round %d: the port is still bound after Close", i)
		again.Close()
	}
}
