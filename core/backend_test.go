//go:build linux

package core

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// ktBackend is the backend ktRing and ktNew create rings on when a test
// does not choose one; TestBackends sets it while it runs the suite.
var ktBackend = BackendAuto

// ktNew is New on the backend under test.
func ktNew(opts Options) (*Ring, error) {
	if opts.Backend == BackendAuto {
		opts.Backend = ktBackend
	}
	r, err := New(opts)
	if err == nil && ktBackend != BackendAuto && r.Backend() != ktBackend {
		r.Close()
		panic("ring on " + r.Backend().String() + ", want " + ktBackend.String())
	}
	return r, err
}

// ktBackendSuite is the part of the package's tests that describes what a
// Runtime does, as opposed to how io_uring is set up: TestBackends runs
// each against both backends, so the two cannot differ.
var ktBackendSuite = []struct {
	name string
	fn   func(*testing.T)
}{
	{"MsgRing", TestRuntimeMsgRing},
	{"RunNoWaitDoesNotBlock", TestRunNoWaitDoesNotBlock},
	{"RunOnceWaitsForOne", TestRunOnceWaitsForOne},
	{"RunCallbackErrorStopsRun", TestRunCallbackErrorStopsRun},
	{"RunFromCallbackIsBusy", TestRunFromCallbackIsBusy},
	{"SubmissionQueueFull", TestSubmissionQueueFull},
	{"CloseWithOperationsInFlight", TestCloseWithOperationsInFlight},
	{"InitChild", TestInitChild},
	{"PollableFd", TestPollableFd},
	{"SingleIssuerWrongThread", TestSingleIssuerWrongThread},
	{"NopAllocations", TestNopAllocations},
	{"EchoAllocations", TestEchoAllocations},
	{"TimerPostAllocations", TestTimerPostAllocations},
	{"OpNop", TestOpNop},
	{"OpTimer", TestOpTimer},
	{"OpTimerAt", TestOpTimerAt},
	{"OpCancelPendingRecv", TestOpCancelPendingRecv},
	{"OpCancelQueued", TestOpCancelQueued},
	{"OpCancelTimer", TestOpCancelTimer},
	{"OpCancelStaleHandle", TestOpCancelStaleHandle},
	{"OpCancelFd", TestOpCancelFd},
	{"OpCancelAll", TestOpCancelAll},
	{"OpCancelErrors", TestOpCancelErrors},
	{"OpAccept", TestOpAccept},
	{"OpAcceptUnix", TestOpAcceptUnix},
	{"OpAcceptMultishot", TestOpAcceptMultishot},
	{"OpAcceptNoWait", TestOpAcceptNoWait},
	{"OpConnect", TestOpConnect},
	{"OpConnectRefused", TestOpConnectRefused},
	{"OpSendRecv", TestOpSendRecv},
	{"OpRecvMultishot", TestOpRecvMultishot},
	{"OpRecvMultishotBigStream", TestOpRecvMultishotBigStream},
	{"OpRecvMultishotTakeBuffer", TestOpRecvMultishotTakeBuffer},
	{"OpRecvMultishotErrors", TestOpRecvMultishotErrors},
	{"OpRecvMultishotLimit", TestOpRecvMultishotLimit},
	{"OpSocket", TestOpSocket},
	{"OpShutdown", TestOpShutdown},
	{"OpPoll", TestOpPoll},
	{"OpPollMultishot", TestOpPollMultishot},
	{"OpReadWrite", TestOpReadWrite},
	{"OpReadvWritev", TestOpReadvWritev},
	{"ReadWaitsOnPipe", TestReadWaitsOnPipe},
	{"OpSendmsgRecvmsgUDP", TestOpSendmsgRecvmsgUDP},
	{"OpRecvmsgTruncates", TestOpRecvmsgTruncates},
	{"OpRecvmsgPacketInfo", TestOpRecvmsgPacketInfo},
	{"OpSendmsgRights", TestOpSendmsgRights},
	{"OpSendmsgConnectedUDPRefused", TestOpSendmsgConnectedUDPRefused},
	{"OpRecvmsgMultishot", TestOpRecvmsgMultishot},
	{"OpRecvmsgMultishotRunsDry", TestOpRecvmsgMultishotRunsDry},
	{"OpRecvmsgMultishotBadRoom", TestOpRecvmsgMultishotBadRoom},
	{"OpSendmsgRecvmsgAllocs", TestOpSendmsgRecvmsgAllocs},
	{"OpSendZCLarge", TestOpSendZCLarge},
	{"OpSendZCShort", TestOpSendZCShort},
	{"OpSendmsgZCUDP", TestOpSendmsgZCUDP},
	{"OpSendZCPeerReset", TestOpSendZCPeerReset},
	{"OpSendZCCancel", TestOpSendZCCancel},
	{"OpSendZCClose", TestOpSendZCClose},
	{"OpSendZCCloseNotifPending", TestOpSendZCCloseNotifPending},
	{"OpSendZCCallbackError", TestOpSendZCCallbackError},
	{"OpSendZCUnixSocket", TestOpSendZCUnixSocket},
	{"OpSendZCRestricted", TestOpSendZCRestricted},
	{"OpSendZCRacesPeer", TestOpSendZCRacesPeer},
	{"SendZCAllocations", TestSendZCAllocations},
	{"RestrictedRingRunsWhatItAllows", TestRestrictedRingRunsWhatItAllows},
	{"RestrictedRingRefusesOtherOperations", TestRestrictedRingRefusesOtherOperations},
	{"RestrictedRingCloseDrains", TestRestrictedRingCloseDrains},
	{"FreeBufRing", TestFreeBufRing},
	{"OpSplice", TestOpSplice},
	{"OpCloseFd", TestOpCloseFd},
	{"OpOpenat", TestOpOpenat},
	{"OpStatx", TestOpStatx},
	{"DeadlineLinked", TestDeadlineLinked},
	{"DeadlineTimer", TestDeadlineTimer},
	{"DeadlineTimerNotLast", TestDeadlineTimerNotLast},
	{"DeadlineNotReached", TestDeadlineNotReached},
	{"DeadlineMoved", TestDeadlineMoved},
	{"DeadlinePast", TestDeadlinePast},
	{"DeadlineFullQueue", TestDeadlineFullQueue},
	{"DeadlineErrors", TestDeadlineErrors},
	{"Post", TestPost},
	{"PostCallbackError", TestPostCallbackError},
	{"SpawnThread", TestSpawnThread},
	{"SpawnThreadInitError", TestSpawnThreadInitError},
	{"SpawnThreadCallbackError", TestSpawnThreadCallbackError},
	{"SpawnThreadStopWithWork", TestSpawnThreadStopWithWork},
	{"ReviewMsgRingRejectsCompletingTask", TestReviewMsgRingRejectsCompletingTask},
	{"ReviewMsgRingRejectsDoubleSend", TestReviewMsgRingRejectsDoubleSend},
	{"ReviewDeadlineMovedLaterLinked", TestReviewDeadlineMovedLaterLinked},
	{"ReviewDeadlineMovedLaterLinkedSubmitted", TestReviewDeadlineMovedLaterLinkedSubmitted},
	{"ReviewDeadlineMovedAfterTimerFired", TestReviewDeadlineMovedAfterTimerFired},
	{"ReviewCloseWrongThread", TestReviewCloseWrongThread},
	{"ReviewCloseDoesNotRunQueued", TestReviewCloseDoesNotRunQueued},
	{"ReviewThreadStopTwice", TestReviewThreadStopTwice},
	{"ReviewThreadStopAfterParentClose", TestReviewThreadStopAfterParentClose},
	{"ReviewDeadlineLinkedMultishot", TestReviewDeadlineLinkedMultishot},
	{"ReadyTracksTheCompletionQueue", TestReadyTracksTheCompletionQueue},
	{"SharedSocketCancelledWaiter", TestSharedSocketCancelledWaiter},
	{"CancelRacesCompletion", TestCancelRacesCompletion},
	{"StaleEventAfterRecycle", TestStaleEventAfterRecycle},
	{"PostUnderLoad", TestPostUnderLoad},
	{"CloseRacesPost", TestCloseRacesPost},
	{"DescriptorReusedAfterOutsideClose", TestDescriptorReusedAfterOutsideClose},
}

