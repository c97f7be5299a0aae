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
// system call and touches no ring. Only the calling goroutine ever blocks,
// parked until a completion on the ring wakes it. One waiting goroutine per
// ring, the poller, waits for all of them in Go's own netpoller, so no
// thread sleeps outside the scheduler: it submits, in one system call, the
// operations queued while it was awake, runs the completions that arrive,
// and hands the role to the next waiting goroutine when its own operation
// completes.
//
// A Read that has to wait submits nothing until its socket has data. Each
// ring has an epoll instance of its own that watches the ring's sockets
// (edge-triggered) and the ring's fd, and the poller waits for that epoll
// fd. When sockets become readable, the poller submits a receive for every
// Read waiting on one, in one system call, and each completes as it is
// submitted, since its data is there. A receive armed in the kernel before
// its data arrives would have its completion work run on the thread that
// submitted it, which the kernel wakes for it: in a Go process that is often
// a thread asleep in the scheduler, and those wake-ups cost more than the
// system calls the ring saves. A Read whose last receive left the socket
// empty skips the direct attempt, since an arrival brings an event, so a
// keep-alive connection pays no failed recvfrom; and a deadline or Close
// sends a waiting Read away at once, as the kernel holds nothing of it. A
// Read with no other goroutine polling its ring becomes the poller and
// waits for readiness the same way, for the same reason.
// Writes that must wait, Accepts, Dials and splices are operations on the
// ring. Each connection keeps one operation slot and one wake-up per
// direction, so steady-state reads and writes allocate nothing. The states
// a Read passes through, and why no readiness is lost between its attempt
// and its wait, are written down in readstate.go.
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
// # Unix-domain sockets
//
// The unix (stream) and unixpacket (sequenced packet) networks run on the
// ring with package net's addresses, errors and names: abstract names
// ('@' or a leading NUL) of up to 108 bytes, an unnamed client's address
// reading as "@", a Dialer's LocalAddr with an empty name leaving the
// socket unbound. A unixpacket Read returns one message, cut to the buffer
// as in package net, and an empty Write sends an empty message, which the
// peer reads as io.EOF; io.Copy moves such messages one by one rather than
// splicing them together. A unix Listener's Close removes the socket file
// Listen made unless SetUnlinkOnClose(false) says not to.
//
// The unixgram network has a type of its own, UnixgramConn, which Dial and
// ListenPacket return: a Conn's ReadFrom and WriteTo are io.ReaderFrom's
// and io.WriterTo's, and cannot also be a datagram socket's addressed
// reads and writes. Listen("unixgram") is what net.Listen does. On a Conn,
// ReadMsgUnix and WriteMsgUnix pass descriptors and other ancillary data
// as on *net.UnixConn, and ReadFromUnix and WriteToUnix behave as they do
// on its connected sockets.
//
// UDP ("udp", "udp4", "udp6") runs on the ring as UDPConn, from
// ListenPacket, ListenConfig.ListenPacket and Dial.
//
// # Descriptors
//
// Conn.File and Listener.File duplicate a socket, and FileConn and
// FileListener adopt one onto a ring, as their namesakes in package net do,
// so a listener can be handed to another process (os/exec's ExtraFiles)
// for a restart without dropped connections. A listener whose socket is
// shared waits for connections with a poll on the ring, not an accept: a
// waiting accept is an exclusive waiter, and one cancelled as its listener
// closes can swallow the wake-up the other listener on the socket needed.
// One difference: package net's File switches the socket, which it shares
// with its original, to blocking mode when its Fd is called; uringnet's
// leaves it non-blocking.
//
// # When io_uring is unavailable
//
// Available reports whether io_uring can be used and why not. Without it,
// Listen and Dial fall back to package net unless ListenConfig.NoFallback
// or Dialer.NoFallback is set, and FileConn and FileListener hand the file
// to package net.
//
// # Other platforms
//
// io_uring is Linux's, but the package builds on every platform Go
// supports, so a service that imports it compiles on macOS or Windows as
// it does on Linux. There Available returns an error matching
// errors.ErrUnsupported that says io_uring needs Linux; Listen, Dial,
// ListenConfig.Listen, Dialer.Dial and DialContext, FileConn and
// FileListener are package net's, and return its listeners and
// connections (NoFallback makes Listen and Dial fail with Available's
// error instead); Rings is 0 and SetRings has no effect. Conn and Listener
// keep every method, so code that type-asserts to them compiles, but none
// is ever made there: the assertion fails, as it does on Linux for what a
// fallback returns.
//
// # Cost
//
// The callback API in package core is the fast path. Here an operation that
// finishes at once costs one system call, as in package net; a Read that
// waits costs its share of the poller's epoll_wait and io_uring_enter
// calls, the ring's mutex and one goroutine wake-up, with nothing
// allocated; other waiting operations cost their share of io_uring_enter
// calls. net/http keep-alive on uringnet (wrk -c64) makes 1.3 system calls
// per request: the response's sendto, and a share of the poller's
// epoll_wait and of io_uring_enter calls that carry 12 to 14 receives each on
// average; package net makes three, two reads and a write. The epoll fd
// waits in the netpoller as a socket's does in package net: a busy process
// picks up its readiness between goroutines, and only an idle one sleeps in
// epoll_wait. The README and the benchmark command in bench/ give the
// measured ratios to package net.
package uringnet
