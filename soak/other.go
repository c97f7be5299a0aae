//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The soak command reads the server's resources from /proc and limits its
// descriptors with RLIMIT_NOFILE, which are Linux's, as io_uring is.
func main() {
	fmt.Fprintln(os.Stderr, "soak: needs Linux")
	os.Exit(1)
}
