//go:build !linux

package core

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNewNeedsLinux checks what a program gets off Linux, where io_uring
// does not exist: New fails with an error matching errors.ErrUnsupported
// that says so, and everything that would open or use a ring fails the
// same way instead of pretending to work.
func TestNewNeedsLinux(t *testing.T) {
	r, err := New(Options{})
	require.Nil(t, r)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.Contains(t, err.Error(), "io_uring needs Linux")
	require.True(t, strings.Contains(err.Error(), runtime.GOOS), err.Error())
	require.False(t, Supported(OpNop))

	_, err = r.InitChild(Options{})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = r.SpawnThread(Options{}, nil)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = r.NewBufRing(1, 8, 64)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.ErrorIs(t, r.Run(UntilDone), errors.ErrUnsupported)
	require.ErrorIs(t, r.Post(Ctx{}), errors.ErrUnsupported)
	_, err = r.Nop(Ctx{})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = r.Timer(time.Second, Ctx{})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.ErrorIs(t, r.Close(), errors.ErrUnsupported)
}
