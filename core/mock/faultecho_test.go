package mock_test

import (
	"fmt"
	"testing"

	"github.com/ourio-go/ourio/core/mock"
	"github.com/stretchr/testify/require"
)

// TestEchoServerUnderFaults runs the echo server of
// example_faultecho_test.go through random-fault runs, one subtest per
// seed (go test ./core/mock/ -run 'TestEchoServerUnderFaults/seed=17$'
// replays one), and checks that the runs injected every kind of fault the
// server can meet.
func TestEchoServerUnderFaults(t *testing.T) {
	seen := map[mock.FaultKind]int{}
	var met echoStats
	for seed := range uint64(300) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			m := mock.New(t)
			st, err := echoFaultRun(m, seed)
			require.NoError(t, err, "seed %d", seed)
			for _, f := range m.Injected() {
				seen[f.Kind]++
			}
			met.NoBufs += st.NoBufs
			met.RecvEnded += st.RecvEnded
			met.ShortSends += st.ShortSends
			met.SendErrors += st.SendErrors
			met.CancelRetries += st.CancelRetries
		})
	}
	t.Logf("faults injected: %v", seen)
	t.Logf("the server met %+v", met)
	// The server cancels only multishot operations, whose cancel the
	// kernel never finds running: no cancel race reaches it.
	require.Zero(t, met.CancelRetries, "a cancel of a multishot operation was retried")
	for _, k := range []mock.FaultKind{
		mock.FaultShortRecv, mock.FaultShortSend, mock.FaultReset, mock.FaultNoBufs,
		mock.FaultEndMultishot, mock.FaultReorder,
	} {
		require.NotZero(t, seen[k], "no %v injected", k)
	}
}

// FuzzEchoServerUnderFaults lets the fuzzer choose seeds for the same runs
// (go test ./core/mock/ -run '^$' -fuzz FuzzEchoServerUnderFaults); a
// failing seed it finds is kept under testdata and replayed by go test.
func FuzzEchoServerUnderFaults(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(1) << 63)
	f.Fuzz(func(t *testing.T, seed uint64) {
		_, err := echoFaultRun(mock.New(t), seed)
		require.NoError(t, err)
	})
}
