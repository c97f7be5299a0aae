//go:build linux

package uringnet_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/ourio-go/ourio/internal/denyuring"
)

// TestMain installs the seccomp filter of fallback_test.go, before anything
// touches io_uring, when this binary runs as TestFallbackUnderSeccomp's
// child; otherwise it only runs the tests.
func TestMain(m *testing.M) {
	if os.Getenv(seccompChildEnv) == "1" {
		if err := denyuring.Install(true); err != nil {
			fmt.Fprintf(os.Stderr, "cannot install the seccomp filter: %v\n", err)
			os.Exit(seccompUnavailableExit)
		}
	}
	os.Exit(m.Run())
}
