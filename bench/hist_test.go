package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, ns := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 1e6, 1e9, 1e12, 1 << 40} {
		i := histIndex(ns)
		if i <= prev {
			t.Fatalf("index(%d) = %d, not above %d", ns, i, prev)
		}
		prev = i
		low, width := histLow(i)
		if ns < low || ns >= low+width {
			t.Fatalf("%d in bucket %d = [%d, %d)", ns, i, low, low+width)
		}
		if ns >= histSub && float64(width)/float64(low) > 1.0/histSub+1e-9 {
			t.Fatalf("bucket %d too wide: %d at %d", i, width, low)
		}
	}
	if i := histIndex(math.MaxUint64); i != histBuckets-1 {
		t.Fatalf("index(max) = %d", i)
	}
}

func TestHistogramQuantile(t *testing.T) {
	var h, g histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	g.merge(&h)
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := g.quantile(c.q)
		if d := math.Abs(float64(got-c.want)) / float64(c.want); d > 0.02 {
			t.Errorf("quantile(%v) = %v, want about %v", c.q, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { h.record(time.Millisecond) }); n != 0 {
		t.Errorf("record allocates %v times", n)
	}
}
