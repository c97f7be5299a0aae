// Package core is Ourio's io_uring runtime: a Ring owns one io_uring
// instance, and work is a Task that the ring allocates, hands to the kernel,
// completes with one callback signature, and recycles.
//
// # The callback API
//
// Every submission takes a Ctx (a Callback, the caller's Userdata and a
// 16-bit Msg) and returns a Handle. When the operation completes, Run calls
//
//	func(rt core.Runtime, t *core.Task) error
//
// with t.Result holding the outcome (t.Err, t.N, t.Fd, t.More) and
// UserdataAs / MsgAs turning the userdata and message back into the caller's
// types. One callback can therefore drive a whole state machine, switching on
// the message. A Handle cancels its operation or gives it a deadline, and
// stays safe after the task is recycled: the kernel carries the task's pool
// index and generation, so a stale cancel or completion never reaches a later
// use of the same task.
//
// Runtime is the interface *Ring implements; package core/mock implements it
// too, so application code written against Runtime is unit-tested with
// scripted results and no kernel.
//
// # Memory
//
// Every buffer, iovec, sockaddr, path and timespec the kernel reads or writes
// is held by the task until the operation's final completion, including after
// a cancel: Go's heap does not move objects, and the task keeps them
// reachable. A zero-copy send's final completion is its notification, not
// its result: the kernel may send from the buffer until then, so the caller
// must leave it unchanged too. Tasks live in fixed chunks, so steady-state
// operation allocates nothing. Close cancels what is in flight and waits for
// the kernel to finish with it before releasing anything.
//
// # Threading
//
// A Ring is owned by one goroutine at a time: that goroutine submits and
// calls Run, and callbacks run on it. Run detects a second concurrent Run
// (ErrBusy). A ring created with Options.SingleIssuer must also stay on one
// OS thread (runtime.LockOSThread); the kernel then defers completion work
// to that thread, which is the cheapest mode, and refuses other threads
// (ErrWrongThread). Rings talk to each other only through MsgRing, which
// passes a task to another ring whose Run then calls it; SpawnThread starts a
// child ring on its own locked thread that is reached that way. PollableFd
// lets another event loop, such as Go's netpoller, wait for a ring's
// completions.
//
// # Kernel
//
// Setup flags are tried newest first and dropped group by group on kernels
// that reject them (SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN, SUBMIT_ALL,
// NO_SQARRAY); operations are probed once with IORING_REGISTER_PROBE and an
// operation the kernel lacks returns an error matching errors.ErrUnsupported.
// The ring itself needs Linux 5.6 (single mmap, probe, CQ size); the full
// operation set needs 6.0 (multishot receive, provided buffer rings, socket,
// msg_ring, cancel by fd); zero-copy sends run as the kernel's from 6.0
// (SendZC) and 6.1 (SendmsgZC), and as plain sends before. Tests run on the
// real kernel, including the fallback paths.
//
// # Backends
//
// On Linux a Ring runs on io_uring or on epoll (Options.Backend). New takes
// io_uring where the kernel allows it and epoll where io_uring_setup is
// refused: Docker's and containerd's default seccomp profiles, the
// kernel.io_uring_disabled sysctl, kernels without io_uring. Ring.Backend
// says which one runs and Ring.IOURingError why io_uring was refused.
//
// The epoll backend keeps the Ring's submission and completion queues in Go
// memory and performs each submitted entry itself, with nonblocking system
// calls; an operation that would block waits on its descriptor's
// edge-triggered epoll registration and is attempted again when it becomes
// ready. Timers and deadlines run on a heap behind one timerfd, MsgRing and
// Post wake the ring through an eventfd, and what epoll cannot wait for
// (openat, statx, reads and writes of regular files) runs on a small shared
// worker pool whose results complete on the ring's goroutine. The callback
// API is the same code on both: the same Task, Handle, Msg, Userdata,
// completion flags (multishot operations and zero-copy sends report More,
// receives into a BufRing take its buffers as the kernel would and end with
// ENOBUFS when it is empty, a zero-copy send's notification follows its
// result) and errors; zero-copy sends copy there, as Ring.ZeroCopy says.
// What differs is where the work happens: on epoll nothing completes
// while the ring's goroutine is outside Run or Submit (PollableFd, the
// epoll descriptor, and Ready say when there is work for Run); accept, connect and splice put their descriptors in nonblocking
// mode, as package net does; an operation on a descriptor number that was
// closed outside the ring (not with CloseFd) and reused by a descriptor
// made outside it may wait up to 100ms before the ring notices that epoll
// dropped the old registration and watches the new descriptor (numbers
// handed out by the ring's own accept, socket and openat are renewed at
// once) — but not while an operation still waits on the closed one: close
// a descriptor with an operation in flight through the ring (CloseFd) or
// after cancelling it, as on io_uring, where the waiting operation would
// keep the old file open; and work on the pool cannot be cancelled once
// started (EALREADY), like io_uring's worker threads, except that Close
// leaves an openat that blocks to its worker.
//
// # Platforms
//
// The package builds on every platform Go supports, and everything but the
// Ring works everywhere: Task, Handle, Runtime, BufRing and the errors, on
// which package core/mock runs callback code's unit tests with no kernel.
// io_uring is a Linux interface, so off Linux New fails with an error
// matching errors.ErrUnsupported that says io_uring needs Linux; Ring and
// Thread keep every method there, so code written for Linux compiles
// unchanged, and each returns that error.
//
// The API's system types are aliases, so Linux code keeps using
// x/sys/unix's: Sockaddr and RawSockaddrAny are x/sys/unix's on Unix
// systems and package syscall's on Windows, where x/sys/unix does not
// build; Statx is unix.Statx_t on Linux and a struct of the same fields
// elsewhere, where x/sys/unix has no statx. AddrPortToSockaddr builds a
// Sockaddr from a netip.AddrPort the same way on every platform. Errors are
// the platform's syscall.Errno values, and the flags, events and modes the
// operations take are Linux's.
package core
