package mock_test

// The mock passes flags, events and descriptors through without reading
// them. The tests spell out the Linux values they use, so that they build
// on every platform, including Windows, where x/sys/unix does not.
const (
	atFdcwd   = -100  // AT_FDCWD
	pollIn    = 0x1   // POLLIN
	statxSize = 0x200 // STATX_SIZE
)
