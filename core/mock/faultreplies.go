package mock

import "fmt"

// Chunk returns the Data reply r delivered at most n bytes per completion,
// so that a receive or read with room for more completes short and the
// application must come back for the rest, as it must on a stream socket
// whose data arrives in pieces. n must be at least 1; Chunk panics on a
// reply that is not Data. (A short send is scripted with Res.)
func (r Reply) Chunk(n int) Reply {
	if !r.isData {
		panic("mock: Chunk applies only to Data replies")
	}
	if n < 1 {
		panic(fmt.Sprintf("mock: Chunk(%d): a completion delivers at least 1 byte", n))
	}
	r.chunk = n
	return r
}

// Final returns r ending the multishot operation that takes it: its
// completion comes without core.CQEFlagMore, although it succeeds, and the
// application must submit the operation again to go on. The kernel does
// this when a multishot receive reaches its limit, and may do it whenever
// it cannot post a completion, as when the completion queue overflows;
// code that takes a successful completion to mean "more will follow"
// stalls there. For Data longer than the receiving buffer, only
// the first completion is final and the rest waits for the next receive.
// Single-shot operations ignore Final.
func (r Reply) Final() Reply {
	r.final = true
	return r
}

// ConnReset is a reply for Recv, RecvMultishot, Read, Readv, Send, Write
// and Writev: the peer resets the connection. As on Linux, the operation
// that takes it fails with ECONNRESET, and from then on receives and reads
// on the descriptor complete with 0 (end of stream) and sends and writes
// fail with EPIPE, whatever else is scripted for them, until the descriptor
// is closed. Script Data before it for data the peer sent before the reset:
// Linux delivers that data first.
func ConnReset() Reply { return Reply{reset: true} }
