// Package transportexp holds measured experiments for the goroutine
// transport that uringnet will use: how a goroutine that calls Read or Write
// should reach an io_uring ring and be woken when its completion arrives.
// Nothing here is an API; each design is a test-only net.Conn stand-in, and
// BenchmarkProtoEcho runs all of them beside Go's standard net in one run
// (goroutine-per-connection echo, 64-byte ping-pong, std net clients):
//
//	go test -run x -bench ProtoEcho -benchtime 2s -count 3 ./bench/transportexp
//
// The designs:
//   - ring: one shared ring, every Read and Write submits a recv or send
//     under a mutex and parks on a per-conn channel; a reaper goroutine
//     waits for the ring's fd in Go's netpoller and runs completions.
//   - multishot: the same, but reads come from a multishot receive into a
//     provided buffer ring, armed once per connection.
//   - msdirect: multishot reads, writes straight to write(2).
//   - thread: one locked OS thread owns a SINGLE_ISSUER|DEFER_TASKRUN ring
//     and runs every completion; goroutines never enter the ring (multishot
//     reads, write(2) writes).
package transportexp
