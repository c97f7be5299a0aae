package h3

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/ourio-go/ourio/uringnet"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/ipv4"
)

// Transports are Listen's transports, package net first.
var Transports = []string{"net", "uringnet"}

// Listen opens a UDP socket on addr for quic-go: on package net
// (net.ListenPacket) or on uringnet with no fallback, so that a benchmark of
// uringnet fails rather than silently measure package net. It also returns
// what the conn really is, for the server to print and serve at
// TransportPath.
func Listen(transport, addr string) (net.PacketConn, string, error) {
	var pc net.PacketConn
	var err error
	switch transport {
	case "net":
		pc, err = net.ListenPacket("udp", addr)
	case "uringnet":
		pc, err = (&uringnet.ListenConfig{NoFallback: true}).ListenPacket(context.Background(), "udp", addr)
	default:
		return nil, "", fmt.Errorf("unknown transport %q (want net or uringnet)", transport)
	}
	if err != nil {
		return nil, "", err
	}
	desc, err := Describe(transport, pc)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	return pc, desc, nil
}

// Describe names pc's type and whether quic-go will read it in batches
// through its own ReadBatch (uringnet's, on the ring) or through
// golang.org/x/net's recvmmsg, and fails when pc is not what transport
// promises.
func Describe(transport string, pc net.PacketConn) (string, error) {
	_, batch := pc.(interface {
		ReadBatch([]ipv4.Message, int) (int, error)
	})
	switch c := pc.(type) {
	case *net.UDPConn:
		if transport != "net" {
			return "", fmt.Errorf("transport %s gave a %T", transport, c)
		}
		return "net: *net.UDPConn (quic-go batches reads with recvmmsg through x/net/ipv4)", nil
	case *uringnet.UDPConn:
		if transport != "uringnet" || !batch {
			return "", fmt.Errorf("transport %s gave a %T (ReadBatch: %v)", transport, c, batch)
		}
		return "uringnet: *uringnet.UDPConn on io_uring (quic-go batches reads through its ReadBatch)", nil
	}
	return "", fmt.Errorf("transport %s gave a %T", transport, pc)
}

// Server is the HTTP/3 server bench/h3server runs on pc, with a fresh
// self-signed certificate; transport is what Listen said of pc.
func Server(transport string) (*http3.Server, error) {
	cert, _, err := SelfSigned()
	if err != nil {
		return nil, err
	}
	return &http3.Server{
		Handler:   Handler(transport),
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
	}, nil
}
