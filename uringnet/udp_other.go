//go:build !linux

package uringnet

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

// ListenPacket announces on the local network address, like
// net.ListenPacket; off Linux it is net.ListenPacket.
func ListenPacket(network, address string) (net.PacketConn, error) {
	var lc ListenConfig
	return lc.ListenPacket(context.Background(), network, address)
}

// ListenPacket announces on the local network address; off Linux it is
// net.ListenConfig's, unless NoFallback makes it fail with Available's
// error.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	if lc.NoFallback {
		return nil, &net.OpError{Op: "listen", Net: network, Err: errUnavailable}
	}
	std := lc.netListenConfig()
	return std.ListenPacket(ctx, network, address)
}

// UDPConn is a UDP socket on the ring on Linux. Off Linux none is made
// (ListenPacket and Dial return package net's *net.UDPConn); its methods
// exist so that code written for Linux compiles, and fail.
type UDPConn struct {
	_ [0]func()
}

func udpErr(op string) error { return &net.OpError{Op: op, Net: "udp", Err: errUnavailable} }

// Read reads a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) Read(b []byte) (int, error) { return 0, udpErr("read") }

// ReadFrom reads a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) ReadFrom(b []byte) (int, net.Addr, error) { return 0, nil, udpErr("read") }

// ReadFromUDP reads a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) { return 0, nil, udpErr("read") }

// ReadFromUDPAddrPort reads a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, udpErr("read")
}

// ReadMsgUDP reads a datagram and its control data; off Linux it fails as
// UDPConn says.
func (c *UDPConn) ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	return 0, 0, 0, nil, udpErr("read")
}

// ReadMsgUDPAddrPort reads a datagram and its control data; off Linux it
// fails as UDPConn says.
func (c *UDPConn) ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error) {
	return 0, 0, 0, netip.AddrPort{}, udpErr("read")
}

// Write sends a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) Write(b []byte) (int, error) { return 0, udpErr("write") }

// WriteTo sends a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) WriteTo(b []byte, addr net.Addr) (int, error) { return 0, udpErr("write") }

// WriteToUDP sends a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) { return 0, udpErr("write") }

// WriteToUDPAddrPort sends a datagram; off Linux it fails as UDPConn says.
func (c *UDPConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return 0, udpErr("write")
}

// WriteMsgUDP sends a datagram with control data; off Linux it fails as
// UDPConn says.
func (c *UDPConn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	return 0, 0, udpErr("write")
}

// WriteMsgUDPAddrPort sends a datagram with control data; off Linux it
// fails as UDPConn says.
func (c *UDPConn) WriteMsgUDPAddrPort(b, oob []byte, addr netip.AddrPort) (n, oobn int, err error) {
	return 0, 0, udpErr("write")
}

// Close closes the socket; off Linux it fails as UDPConn says.
func (c *UDPConn) Close() error { return udpErr("close") }

// LocalAddr returns the local address: nil off Linux.
func (c *UDPConn) LocalAddr() net.Addr { return nil }

// RemoteAddr returns the peer's address: nil off Linux.
func (c *UDPConn) RemoteAddr() net.Addr { return nil }

// SetDeadline sets both deadlines; off Linux it fails as UDPConn says.
func (c *UDPConn) SetDeadline(t time.Time) error { return udpErr("set") }

// SetReadDeadline sets the read deadline; off Linux it fails as UDPConn
// says.
func (c *UDPConn) SetReadDeadline(t time.Time) error { return udpErr("set") }

// SetWriteDeadline sets the write deadline; off Linux it fails as UDPConn
// says.
func (c *UDPConn) SetWriteDeadline(t time.Time) error { return udpErr("set") }

// SetReadBuffer sets the receive buffer size; off Linux it fails as UDPConn
// says.
func (c *UDPConn) SetReadBuffer(bytes int) error { return udpErr("set") }

// SetWriteBuffer sets the send buffer size; off Linux it fails as UDPConn
// says.
func (c *UDPConn) SetWriteBuffer(bytes int) error { return udpErr("set") }

// SyscallConn returns a raw connection; off Linux it fails as UDPConn says.
func (c *UDPConn) SyscallConn() (syscall.RawConn, error) { return nil, udpErr("raw-control") }

// File returns a duplicate of the socket; off Linux it fails as UDPConn
// says.
func (c *UDPConn) File() (*os.File, error) { return nil, udpErr("file") }

// Fd returns the socket's descriptor: -1 off Linux.
func (c *UDPConn) Fd() int { return -1 }

// ReadBatch reads datagrams on the ring on Linux; off Linux it fails as
// UDPConn says.
func (c *UDPConn) ReadBatch(ms []ipv4.Message, flags int) (int, error) { return 0, udpErr("read") }
