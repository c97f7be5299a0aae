// Package pattern is the pseudo-random byte stream that the bench's bulk
// and download workloads carry, so that their readers check every byte.
package pattern

// Period is the length of the stream's repeating sequence: not a power of
// two nor a multiple of any read, write or frame size, so that a piece
// dropped, repeated or reordered no longer lines up with it.
const Period = 64<<10 + 8

// Bytes returns two periods of the sequence: byte i of the stream is
// Bytes()[i%Period], and any window of up to Period bytes is one slice of
// it. Each call returns a new slice.
func Bytes() []byte {
	p := make([]byte, 2*Period)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range Period {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x >> 32)
	}
	copy(p[Period:], p[:Period])
	return p
}
