//go:build linux

package uringnet

// The wait state of a side, and what a Read knows of its socket.
//
// Two pieces of state decide whether a Read tries its socket, waits, or
// is woken, and each has one rule:
//
//   - op.state, the side's operation (guarded by the engine's mu), and
//   - side.rs, the read side's readiness word (one atomic word: every
//     change is an atomic read-modify-write; readable changes it under
//     the engine's mu, the Read and a splice under the side's).
//
// # op.state
//
//	opIdle      nothing in flight: the side's goroutine runs, or no
//	            operation is under way.
//	opRing      an operation submitted to the ring (a send, accept,
//	            connect, poll, splice, or a receive armed on the ring);
//	            its completion wakes the goroutine.
//	opAwait     a Read parked until its socket is readable; the kernel
//	            holds nothing of it.
//	opRecv      the poller has submitted the waiting Read's receive
//	            (MSG_DONTWAIT, into the Read's buffer): it completes at
//	            once, with data, end of stream, an error, or EAGAIN when
//	            the readiness was stale.
//	opRecvStop  as opRecv, but a deadline or Close has cancelled the
//	            receive: whatever it brings, its completion wakes the Read.
//	opBatch     a UDP socket's ReadBatch parked until its multishot
//	            receive posts a datagram or ends (udpbatch.go); the
//	            kernel holds the receive, not the ReadBatch's buffers.
//
// Transitions, each made under the engine's mu:
//
//	opIdle → opRing        do submits an operation
//	opRing → opIdle        its completion (opDone) wakes the goroutine
//	opIdle → opAwait       a Read parks, having found rs empty under mu
//	opAwait → opRecv       readable: an event for the socket arrived
//	opAwait → opIdle       detach (deadline or Close), or no room on the
//	                       ring for the receive: the Read looks again
//	opRecv → opIdle        the receive brought something, or found
//	                       nothing while rs says something arrived since
//	opRecv → opAwait       the receive found nothing and rs is empty:
//	                       the readiness was stale, the Read waits on
//	opRecv → opRecvStop    cancelInFlight (deadline or Close)
//	opRecvStop → opIdle    its completion, whatever it brings
//	opIdle → opBatch       a ReadBatch parks, having found no datagram
//	opBatch → opIdle       the multishot receive posted one or ended, or
//	                       detach (deadline or Close)
//
// A side whose op is opAwait, opRecv or opRecvStop counts in the engine's
// rwWaiting;
// endAwait is the one way out of those states.
//
// # side.rs
//
//	rsReady  the socket may hold bytes for the next Read: an event came
//	         that no Read has claimed, or the last read may have left
//	         bytes (it filled its buffer, or it brought end of stream or
//	         an error, which stay for the next Read to see).
//	rsHup    a short read no longer says the socket is empty: end of
//	         stream or urgent data was signalled, and no further event
//	         will come for it. Every Read tries the socket until one
//	         finds it empty.
//
// Who changes it:
//
//	readable (events)    sets rsHup for end of stream, urgent data;
//	                     sets rsReady unless it submits a waiting Read's
//	                     receive, which consumes the event
//	Read, claim          clears rsReady just before a direct attempt, so
//	                     an event during the attempt sets it again
//	Read, foundEmpty     clears rsHup after an attempt that found the
//	                     socket empty, by compare-and-swap against the
//	                     value its claim left: if anything arrived since,
//	                     the swap fails and the Read tries again
//	Read, afterRecv      sets rsReady after a read that may have left
//	                     bytes
//	watch, a splice      set rsReady: a new socket, and one a splice read
//	                     past, are tried before a Read waits
//
// Why no event is lost: readable runs under the engine's mu, and a Read
// parks (opIdle → opAwait) only under the same mu, after finding rs empty.
// An event either comes before the park, and the Read sees its bit and
// tries again, or after, and finds the Read parked and submits its
// receive. Between its claim and its park a Read never overwrites rs: it
// clears a bit only by an atomic operation that keeps any bit set since
// (rsReady) or fails when anything changed (rsHup), so an event recorded
// while the Read was trying the socket survives to the park's check.
// (Before this rule, an end of stream that arrived while a direct attempt
// found the socket empty could be wiped; the data read next then left the
// socket empty with nothing to say the end had come, and the Read after it
// waited for an event that had already been.)

// opState is a side's operation state; see above.
type opState uint8

const (
	opIdle opState = iota
	opRing
	opAwait
	opRecv
	opRecvStop
	opBatch
)

// The bits of side.rs; see above.
const (
	rsReady uint32 = 1 << iota
	rsHup
)

// claim decides whether a Read tries the socket directly: when rs has
// anything, or always is set. It clears rsReady first and returns the
// value that left, for foundEmpty. The caller holds s.mu.
func (s *side) claim(always bool) (seen uint32, try bool) {
	old := s.rs.And(^rsReady)
	return old &^ rsReady, old != 0 || always
}

// foundEmpty records that a direct attempt after claim found the socket
// empty. It reports whether the Read may go on to wait: false when an
// event arrived since the claim, and the Read must try again.
func (s *side) foundEmpty(seen uint32) bool {
	if seen&rsHup == 0 {
		return s.rs.Load() == seen
	}
	return s.rs.CompareAndSwap(seen, seen&^rsHup)
}

// markReady sets rsReady: the next Read tries the socket.
func (s *side) markReady() { s.rs.Or(rsReady) }