// TestBackends runs the suite against each backend on the real kernel.
func TestBackends(t *testing.T) {
	for _, b := range []Backend{BackendIOURing, BackendEpoll} {
		t.Run(b.String(), func(t *testing.T) {
			ktBackend = b
			defer func() { ktBackend = BackendAuto }()
			for _, tc := range ktBackendSuite {
				t.Run(tc.name, tc.fn)
			}
		})
	}
}

func TestBackendNames(t *testing.T) {
	require.Equal(t, "auto", BackendAuto.String())
	require.Equal(t, "io_uring", BackendIOURing.String())
	require.Equal(t, "epoll", BackendEpoll.String())
	require.Equal(t, "backend?", Backend(9).String())
}

// TestBackendSelection: by default the ring runs on io_uring where the
// kernel allows it; either backend can be forced; an unknown one is an
// error.
func TestBackendSelection(t *testing.T) {
	if r, err := New(Options{Entries: 8, Backend: BackendIOURing}); err != nil {
		// Selection where io_uring is refused is TestSelectionUnderSeccomp's.
		t.Skipf("io_uring is refused here: %v", err)
	} else {
		r.Close()
	}
	r, err := New(Options{Entries: 8})
	require.NoError(t, err)
	require.Equal(t, BackendIOURing, r.Backend())
	require.NoError(t, r.IOURingError())
	require.NoError(t, r.Close())

	r, err = New(Options{Entries: 8, Backend: BackendEpoll})
	require.NoError(t, err)
	require.Equal(t, BackendEpoll, r.Backend())
	require.NoError(t, r.IOURingError(), "forced, not refused")
	child, err := r.InitChild(Options{Entries: 8})
	require.NoError(t, err)
	require.Equal(t, BackendEpoll, child.Backend(), "a child runs on its parent's backend")
	require.NoError(t, child.Close())
	require.NoError(t, r.Close())

	_, err = New(Options{Backend: Backend(9)})
	require.Error(t, err)
}

