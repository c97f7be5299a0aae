package core

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ourio-go/ourio/internal/apiparity"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestStatxFieldsMatchUnix checks that the Statx and StatxTimestamp other
// platforms declare have the exported fields, names and types, of
// x/sys/unix's Statx_t and StatxTimestamp, which they are on Linux, so
// that code naming the fields compiles everywhere.
func TestStatxFieldsMatchUnix(t *testing.T) {
	other, err := apiparity.Read(".", "darwin", "arm64")
	require.NoError(t, err)
	for name, typ := range map[string]reflect.Type{
		"Statx":          reflect.TypeOf(unix.Statx_t{}),
		"StatxTimestamp": reflect.TypeOf(unix.StatxTimestamp{}),
	} {
		want := map[string]string{}
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i); f.IsExported() {
				want[f.Name] = strings.TrimPrefix(f.Type.String(), "unix.")
			}
		}
		got := map[string]string{}
		for k, v := range other {
			if f, ok := strings.CutPrefix(k, "field "+name+"."); ok {
				got[f] = v
			}
		}
		require.Equal(t, want, got, name)
	}
}
