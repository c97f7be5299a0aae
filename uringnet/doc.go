// Package uringnet provides net.Conn and net.Listener on io_uring, so code
// that takes a net.Listener or net.Conn (net/http, crypto/tls, gRPC) runs on
// Ourio's ring unchanged: replace net.Listen with uringnet.Listen and
// net.Dial with uringnet.Dial.
//
// # How it works
//
// Every socket operation is an io_uring operation on a core.Ring shared by
// many connections. There is one ring per usable core by default (SetRings
// changes that), sharing one kernel worker pool; new sockets are spread over
// them round robin, so one busy ring does not cap the process.
// A goroutine that calls Read, Write or Accept submits its operation and
// parks until the completion callback wakes it; only that goroutine blocks.
// Completions are run by a reaper goroutine that waits for the ring's
// pollable descriptor in Go's own netpoller, so no OS thread blocks outside
// the Go scheduler, and by any goroutine that submits while completions are
// waiting. Each connection keeps one operation slot and one channel per
// direction, so steady-state reads and writes allocate nothing.
//
// # Semantics
//
// Package net is the contract: deadlines may be set, moved or cleared while
// a Read or Write is blocked and expire with os.ErrDeadlineExceeded; Close
// unblocks pending operations with net.ErrClosed and waits until the kernel
// has finished with their buffers; errors are *net.OpError values with the
// same Op, Net and addresses and the same syscall.Errno underneath; Write
// returns only when all of b is written or an error says how much was.
//
// # When io_uring is unavailable
//
// Available reports whether io_uring can be used and why not. Without it,
// Listen and Dial fall back to package net unless NoFallback is set.
//
// # Cost
//
// The callback API in package core is the fast path. Per operation this
// package costs one io_uring_enter (the submission, which also reaps what is
// ready), a mutex shared by the ring's users, and one goroutine wake-up from
// the completion callback; nothing is allocated. With many connections it
// runs within a few percent of package net's throughput and CPU per request
// (see the uringnet and net/http benchmarks); a single ping-pong connection
// runs at about half, because each completion passes through the reaper
// goroutine. bench/transportexp measures the alternatives side by side.
package uringnet
