package mock

import (
	"fmt"
	"math/rand/v2"

	"github.com/ourio-go/ourio/core"
)

// Faults configures the random-fault mode (SetFaults): the probability,
// from 0 to 1, with which each decision point injects each fault. The
// draws come from a generator seeded with Seed, and the mock itself is
// deterministic, so the same seed with the same application code and
// script gives the same run, fault for fault: a property test that loops
// over seeds logs the seed of a failing run to replay it.
//
// Faults change what happens to the scripted replies, never the bytes:
// data still arrives in order and whole unless the connection is reset.
type Faults struct {
	// Seed seeds the generator.
	Seed uint64
	// ShortRecv is the chance that a receive or read with data to
	// deliver takes fewer bytes than it could (at least 1), leaving the
	// rest for the next one.
	ShortRecv float64
	// ShortSend is the chance that a send or write with no reply
	// scripted completes short (at least 1 byte).
	ShortSend float64
	// Reset is the chance that the peer resets the connection instead of
	// delivering the next scripted reply to a Recv or RecvMultishot, or
	// when a Send with no reply scripted runs: the operation fails with
	// ECONNRESET, the rest of the stream scripted for the descriptor's
	// receives is lost (up to and including the EOF, error or ConnReset
	// that ends it; what follows is for a later connection with the same
	// number), and the descriptor then behaves as after ConnReset.
	Reset float64
	// NoBufs is the chance that a RecvMultishot with data to deliver
	// ends with ENOBUFS instead, as when its buffer ring runs dry.
	NoBufs float64
	// EndMultishot is the chance that a successful multishot completion
	// comes without core.CQEFlagMore, ending the operation (see Final).
	EndMultishot float64
	// Reorder is the chance that the completions one pass of Run finds
	// ready are delivered in a random order instead of submission order
	// (see Reverse).
	Reorder float64
	// CancelRace is the chance that a cancel by handle that finds a
	// single-shot operation in flight does not win: it ends CancelRunning
	// or CancelTooLate, with equal chance. (A multishot operation's cancel
	// always wins, as in the kernel, which takes it off its wait list at
	// once.) Either way
	// the operation completes only with its own result, so a test that
	// turns this on must give each operation it cancels one in the end (a
	// reply or a deadline), as the kernel would.
	CancelRace float64
}

// FaultKind names a fault the random-fault mode injected.
type FaultKind uint8

const (
	// FaultShortRecv is a short receive or read.
	FaultShortRecv FaultKind = iota + 1
	// FaultShortSend is a short send or write.
	FaultShortSend
	// FaultReset is a connection reset by the peer.
	FaultReset
	// FaultNoBufs is a multishot receive ended with ENOBUFS.
	FaultNoBufs
	// FaultEndMultishot is a multishot completion without CQEFlagMore.
	FaultEndMultishot
	// FaultReorder is a batch of completions delivered out of order.
	FaultReorder
	// FaultCancelTooLate is a cancel that ended CancelTooLate.
	FaultCancelTooLate
	// FaultCancelRunning is a cancel that ended CancelRunning.
	FaultCancelRunning
)

var faultNames = [...]string{
	FaultShortRecv:     "short receive",
	FaultShortSend:     "short send",
	FaultReset:         "connection reset",
	FaultNoBufs:        "ENOBUFS",
	FaultEndMultishot:  "multishot ended",
	FaultReorder:       "completions reordered",
	FaultCancelTooLate: "cancel too late",
	FaultCancelRunning: "cancel of running operation",
}

// String describes the kind, as in "short receive".
func (k FaultKind) String() string {
	if int(k) < len(faultNames) && faultNames[k] != "" {
		return faultNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", uint8(k))
}

// Fault is one fault the random-fault mode injected: its kind and the
// operation it hit (for FaultReorder, Op is 0 and Fd -1).
type Fault struct {
	Kind FaultKind
	Op   core.Op
	Fd   int
}

// String describes the fault, as in "short receive on recv fd 5".
func (f Fault) String() string {
	if f.Kind == FaultReorder {
		return f.Kind.String()
	}
	return fmt.Sprintf("%v on %v fd %d", f.Kind, f.Op, f.Fd)
}

// faultState is the random-fault mode of one Ring, owned like the rest of
// the Ring by the goroutine using it.
type faultState struct {
	cfg      Faults
	rng      *rand.Rand
	injected []Fault
}

// SetFaults turns on the random-fault mode with f, seeding its generator
// with f.Seed and clearing the record Injected returns; the zero Faults
// turns it off. It fails if a probability is outside 0 to 1. Scripted
// replies and outcomes (Chunk, Final, ConnReset, ScriptCancel, Reverse)
// keep working beside it and are not recorded.
func (m *Ring) SetFaults(f Faults) error {
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"ShortRecv", f.ShortRecv}, {"ShortSend", f.ShortSend}, {"Reset", f.Reset},
		{"NoBufs", f.NoBufs}, {"EndMultishot", f.EndMultishot}, {"Reorder", f.Reorder},
		{"CancelRace", f.CancelRace},
	} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("mock: SetFaults: %s is %v, not a probability from 0 to 1", p.name, p.v)
		}
	}
	if f == (Faults{Seed: f.Seed}) {
		m.faults = nil
		return nil
	}
	m.faults = &faultState{cfg: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))}
	return nil
}

// Injected returns the faults the random-fault mode has injected since
// SetFaults, in order.
func (m *Ring) Injected() []Fault {
	if m.faults == nil {
		return nil
	}
	return append([]Fault(nil), m.faults.injected...)
}

// chance returns the configured probability of kind.
func (f *faultState) chance(kind FaultKind) float64 {
	switch kind {
	case FaultShortRecv:
		return f.cfg.ShortRecv
	case FaultShortSend:
		return f.cfg.ShortSend
	case FaultReset:
		return f.cfg.Reset
	case FaultNoBufs:
		return f.cfg.NoBufs
	case FaultEndMultishot:
		return f.cfg.EndMultishot
	case FaultReorder:
		return f.cfg.Reorder
	}
	return f.cfg.CancelRace
}

// inject draws whether to inject kind into o (nil for a batch) and records
// it if so. Nothing is drawn for a fault whose chance is 0, so adding a
// fault kind to a configuration changes only the runs that use it.
func (f *faultState) inject(kind FaultKind, o *op) bool {
	if f == nil {
		return false
	}
	p := f.chance(kind)
	if p <= 0 || f.rng.Float64() >= p {
		return false
	}
	f.record(kind, o)
	return true
}

func (f *faultState) record(kind FaultKind, o *op) {
	fault := Fault{Kind: kind, Fd: -1}
	if o != nil {
		fault.Op, fault.Fd = o.kind, o.fd
	}
	f.injected = append(f.injected, fault)
}

// shorten returns a count from 1 to n-1 for a short transfer of n > 1.
func (f *faultState) shorten(n int) int { return 1 + f.rng.IntN(n-1) }

// cancelRace draws the outcome of a cancel of target in flight.
func (f *faultState) cancelRace(target *op) CancelOutcome {
	if f == nil || f.cfg.CancelRace <= 0 || f.rng.Float64() >= f.cfg.CancelRace {
		return CancelWins
	}
	// A multishot operation ends only by its final completion, so a
	// cancel cannot come after it; and the kernel takes an armed
	// multishot receive, accept or poll off its wait list at once, so
	// the cancel wins.
	if target.multishot {
		return CancelWins
	}
	if f.rng.IntN(2) == 0 {
		f.record(FaultCancelRunning, target)
		return CancelRunning
	}
	f.record(FaultCancelTooLate, target)
	return CancelTooLate
}
