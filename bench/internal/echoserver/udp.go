package echoserver

import (
	"net"
	"net/netip"
	"runtime"

	"github.com/ourio-go/ourio/core"
	"golang.org/x/sys/unix"
)

// UDPGoroutine echoes every datagram pc receives back to its sender, from
// one goroutine, until pc is closed: the loop a UDP service on package net
// or on uringnet runs.
func UDPGoroutine(pc interface {
	ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort([]byte, netip.AddrPort) (int, error)
}, bufSize int) error {
	buf := make([]byte, bufSize)
	for {
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		if _, err := pc.WriteToUDPAddrPort(buf[:n], from); err != nil {
			return err
		}
	}
}

// udpEchoBuffers is the callback UDP server's buffer ring: how many
// datagrams may wait for their echo to be sent.
const udpEchoBuffers = 256

// UDPCallback echoes datagrams on fd, a bound UDP socket, with core's
// callback API on one ring on one thread: a multishot recvmsg into a
// buffer ring, and for each datagram a sendmsg of the same buffer back to
// its sender, the buffer recycled when the send completes.
func UDPCallback(fd, bufSize int) error {
	runtime.LockOSThread()
	r, err := core.New(core.Options{Entries: 512, SingleIssuer: true})
	if err != nil {
		return err
	}
	defer r.Close()
	br, err := r.NewBufRing(1, udpEchoBuffers, core.RecvmsgRoom+bufSize)
	if err != nil {
		return err
	}
	s := &udpEcho{r: r, br: br, fd: fd}
	if err := s.arm(); err != nil {
		return err
	}
	for {
		if err := r.Run(core.Once); err != nil {
			return err
		}
	}
}

type udpEcho struct {
	r  *core.Ring
	br *core.BufRing
	fd int
}

const (
	udpMsgRecv uint16 = iota
	udpMsgSent
)

func (s *udpEcho) arm() error {
	_, err := s.r.RecvmsgMultishot(s.fd, s.br, 0, 0, core.Ctx{Callback: s.done, Msg: udpMsgRecv})
	return err
}

func (s *udpEcho) done(_ core.Runtime, t *core.Task) error {
	if t.Msg == udpMsgSent {
		s.br.Recycle(uint16(core.UserdataAs[int](t)))
		return nil
	}
	if t.Result.Res >= 0 {
		buf, id, ok := t.TakeBuffer()
		if ok {
			from, _ := core.SockaddrToAddrPort(t.RemoteSockaddr())
			to := core.AddrPortToSockaddr(from)
			if _, err := s.r.Sendmsg(s.fd, buf, nil, to, 0, core.Ctx{Callback: s.done, Msg: udpMsgSent, Userdata: int(id)}); err != nil {
				s.br.Recycle(id)
			}
		}
	}
	if !t.More() {
		return s.arm() // the ring ran dry, or the receive ended: again
	}
	return nil
}

// ListenUDPFd opens a UDP socket bound to addr for the callback server and
// returns its descriptor and bound address.
func ListenUDPFd(addr string) (int, netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	family := unix.AF_INET
	if !ap.Addr().Unmap().Is4() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	if err := unix.Bind(fd, core.AddrPortToSockaddr(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))); err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	var raw core.RawSockaddrAny
	core.RawSockaddr(sa, &raw)
	bound, _ := core.SockaddrToAddrPort(&raw)
	return fd, bound, nil
}
