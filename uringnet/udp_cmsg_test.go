//go:build linux

package uringnet_test

import (
	"encoding/binary"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Control messages pass through ReadMsgUDP and WriteMsgUDP as on package
// net: segmentation offload both ways (UDP_SEGMENT, UDP_GRO) and ECN.

func udpSetsockopt(t *testing.T, c udpConn, level, opt, v int) {
	t.Helper()
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	var serr error
	require.NoError(t, rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }))
	require.NoError(t, serr)
}

func udpCmsg(level, typ int, v []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(v)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = int32(level), int32(typ)
	h.SetLen(unix.CmsgLen(len(v)))
	copy(b[unix.CmsgLen(0):], v)
	return b
}

func TestUDPSegmentationOffload(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			// GSO out: one write of 3,500 bytes in segments of 1,000 is
			// four datagrams to a plain receiver.
			srv, cl := udpPair(t, impl)
			seg := make([]byte, 2)
			binary.NativeEndian.PutUint16(seg, 1000)
			payload := make([]byte, 3500)
			for i := range payload {
				payload[i] = byte(i / 1000)
			}
			n, oobn, err := cl.WriteMsgUDP(payload, udpCmsg(unix.IPPROTO_UDP, unix.UDP_SEGMENT, seg), nil)
			require.NoError(t, err)
			require.Equal(t, 3500, n)
			require.Positive(t, oobn)
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
			buf := make([]byte, 4096)
			for i, want := range []int{1000, 1000, 1000, 500} {
				n, _, err := srv.ReadFrom(buf)
				require.NoError(t, err)
				require.Equal(t, want, n, "segment %d", i)
				require.Equal(t, byte(i), buf[0])
			}

			// GRO in: a receiver that asks for it gets the segments
			// back as one buffer, with their size in a UDP_GRO message.
			srv2, cl2 := udpPair(t, impl)
			udpSetsockopt(t, srv2, unix.IPPROTO_UDP, unix.UDP_GRO, 1)
			_, _, err = cl2.WriteMsgUDP(payload[:4000-500], udpCmsg(unix.IPPROTO_UDP, unix.UDP_SEGMENT, seg), nil)
			require.NoError(t, err)
			require.NoError(t, srv2.SetReadDeadline(time.Now().Add(10*time.Second)))
			oob := make([]byte, 64)
			n, oobn, _, _, err = srv2.ReadMsgUDP(make([]byte, 8192), oob)
			require.NoError(t, err)
			require.Equal(t, 3500, n)
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			require.NoError(t, err)
			var gro int
			for _, m := range msgs {
				if m.Header.Level == unix.IPPROTO_UDP && m.Header.Type == unix.UDP_GRO {
					gro = int(binary.NativeEndian.Uint16(m.Data))
				}
			}
			require.Equal(t, 1000, gro)
		})
	}
}

func TestUDPECN(t *testing.T) {
	for _, impl := range udpImpls {
		t.Run(impl.name, func(t *testing.T) {
			srv, cl := udpPair(t, impl)
			udpSetsockopt(t, srv, unix.IPPROTO_IP, unix.IP_RECVTOS, 1)
			// ECT(0) set per datagram by a control message, and CE by the
			// socket's own TOS.
			n, _, err := cl.WriteMsgUDP([]byte("ect0"), udpCmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{2, 0, 0, 0}), nil)
			require.NoError(t, err)
			require.Equal(t, 4, n)
			udpSetsockopt(t, cl, unix.IPPROTO_IP, unix.IP_TOS, 3)
			_, err = cl.Write([]byte("ce"))
			require.NoError(t, err)
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
			for _, want := range []byte{2, 3} {
				oob := make([]byte, 64)
				_, oobn, _, _, err := srv.ReadMsgUDP(make([]byte, 16), oob)
				require.NoError(t, err)
				msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
				require.NoError(t, err)
				var tos byte = 0xff
				for _, m := range msgs {
					if m.Header.Level == syscall.IPPROTO_IP && m.Header.Type == syscall.IP_TOS {
						tos = m.Data[0]
					}
				}
				require.Equal(t, want, tos&3)
			}
		})
	}
}
