//go:build linux

package core

import (
	"errors"
	"fmt"
)

// New creates a ring on the backend opts.Backend names. With BackendAuto it
// takes io_uring and, where io_uring_setup is refused (ENOSYS, or EPERM
// from a seccomp profile or the kernel.io_uring_disabled sysctl), epoll;
// Backend and IOURingError then say which runs and why. A forced backend
// that cannot run makes New fail with the reason.
func New(opts Options) (*Ring, error) {
	switch opts.Backend {
	case BackendIOURing:
		return newIOURing(opts)
	case BackendEpoll:
		r, err := newEpollRing(opts, nil)
		if err != nil {
			return nil, fmt.Errorf("ourio: the epoll backend cannot start: %w", err)
		}
		return r, nil
	case BackendAuto:
		r, err := newIOURing(opts)
		// Only a refusal of io_uring itself falls back: a kernel that
		// lacks a feature asked for (restricted rings) fails as it would
		// with BackendIOURing.
		var unsupported *UnsupportedError
		if err == nil || !errors.As(err, &unsupported) || unsupported.What != "io_uring" {
			return r, err
		}
		opts.attachWQ = 0
		r, eerr := newEpollRing(opts, err)
		if eerr != nil {
			return nil, fmt.Errorf("%w; and the epoll backend cannot start: %v", err, eerr)
		}
		return r, nil
	}
	return nil, fmt.Errorf("ourio: unknown backend %d", opts.Backend)
}

// Backend returns the backend the ring runs on: BackendIOURing or
// BackendEpoll.
func (r *Ring) Backend() Backend { return r.backend }

// IOURingError returns why a ring created with BackendAuto runs on epoll:
// the error io_uring_setup gave, which matches errors.ErrUnsupported and
// unwraps to the errno (EPERM under a seccomp profile that denies
// io_uring). It returns nil for an io_uring ring and for one forced onto
// epoll.
func (r *Ring) IOURingError() error { return r.uringErr }

// supports reports whether the ring can perform op. The epoll backend
// performs every operation itself; io_uring asks the kernel's probe.
func (r *Ring) supports(op Op) bool {
	if r.ep == nil {
		return opSupported(op)
	}
	if plain := zcPlain(op); plain != OpNone {
		op = plain // which the epoll backend performs in its place
	}
	return op != OpNone && op < opInternal && !opDisabled[op]
}

// mailMessage posts a message completion (ud) into an epoll ring from any
// goroutine, unless the ring is closed.
func (r *Ring) mailMessage(ud uint64) error {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	if r.inboxClosed {
		return ErrClosed
	}
	r.ep.notify(cqe{userData: ud})
	return nil
}
