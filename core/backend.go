package core

// Backend names the kernel interface a Ring runs on.
type Backend uint8

const (
	// BackendAuto runs on io_uring where the kernel allows it and on epoll
	// where io_uring_setup is refused (ENOSYS, or EPERM from a seccomp
	// profile or the kernel.io_uring_disabled sysctl).
	BackendAuto Backend = iota
	// BackendIOURing runs on io_uring, or New fails.
	BackendIOURing
	// BackendEpoll runs on epoll: operations are performed by the ring's
	// own goroutine with nonblocking system calls, waiting for readiness in
	// an epoll instance, and those epoll cannot wait for (openat, statx,
	// reads and writes of regular files) run on a small worker pool.
	BackendEpoll
)

var backendNames = [...]string{BackendAuto: "auto", BackendIOURing: "io_uring", BackendEpoll: "epoll"}

// String returns the backend's name.
func (b Backend) String() string {
	if int(b) < len(backendNames) {
		return backendNames[b]
	}
	return "backend?"
}
