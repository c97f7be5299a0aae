//go:build !linux

package core

// Statx is the file status a Statx operation fills in (struct statx). On
// Linux it is x/sys/unix's Statx_t; elsewhere x/sys/unix has no such type
// (and does not build on Windows), so Statx is a struct of the same fields,
// with the same names and types, for runtimes such as mock.Ring that script
// results there. Code that names the fields compiles on every platform.
type Statx struct {
	Mask                      uint32
	Blksize                   uint32
	Attributes                uint64
	Nlink                     uint32
	Uid                       uint32
	Gid                       uint32
	Mode                      uint16
	_                         [1]uint16
	Ino                       uint64
	Size                      uint64
	Blocks                    uint64
	Attributes_mask           uint64
	Atime                     StatxTimestamp
	Btime                     StatxTimestamp
	Ctime                     StatxTimestamp
	Mtime                     StatxTimestamp
	Rdev_major                uint32
	Rdev_minor                uint32
	Dev_major                 uint32
	Dev_minor                 uint32
	Mnt_id                    uint64
	Dio_mem_align             uint32
	Dio_offset_align          uint32
	Subvol                    uint64
	Atomic_write_unit_min     uint32
	Atomic_write_unit_max     uint32
	Atomic_write_segments_max uint32
	Dio_read_offset_align     uint32
	Atomic_write_unit_max_opt uint32
	_                         [1]uint32
	_                         [8]uint64
}

// StatxTimestamp is a time in a Statx: x/sys/unix's on Linux, a struct of
// the same fields elsewhere.
type StatxTimestamp struct {
	Sec  int64
	Nsec uint32
	_    int32
}
