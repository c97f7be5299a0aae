package core

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSlots(t *testing.T) {
	var s slots[string]
	a, b := s.put("a"), s.put("b")
	require.NotEqual(t, a, b)
	v, ok := s.take(a)
	require.True(t, ok)
	require.Equal(t, "a", v)
	_, ok = s.take(a)
	require.False(t, ok, "an id is taken once")
	_, ok = s.take(-1)
	require.False(t, ok)
	_, ok = s.take(99)
	require.False(t, ok)
	require.Equal(t, a, s.put("c"), "a freed id is reused")
	require.ElementsMatch(t, []string{"b", "c"}, s.drain())
	require.Empty(t, s.drain())
}
