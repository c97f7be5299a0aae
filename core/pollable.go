package core

// PollableFd returns a file descriptor that polls readable when the ring has
// completions to run, so another event loop (epoll, Go's netpoller) can
// decide when to call Run(NoWait). It is the ring's own descriptor: do not
// close it or read from it.
func (r *Ring) PollableFd() int { return r.fd }
