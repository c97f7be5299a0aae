package core

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// BufRing is a ring of provided buffers (IORING_REGISTER_PBUF_RING): the
// kernel picks a buffer when data arrives, so a multishot receive needs no
// buffer of its own until then. Buffers live outside the Go heap and are
// recycled automatically after the callback that received them, unless the
// callback calls Task.TakeBuffer.
type BufRing struct {
	ring    *Ring
	group   uint16
	count   uint16
	size    int
	entries []kernelBuf
	mem     []byte // entries' backing memory
	data    []byte // count*size bytes of buffers
	tail    uint16
	head    uint16 // for runtimes that emulate the kernel: the next buffer to take
}

// kernelBuf is struct io_uring_buf; the first entry's resv field is the ring
// tail. Runtimes that emulate the kernel read the same layout.
type kernelBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16
}

var _ [16 - unsafe.Sizeof(kernelBuf{})]struct{}

// NewUnregisteredBufRing creates the memory of a buffer ring without
// registering it with a kernel ring. It is for runtimes that emulate the
// kernel, such as mock.Ring; Ring.NewBufRing is the one to use otherwise.
func NewUnregisteredBufRing(group uint16, count uint16, size int) (*BufRing, error) {
	if count == 0 || count&(count-1) != 0 || count > 1<<15 || size <= 0 {
		return nil, syscall.EINVAL
	}
	mem, err := mapBufMem(int(count) * int(unsafe.Sizeof(kernelBuf{})))
	if err != nil {
		return nil, err
	}
	data, err := mapBufMem(int(count) * size)
	if err != nil {
		unmapBufMem(mem)
		return nil, err
	}
	br := &BufRing{group: group, count: count, size: size, mem: mem, data: data}
	br.entries = unsafe.Slice((*kernelBuf)(unsafe.Pointer(&mem[0])), count)
	for id := 0; id < int(count); id++ {
		br.Recycle(uint16(id))
	}
	return br, nil
}

// Group returns the buffer group id.
func (br *BufRing) Group() uint16 { return br.group }

// BufferSize returns the size of each buffer.
func (br *BufRing) BufferSize() int { return br.size }

// Recycle gives buffer id back to the kernel.
func (br *BufRing) Recycle(id uint16) {
	slot := br.tail & (br.count - 1)
	e := &br.entries[slot]
	e.addr = uint64(uintptr(unsafe.Pointer(&br.data[int(id)*br.size])))
	e.len = uint32(br.size)
	if slot != 0 {
		e.bid = id
	}
	br.tail++
	// The tail shares a 32-bit word with entry 0's bid; publishing both with
	// one atomic store orders the entry before the tail the kernel reads.
	bid0 := id
	if slot != 0 {
		bid0 = br.entries[0].bid
	}
	word := (*uint32)(unsafe.Pointer(&br.entries[0].bid))
	atomic.StoreUint32(word, uint32(bid0)|uint32(br.tail)<<16)
}

// Take consumes the next buffer the way the kernel would. It is for
// runtimes that emulate the kernel; ok is false when the ring is empty.
func (br *BufRing) Take() (id uint16, buf []byte, ok bool) {
	if br.head == br.tail {
		return 0, nil, false
	}
	e := &br.entries[br.head&(br.count-1)]
	br.head++
	id = e.bid
	return id, br.data[int(id)*br.size : (int(id)+1)*br.size], true
}

// untake gives back the buffer Take returned last, unused, as the kernel
// does when a receive it picked a buffer for finds no data.
func (br *BufRing) untake() { br.head-- }

// buffer returns the first n bytes of buffer id.
func (br *BufRing) buffer(id uint16, n int32) []byte {
	if n < 0 {
		n = 0
	}
	off := int(id) * br.size
	return br.data[off : off+int(n) : off+br.size]
}

func (br *BufRing) unmap() {
	if br.mem != nil {
		unmapBufMem(br.mem)
		unmapBufMem(br.data)
		br.mem, br.data, br.entries = nil, nil, nil
	}
}

// Close releases an unregistered buffer ring. Rings made by Ring.NewBufRing
// are released by Ring.Close.
func (br *BufRing) Close() {
	if br.ring == nil {
		br.unmap()
	}
}
