//go:build linux

package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one run (a scenario on a transport, one round) found.
// The counters are atomic words; mu guards the rest.
type result struct {
	scenario, transport string

	exchanges atomic.Int64 // completed and byte-exact
	aborted   atomic.Int64 // ended early on purpose: cancels, resets, cut bodies

	mu         sync.Mutex
	lat        []time.Duration // of completed exchanges
	maxWait    time.Duration   // longest any client operation took
	violations []string        // the first maxViolations
	nviol      int             // all of them
	notes      []string        // scenario figures for the table's last column
	samples    []sample        // the server's resources, one a second under load
	base, end  sample          // before the load, and once it settled
	settle     time.Duration   // how long descriptors and goroutines took to return

	acceptErrors int64            // fdlimit: the server's Accept errors under the limit
	elapsed      time.Duration    // how long the load ran
	ops          map[string]int64 // chaos: how many of each exchange
}

const maxViolations = 20

// violate records an invariant violation.
func (r *result) violate(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nviol++
	if len(r.violations) < maxViolations {
		r.violations = append(r.violations, fmt.Sprintf(format, args...))
	}
}

// nviolations returns how many violations were recorded.
func (r *result) nviolations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nviol
}

// exchange records a completed, byte-exact exchange that took d.
func (r *result) exchange(d time.Duration) {
	r.exchanges.Add(1)
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
}

// waited records that a client operation took d, complete or not.
func (r *result) waited(d time.Duration) {
	r.mu.Lock()
	r.maxWait = max(r.maxWait, d)
	r.mu.Unlock()
}

func (r *result) note(format string, args ...any) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// summary is the rounds of one scenario on one transport, merged.
type summary struct {
	scenario, transport string
	runs                int
	exchanges, aborted  int64
	lat                 []time.Duration // sorted
	maxWait             time.Duration
	violations          []string
	nviol               int
	notes               []string
	base, end           sample // of the first run; end is the worst
	peak                sample // the highest of each figure
	rssFirst, rssLast   int64  // RSS a quarter into the load and at its end, of the run that grew most
	settle              time.Duration
	acceptErrors        int64
	ops                 map[string]int64
	// rates and p99s are each round's exchanges a second and p99 latency:
	// the ratios compare their medians, as one round on this shared
	// machine can be far off the others.
	rates, p99s []float64
}

func merge(rs []*result) *summary {
	s := &summary{scenario: rs[0].scenario, transport: rs[0].transport}
	growth := int64(-1 << 62)
	for i, r := range rs {
		r.mu.Lock()
		s.runs++
		s.exchanges += r.exchanges.Load()
		s.aborted += r.aborted.Load()
		s.lat = append(s.lat, r.lat...)
		s.maxWait = max(s.maxWait, r.maxWait)
		s.violations = append(s.violations, r.violations...)
		s.nviol += r.nviol
		for _, n := range r.notes {
			s.notes = append(s.notes, fmt.Sprintf("r%d %s", i+1, n))
		}
		if i == 0 {
			s.base = r.base
		}
		s.end.fds = max(s.end.fds, r.end.fds)
		s.end.goroutines = max(s.end.goroutines, r.end.goroutines)
		for _, p := range r.samples {
			s.peak.fds = max(s.peak.fds, p.fds)
			s.peak.threads = max(s.peak.threads, p.threads)
			s.peak.rss = max(s.peak.rss, p.rss)
			s.peak.goroutines = max(s.peak.goroutines, p.goroutines)
		}
		if n := len(r.samples); n > 0 {
			// From a quarter in: what the server sets up as load starts
			// is not growth.
			if g := r.samples[n-1].rss - r.samples[n/4].rss; g > growth {
				growth = g
				s.rssFirst, s.rssLast = r.samples[n/4].rss, r.samples[n-1].rss
			}
		}
		s.settle = max(s.settle, r.settle)
		if r.elapsed > 0 {
			s.rates = append(s.rates, float64(r.exchanges.Load())/r.elapsed.Seconds())
		}
		lat := slices.Clone(r.lat)
		slices.Sort(lat)
		s.p99s = append(s.p99s, float64(quantile(lat, 0.99)))
		s.acceptErrors += r.acceptErrors
		for k, v := range r.ops {
			if s.ops == nil {
				s.ops = make(map[string]int64)
			}
			s.ops[k] += v
		}
		r.mu.Unlock()
	}
	slices.Sort(s.lat)
	return s
}

// quantile returns the q quantile of the sorted durations, 0 if none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

// median returns the median of v, 0 if v is empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}
