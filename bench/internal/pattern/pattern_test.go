package pattern

import (
	"bytes"
	"testing"
)

// TestBytes checks that the two periods are equal and that the sequence
// does not repeat within one, so that a misplaced piece is seen.
func TestBytes(t *testing.T) {
	p := Bytes()
	if len(p) != 2*Period {
		t.Fatalf("len %d, want %d", len(p), 2*Period)
	}
	if !bytes.Equal(p[:Period], p[Period:]) {
		t.Fatal("the second period differs from the first")
	}
	for _, k := range []int{1, 2, 4, 8, 1 << 10, 1 << 16} {
		if bytes.Equal(p[:Period-k], p[k:Period]) {
			t.Errorf("the sequence repeats every %d bytes", k)
		}
	}
}
