//go:build linux

package uringnet

import (
	"errors"
	"syscall"

	"github.com/ourio-go/ourio/core"
)

// engineOps are the operations uringnet submits. Its rings are restricted
// to them (core.Options.Restrict), so that nothing which reaches a ring,
// by a bug of ours or by memory corruption elsewhere in the process, can
// make it open files or sockets, or message other rings. The kernel checks
// one bit per submission: go run ./bench -against with the build before
// restrictions beside this one showed no cost above the machine's noise.
var engineOps = []core.Op{core.OpRecv, core.OpSend, core.OpAccept, core.OpConnect, core.OpPoll, core.OpSplice, core.OpRecvmsg, core.OpSendmsg}

// newEngineRing creates an engine's ring, sharing parent's worker pool if
// parent is not nil, restricted to engineOps where the kernel can restrict
// rings (Linux 5.10).
func newEngineRing(parent *core.Ring) (*core.Ring, error) {
	// uringnet is the io_uring transport: where io_uring is refused it falls
	// back to package net, not to core's epoll backend.
	opts := core.Options{Entries: 1024, CQEntries: 8192, Restrict: engineOps, Backend: core.BackendIOURing}
	r, err := openRing(parent, opts)
	if err != nil && errors.Is(err, errors.ErrUnsupported) && errors.Is(err, syscall.EINVAL) {
		// The kernel cannot start a ring disabled; io_uring itself works.
		opts.Restrict = nil
		r, err = openRing(parent, opts)
	}
	return r, err
}

// openRing is a variable so that tests can play a kernel that cannot
// restrict rings.
var openRing = func(parent *core.Ring, opts core.Options) (*core.Ring, error) {
	if parent != nil {
		return parent.InitChild(opts)
	}
	return core.New(opts)
}
