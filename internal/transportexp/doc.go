// Package transportexp holds measured experiments for the goroutine
// transport that uringnet will use: how a goroutine that calls Read or Write
// should reach an io_uring ring and be woken when its completion arrives.
// Nothing here is an API; each design is a test-only net.Conn stand-in, and
// BenchmarkProtoEcho runs all of them beside Go's standard net in one run
// (goroutine-per-connection echo, 64-byte ping-pong, std net clients):
//
//	go test -run x -bench ProtoEcho -benchtime 2s -count 3 ./internal/transportexp
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
//
// What the numbers showed (2-core VM, Linux 6.18, Go 1.26, medians of two
// runs; per message, client and server in one process): std net 19 µs at
// one connection and 11.9 µs at 64, with 0.004 context switches per message;
// every io_uring design here 2x slower, with 0.3 to 3 context switches per
// message. Go's scheduler keeps std net's ping-pong on spinning threads that
// poll epoll without sleeping; io_uring completion work instead lands on a
// particular thread (the submitter's task_work, or the one issuer of a
// DEFER_TASKRUN ring) and that thread has to be woken. perf shows the shared
// ring also contending on the socket lock: the task_work recv runs on another
// CPU while the sender's softirq still holds it. A transport that wins must
// keep completion work off sleeping threads.
package transportexp
