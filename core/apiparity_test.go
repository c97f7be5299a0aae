package core

import (
	"testing"

	"github.com/ourio-go/ourio/internal/apiparity"
	"github.com/stretchr/testify/require"
)

// TestAPIParity checks that every platform CI vets declares the exported
// API linux/amd64 does, with the same signatures, so that a program
// written for Linux compiles on each of them: a name added to a Linux file
// needs its counterpart in the files for other platforms.
func TestAPIParity(t *testing.T) {
	linux, err := apiparity.Read(".", "linux", "amd64")
	require.NoError(t, err)
	require.NotEmpty(t, linux)
	for _, tg := range apiparity.Targets {
		other, err := apiparity.Read(".", tg[0], tg[1])
		require.NoError(t, err)
		require.Empty(t, apiparity.Missing(linux, other), "%s/%s lacks what linux/amd64 declares", tg[0], tg[1])
	}
}
