package main

import (
	"log"
	"os"
	"runtime/trace"
	"time"
)

// traceWindow writes a runtime trace of the server to path for d, starting
// after delay, so the scheduling of a running benchmark can be read with
// go tool trace (its -pprof=sched profile shows where goroutines waited
// to run once readied).
func traceWindow(path string, delay, d time.Duration) {
	time.Sleep(delay)
	f, err := os.Create(path)
	if err != nil {
		log.Printf("trace: %v", err)
		return
	}
	if err := trace.Start(f); err != nil {
		log.Printf("trace: %v", err)
		f.Close()
		return
	}
	time.Sleep(d)
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Printf("trace: %v", err)
	}
}
