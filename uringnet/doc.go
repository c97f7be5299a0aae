// Package uringnet provides net.Conn and net.Listener on io_uring, so code
// that takes a net.Listener or net.Conn (net/http, crypto/tls, gRPC) runs on
// Ourio's ring unchanged: replace net.Listen with uringnet.Listen and
// net.Dial with uringnet.Dial.
//
// # How it works
//
// Socket operations that wait run on a core.Ring shared by many
// connections. There is one ring per usable core by default (SetRings
// changes that), sharing one kernel worker pool; new sockets are spread over
// them round robin, so one busy ring does not cap the process.
// A Read or Write first tries the socket without waiting; one that can
// finish at once (data already queued, room in the send buffer) costs one
// system call and touches no ring. One that has to wait, and every Accept
// and Dial, becomes an io_uring operation, and the calling goroutine parks
// until its completion wakes it; only that goroutine blocks. One waiting
// goroutine per ring, the poller, waits for all of them in Go's own
// netpoller, for the ring's fd to poll readable, so no thread sleeps
// outside the scheduler: it submits, in one system call, the operations
// queued while it was awake, runs the completions that arrive, and hands
// the role to the next waiting goroutine when its own operation completes.
// The kernel runs a waiting operation's completion work (the receive
// itself, once data arrives) on the thread that submitted it: the thread
// that last ran the poller, or, for an operation queued while the poller
// was parked, the goroutine's own.
//
// A Read of at most 4 KiB that has to wait while another goroutine polls
// arms a multishot receive, which stays armed across Reads: the kernel
// receives each arrival into a buffer of the ring's provided buffer ring,
// and Reads copy from the connection's queue of them, so a
// request-response connection costs no receive system call and no
// submission per message. Each arming takes at most 32 KiB, so a reader
// that falls behind leaves the rest in the socket and TCP pushes back on
// its sender. A Read that would poll for itself receives into its own
// buffer instead, so a lone connection's completion work runs on the thread
// that is about to wait for it. A Read of at most 128 bytes that receives
// on its own does so into a buffer of the connection's, so that a deadline
// interrupting it, as net/http does to its background read after each
// request, needs no cancellation in the kernel: the Read returns and its
// receive stays armed for the next Read. Each connection keeps one
// operation slot and one channel per direction, so steady-state reads and
// writes allocate nothing.
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
// The callback API in package core is the fast path. Here an operation that
// finishes at once costs one system call, as in package net; one that waits
// costs its share of the poller's io_uring_enter calls, the ring's mutex,
// and one goroutine wake-up, with nothing allocated; a Read served by a
// multishot receive costs no system call, a copy out of the provided
// buffer and the wake-up. net/http keep-alive on uringnet makes one
// system call per request, the response's sendto, where package net makes
// three. The ring's fd waits in
// the netpoller as a socket's does in package net: a busy process picks up
// its readiness between goroutines, and only an idle one sleeps in
// epoll_wait. The README and
// go run ./bench give the measured ratios to package net.
package uringnet
