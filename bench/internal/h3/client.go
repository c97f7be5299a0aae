package h3

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"

	"github.com/quic-go/quic-go/http3"
)

// Client is one QUIC connection's worth of HTTP/3 client on package net:
// its own UDP socket and quic-go transport (http3.Transport makes both at
// its first request), so that n Clients are n connections, whose requests
// go out as concurrent streams.
type Client struct {
	rt   *http3.Transport
	base string
}

// NewClient is a client of the server at addr (host:port). The server's
// certificate is made afresh at each start, so the client does not verify
// it: the benchmark measures the transport, not the PKI.
func NewClient(addr string) *Client {
	return &Client{
		rt: &http3.Transport{
			TLSClientConfig:    &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
			DisableCompression: true,
		},
		base: "https://" + addr,
	}
}

// Get requests path (with its query) and returns the response once its
// header is in, failing unless it came over HTTP/3 with status 200; the
// caller reads and closes the body.
func (c *Client) Get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ProtoMajor != 3 || resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s %s: %q", path, resp.Proto, resp.Status, msg)
	}
	return resp, nil
}

// Close closes the connection and its socket.
func (c *Client) Close() error { return c.rt.Close() }
