package main

import (
	"math/bits"
	"time"
)

// histogram records durations in log-linear buckets: exact below 64 ns, then
// 64 buckets per power of two (at most 1/64 relative error) up to 2^41 ns,
// about 36 minutes. It is a fixed array, so recording allocates nothing.
type histogram struct {
	counts [histBuckets]uint64
	total  uint64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histMaxExp  = 41
	histBuckets = (histMaxExp - histSubBits + 1) * histSub
)

func histIndex(ns uint64) int {
	if ns < histSub {
		return int(ns)
	}
	exp := bits.Len64(ns) - 1 // ns has exp+1 bits, exp >= histSubBits
	if exp >= histMaxExp {
		return histBuckets - 1
	}
	sub := (ns >> (exp - histSubBits)) & (histSub - 1)
	return (exp-histSubBits+1)*histSub + int(sub)
}

// histLow returns the smallest duration in bucket i, and the bucket's width.
func histLow(i int) (low, width uint64) {
	if i < histSub {
		return uint64(i), 1
	}
	exp := i/histSub - 1 + histSubBits
	sub := uint64(i % histSub)
	width = uint64(1) << (exp - histSubBits)
	return (histSub + sub) * width, width
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(uint64(d))]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.total += o.total
}

// quantile returns the duration below which the fraction q of the recorded
// values lie, as the middle of the bucket that holds it; 0 if empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q * float64(h.total))
	if rank >= h.total {
		rank = h.total - 1
	}
	var seen uint64
	for i, n := range h.counts {
		if seen += n; seen > rank {
			low, width := histLow(i)
			return time.Duration(low + width/2)
		}
	}
	return 0 // unreachable: the counts sum to total
}
