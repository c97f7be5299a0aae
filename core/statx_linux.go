package core

import "golang.org/x/sys/unix"

// Statx is the file status a Statx operation fills in (struct statx). On
// Linux it is x/sys/unix's Statx_t, so code written against that type is
// unchanged; elsewhere x/sys/unix has no such type, and Statx is a struct of
// the same fields, for runtimes such as mock.Ring that script results there.
type Statx = unix.Statx_t

// StatxTimestamp is a time in a Statx: x/sys/unix's on Linux, a struct of
// the same fields elsewhere.
type StatxTimestamp = unix.StatxTimestamp
