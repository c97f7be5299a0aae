// Command soak runs net/http under faults and load for a given time, once on
// a uringnet listener and once on package net's, alternating, with the
// server in a process of its own, and prints a table comparing the two.
//
//	go run ./soak                          # every scenario, 30s per transport each
//	go run ./soak -duration 10m -rounds 4  # the long run
//	go run ./soak -scenarios chaos,storm -transports uringnet
//
// Scenarios:
//
//	chaos    many clients looping over random exchanges: GETs of random
//	         sizes whose every byte is checked, uploads the server hashes,
//	         requests cancelled mid-body, connections that send half a
//	         request and reset, half-closes after a full request, and
//	         responses cut by the handler's write deadline
//	fdlimit  the server under a low RLIMIT_NOFILE with more clients than
//	         descriptors, then recovery: later requests must all succeed
//	storm    connections sending half a request and resetting, 128 at a
//	         time, beside normal clients whose exchanges are counted
//	idle     many idle keep-alive connections beside a trickle of
//	         requests; every idle connection must still answer at the end
//
// In every run the server's descriptors, threads, goroutines and RSS are
// sampled each second; after the load stops its descriptors and goroutines
// must return to their baseline within seconds. An exchange the client saw
// complete must be byte-exact, no client may wait past -bound, the server
// must never exit, and every handler started must return. Any violation is
// listed and the command exits with status 1.
//
// The server is this binary re-executed as "soak serve"; -cpuprofile DIR
// writes each server's CPU profile there.
package main