// TestMsgRingAcrossBackends: MsgRing between an io_uring ring and an epoll
// ring works both ways, and a message to a closed ring of the other
// backend fails at the sender and returns the task.
func TestMsgRingAcrossBackends(t *testing.T) {
	uring, err := New(Options{Entries: 8, Backend: BackendIOURing})
	require.NoError(t, err)
	defer uring.Close()
	epoll, err := New(Options{Entries: 8, Backend: BackendEpoll})
	require.NoError(t, err)
	defer epoll.Close()

	for _, pair := range [][2]*Ring{{uring, epoll}, {epoll, uring}} {
		from, to := pair[0], pair[1]
		var sent, got ktRec
		task := from.GetTask()
		task.Callback = got.cb
		task.Msg = 42
		_, err := from.MsgRing(to, task, sent.ctx())
		require.NoError(t, err)
		require.NoError(t, from.Run(UntilDone))
		require.Len(t, sent.list, 1, "%v to %v", from.Backend(), to.Backend())
		require.NoError(t, sent.list[0].err)
		ktRunUntil(t, to, func() bool { return len(got.list) == 1 })
		require.Equal(t, OpMessage, got.list[0].op)
		require.Equal(t, uint16(42), got.list[0].msg)
	}

	// To a closed ring: the sender's callback sees an error, or MsgRing
	// refuses at once; either way nothing stays in flight.
	for _, b := range []Backend{BackendIOURing, BackendEpoll} {
		closed, err := New(Options{Entries: 8, Backend: b})
		require.NoError(t, err)
		require.NoError(t, closed.Close())
		for _, from := range []*Ring{uring, epoll} {
			var sent ktRec
			_, err := from.MsgRing(closed, from.GetTask(), sent.ctx())
			if err == nil {
				require.NoError(t, from.Run(UntilDone))
				require.Len(t, sent.list, 1)
				require.Error(t, sent.list[0].err)
			}
			require.Zero(t, from.Active())
		}
	}
}
