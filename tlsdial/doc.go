// Package tlsdial connects to a host or address and performs a TLS client
// handshake asynchronously on an Ourio runtime: a callback-API client says
// "connect to example.com:443 over TLS and call me back" without blocking the
// ring's goroutine at any step. Name resolution and the handshake's
// cryptography (Go's crypto/tls) run on helper goroutines that hand their
// results back to the ring with core.Runtime.Post; every socket operation is
// a ring operation.
package tlsdial
