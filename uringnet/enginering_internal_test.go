//go:build linux

package uringnet

import (
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/ourio-go/ourio/core"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
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

// closeEngine releases a test's engine: the process's engines live as long
// as it does, and have no other way to close.
func closeEngine(e *engine) {
	e.file.Close()
	if e.epFile != nil {
		e.epFile.Close()
	}
	if e.ep >= 0 {
		unix.Close(e.ep)
	}
	e.ring.Close()
}

// TestEnginesWhenLaterRingsFail makes one ring's setup fail after others
// succeeded: uringnet runs on the rings it got, and connections work.
func TestEnginesWhenLaterRingsFail(t *testing.T) {
	require.NoError(t, Available()) // the process's engines exist: swapping them below is safe
	for _, c := range []struct {
		name         string
		fail         int // which ring's setup fails, counting from 1
		wantConns    int
		sharedAccept bool
	}{
		{"second ring", 2, 1, false},
		{"third ring", 3, 2, false},
		{"listeners' ring", 4, 3, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := openRing
			calls := 0
			openRing = func(parent *core.Ring, opts core.Options) (*core.Ring, error) {
				calls++
				if calls == c.fail {
					return nil, syscall.ENOMEM
				}
				return orig(parent, opts)
			}
			conns, accept, err := buildEngines(3)
			openRing = orig
			require.NoError(t, err)
			require.Len(t, conns, c.wantConns)
			require.Equal(t, c.sharedAccept, accept == conns[0])
			defer func() {
				for _, e := range conns {
					closeEngine(e)
				}
				if accept != conns[0] {
					closeEngine(accept)
				}
			}()

			saved, savedAccept := engines, acceptEngine
			engines, acceptEngine = conns, accept
			defer func() { engines, acceptEngine = saved, savedAccept }()
			ln, err := Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			require.Same(t, accept, ln.(*Listener).fd.e)
			used := map[*engine]bool{}
			for i := 0; i < 2*len(conns)+1; i++ {
				cc, err := Dial("tcp", ln.Addr().String())
				require.NoError(t, err)
				sc, err := ln.Accept()
				require.NoError(t, err)
				used[cc.(*Conn).fd.e] = true
				_, err = cc.Write([]byte("ping"))
				require.NoError(t, err)
				buf := make([]byte, 4)
				_, err = io.ReadFull(sc, buf)
				require.NoError(t, err)
				require.Equal(t, "ping", string(buf))
				cc.Close()
				sc.Close()
			}
			for e := range used {
				require.Contains(t, conns, e)
			}
		})
	}

	// The first ring failing is io_uring failing: Available's error.
	orig := openRing
	openRing = func(*core.Ring, core.Options) (*core.Ring, error) { return nil, syscall.EPERM }
	_, _, err := buildEngines(3)
	openRing = orig
	require.ErrorIs(t, err, syscall.EPERM)
}
