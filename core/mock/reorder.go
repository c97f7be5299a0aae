package mock

import "github.com/ourio-go/ourio/core"

// Reverse makes the first pass of the next Run deliver the completions it
// finds ready in reverse submission order, as a kernel does when later
// operations finish first. What the kernel keeps in order stays in order:
// the completions of one operation, and a cancel and the completions it
// causes.
func (m *Ring) Reverse() { m.reverse = true }

// reorder permutes the completions queued from start on, the batch one
// step made ready, when Reverse or the random-fault mode asks for it. The
// batch is split into chains that must keep their order (one task's
// completions, joined with those of a cancel that acts on it); the chains
// are then interleaved, last first for Reverse, at random otherwise.
func (m *Ring) reorder(start int) {
	reverse := m.reverse
	m.reverse = false
	batch := m.cq[start:]
	if len(batch) < 2 || !reverse && !m.faults.inject(FaultReorder, nil) {
		return
	}

	// Union the tasks each completion ties together.
	parent := make(map[*core.Task]*core.Task)
	var find func(t *core.Task) *core.Task
	find = func(t *core.Task) *core.Task {
		p, ok := parent[t]
		if !ok || p == t {
			parent[t] = t
			return t
		}
		r := find(p)
		parent[t] = r
		return r
	}
	for _, c := range batch {
		a := find(c.task)
		if c.link != nil {
			if b := find(c.link); a != b {
				parent[b] = a
			}
		}
	}
	var chains [][]cqe
	index := make(map[*core.Task]int)
	for _, c := range batch {
		root := find(c.task)
		i, ok := index[root]
		if !ok {
			i = len(chains)
			index[root] = i
			chains = append(chains, nil)
		}
		chains[i] = append(chains[i], c)
	}
	if len(chains) < 2 {
		return
	}
	out := batch[:0]
	for len(chains) > 0 {
		i := len(chains) - 1
		if !reverse {
			i = m.faults.rng.IntN(len(chains))
		}
		out = append(out, chains[i][0])
		if chains[i] = chains[i][1:]; len(chains[i]) == 0 {
			chains = append(chains[:i], chains[i+1:]...)
		}
	}
}
