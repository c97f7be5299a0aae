package core

// mapBufMem returns n bytes for a buffer ring. On Windows no kernel ring
// reads them (New fails there); only runtimes that emulate the kernel, such
// as mock.Ring, take buffers, so ordinary Go memory serves.
func mapBufMem(n int) ([]byte, error) { return make([]byte, n), nil }

func unmapBufMem([]byte) {}
