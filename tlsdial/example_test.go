//go:build linux

package tlsdial_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/tlsdial"
)

// A callback-API client: connect to a host over TLS and be called back on
// the ring's goroutine, which never blocks along the way.
func ExampleConnectTLS() {
	ring, err := core.New(core.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()

	done := false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = tlsdial.ConnectTLS(ctx, ring, "example.com", 443, nil, &tls.Config{NextProtos: []string{"h2", "http/1.1"}},
		func(rt core.Runtime, c *tlsdial.Conn, err error) error {
			done = true
			if err != nil {
				fmt.Println("no connection:", err != nil)
				return nil
			}
			fmt.Println("negotiated", c.ConnectionState().NegotiatedProtocol)
			return c.CloseAsync(func(core.Runtime, *tlsdial.Conn, error) error { return nil })
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	for !done {
		if err := ring.Run(core.Once); err != nil {
			fmt.Println(err)
			return
		}
	}
}

// A goroutine-style client: Dial returns a *tls.Conn over a uringnet
// connection.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := tlsdial.Dial(ctx, "tcp", "example.com:443", &tls.Config{})
	if err != nil {
		fmt.Println("dial failed:", err != nil)
		return
	}
	defer conn.Close()
	fmt.Println("TLS version", tls.VersionName(conn.ConnectionState().Version))
}
