//go:build linux

package tlsdial

import (
	"testing"

	"github.com/ourio-go/ourio/core"
)

// testBackend is the backend cxRing and hsNewRing create rings on;
// TestBackends sets it while it runs the callback-style tests.
var testBackend = core.BackendAuto

// backendSuite is every test of this package that drives a core.Ring with
// callbacks: TestBackends runs each on both backends, so a difference
// between them fails a test.
var backendSuite = []struct {
	name string
	fn   func(*testing.T)
}{
	{"ConnectLoopback", TestConnectLoopback},
	{"ConnectToAddr", TestConnectToAddr},
	{"ConnectRefused", TestConnectRefused},
	{"ConnectUnresolvable", TestConnectUnresolvable},
	{"ConnectLookupEmpty", TestConnectLookupEmpty},
	{"ConnectTimeoutConnecting", TestConnectTimeoutConnecting},
	{"ConnectContextDeadline", TestConnectContextDeadline},
	{"ConnectTimeoutResolving", TestConnectTimeoutResolving},
	{"ConnectCancelResolving", TestConnectCancelResolving},
	{"ConnectCancelConnecting", TestConnectCancelConnecting},
	{"ConnectAlreadyCanceled", TestConnectAlreadyCanceled},
	{"AttemptCancel", TestAttemptCancel},
	{"AttemptCancelBeforeStart", TestAttemptCancelBeforeStart},
	{"ConnectSerialFallback", TestConnectSerialFallback},
	{"ConnectFamilyFallbackAfterRefused", TestConnectFamilyFallbackAfterRefused},
	{"ConnectFamilyRace", TestConnectFamilyRace},
	{"ConnectAllFail", TestConnectAllFail},
	{"ConnectArguments", TestConnectArguments},
	{"MakeTarget", TestMakeTarget},
	{"PartialDeadline", TestPartialDeadline},
	{"HandshakeVersionsALPNSNI", TestHandshakeVersionsALPNSNI},
	{"HandshakeResumption", TestHandshakeResumption},
	{"HandshakeDataBothWays", TestHandshakeDataBothWays},
	{"ConnAsync", TestConnAsync},
	{"HandshakeHTTP", TestHandshakeHTTP},
	{"HandshakeFailures", TestHandshakeFailures},
	{"RingConnReadWriteAddrs", TestRingConnReadWriteAddrs},
	{"RingConnDeadlines", TestRingConnDeadlines},
	{"RingConnClose", TestRingConnClose},
	{"RingConnSteadyStateAllocs", TestRingConnSteadyStateAllocs},
	{"UDPConnectToAddr", TestUDPConnectToAddr},
	{"UDPConnectToHost", TestUDPConnectToHost},
	{"UDPConnectErrors", TestUDPConnectErrors},
}

func TestBackends(t *testing.T) {
	for _, b := range []core.Backend{core.BackendIOURing, core.BackendEpoll} {
		t.Run(b.String(), func(t *testing.T) {
			testBackend = b
			defer func() { testBackend = core.BackendAuto }()
			r := cxRing(t)
			if r.Backend() != b {
				t.Fatalf("ring on %v, want %v", r.Backend(), b)
			}
			for _, tc := range backendSuite {
				t.Run(tc.name, tc.fn)
			}
		})
	}
}
