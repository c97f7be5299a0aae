//go:build linux

package uringnet

import (
	"errors"
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
)

func TestEngineRingsAreRestricted(t *testing.T) {
	e, err := defaultEngine()
	require.NoError(t, err)
	require.True(t, e.ring.Restricted())
	for _, op := range engineOps {
		require.True(t, e.ring.Allowed(op), "%v", op)
	}
	require.False(t, e.ring.Allowed(core.OpOpenat))
	require.False(t, e.ring.Allowed(core.OpSocket))
	ln, err := listenEngine()
	require.NoError(t, err)
	require.True(t, ln.ring.Restricted())
}

func TestEngineRingWithoutRestrictions(t *testing.T) {
	orig := openRing
	t.Cleanup(func() { openRing = orig })
	var tried []bool
	openRing = func(parent *core.Ring, opts core.Options) (*core.Ring, error) {
		tried = append(tried, opts.Restrict != nil)
		if opts.Restrict != nil {
			return nil, &core.UnsupportedError{What: "restricted rings", Errno: syscall.EINVAL}
		}
		return orig(parent, opts)
	}
	r, err := newEngineRing(nil)
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, []bool{true, false}, tried)
	require.False(t, r.Restricted())

	// Any other refusal is the answer: io_uring itself is refused.
	tried = nil
	openRing = func(parent *core.Ring, opts core.Options) (*core.Ring, error) {
		tried = append(tried, opts.Restrict != nil)
		return nil, &core.UnsupportedError{What: "io_uring", Errno: syscall.EPERM}
	}
	_, err = newEngineRing(nil)
	require.True(t, errors.Is(err, syscall.EPERM))
	require.Equal(t, []bool{true}, tried)
}
