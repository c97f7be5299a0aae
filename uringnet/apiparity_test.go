package uringnet

import (
	"testing"

	"github.com/ourio-go/ourio/internal/apiparity"
)

// TestAPIParity checks that every platform CI vets declares the exported
// API linux/amd64 does, with the same signatures, so that a program
// written for Linux compiles on each of them: a name added to a Linux file
// needs its counterpart in the files for other platforms.
func TestAPIParity(t *testing.T) {
	if err := apiparity.Check("."); err != nil {
		t.Fatal(err)
	}
}
