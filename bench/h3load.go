package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ourio-go/ourio/bench/internal/h3"
	"github.com/ourio-go/ourio/bench/internal/pattern"
)

// h3Load is one run of the h3 family's load generator against one server:
// conns QUIC connections from this process on package net (the same
// generator for every server), each with streams goroutines issuing GET
// path one after another, every response's body checked: bodyLen bytes,
// equal to h3.Small or to the download pattern.
type h3Load struct {
	addr      string
	serverPID int
	transport string // what the server must say it runs on
	conns     int
	streams   int
	path      string
	bodyLen   int64
	download  bool // the body is the pattern, not h3.Small
	warmup    time.Duration
	duration  time.Duration
}

// h3Sample is what the measured window saw: requests completed, body bytes
// received (of whole and partial responses alike) and the server's CPU
// time, over seconds of wall time.
type h3Sample struct {
	requests, bytes int64
	seconds         float64
	serverCPU       time.Duration
	desc            string // the server's /transport answer
}

// h3Stop is how long the generator waits for its goroutines once the
// window has closed and their requests are cancelled.
const h3Stop = 10 * time.Second

func (l h3Load) run() (h3Sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.warmup+l.duration+30*time.Second)
	defer cancel()
	clients := make([]*h3.Client, l.conns)
	for i := range clients {
		clients[i] = h3.NewClient(l.addr)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	desc, err := l.transportOf(ctx, clients[0])
	if err != nil {
		return h3Sample{}, err
	}

	// Owner rule: requests and received are the goroutines' counters,
	// written by them and read by this one at the window's edges; firstErr
	// is set once, by the first goroutine to fail outside a cancellation.
	var requests, received atomic.Int64
	var errOnce sync.Once
	var firstErr error
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		for range l.streams {
			wg.Go(func() {
				var buf []byte
				if l.download {
					buf = make([]byte, 64<<10)
				} else {
					buf = make([]byte, len(h3.Small)+1)
				}
				pat := pattern.Bytes()
				for ctx.Err() == nil {
					if err := l.once(ctx, c, buf, pat, &received); err != nil {
						if ctx.Err() == nil {
							fail(err)
						}
						return
					}
					requests.Add(1)
				}
			})
		}
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	stop := func() error {
		cancel()
		select {
		case <-stopped:
		case <-time.After(h3Stop):
			return fmt.Errorf("the client's requests did not end %s after they were cancelled", h3Stop)
		}
		if firstErr != nil { // wg.Wait ordered every write of it before this read
			return firstErr
		}
		return nil
	}
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}

	// ctx ends before the window closes only when a request failed or the
	// run overran its bound.
	early := func() (h3Sample, error) {
		err := stop()
		if err == nil {
			err = fmt.Errorf("the run overran its bound of %s", l.warmup+l.duration+30*time.Second)
		}
		return h3Sample{}, err
	}
	if !sleep(l.warmup) {
		return early()
	}
	cpu0, err := serverCPU(l.serverPID)
	if err != nil {
		stop()
		return h3Sample{}, err
	}
	t0, r0, b0 := time.Now(), requests.Load(), received.Load()
	if !sleep(l.duration) {
		return early()
	}
	cpu1, err := serverCPU(l.serverPID)
	t1, r1, b1 := time.Now(), requests.Load(), received.Load()
	if err := errors.Join(err, stop()); err != nil {
		return h3Sample{}, err
	}
	s := h3Sample{requests: r1 - r0, bytes: b1 - b0, seconds: t1.Sub(t0).Seconds(), serverCPU: cpu1 - cpu0, desc: desc}
	if s.requests == 0 && !l.download || s.bytes == 0 {
		return s, fmt.Errorf("nothing completed in the %s measured (%d requests, %d bytes)", l.duration, s.requests, s.bytes)
	}
	return s, nil
}

// transportOf asks the server what it runs on and fails unless it is the
// transport it was started on.
func (l h3Load) transportOf(ctx context.Context, c *h3.Client) (string, error) {
	resp, err := c.Get(ctx, h3.TransportPath)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return "", err
	}
	desc := string(b)
	if !strings.HasPrefix(desc, l.transport+": ") {
		return "", fmt.Errorf("the server says it runs on %q, not %s", desc, l.transport)
	}
	return desc, nil
}

// once issues one GET and reads its whole body into buf, checking it and
// adding what arrives to received as it comes.
func (l h3Load) once(ctx context.Context, c *h3.Client, buf, pat []byte, received *atomic.Int64) error {
	resp, err := c.Get(ctx, l.path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.ContentLength >= 0 && resp.ContentLength != l.bodyLen {
		return fmt.Errorf("GET %s: Content-Length %d, want %d", l.path, resp.ContentLength, l.bodyLen)
	}
	var got int64
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if l.download {
				// buf is at most a period long, so the pattern has every
				// window of that length as one slice.
				i := got % pattern.Period
				if got+int64(n) > l.bodyLen || !bytes.Equal(buf[:n], pat[i:i+int64(n)]) {
					return fmt.Errorf("GET %s: body differs from the pattern in bytes %d..%d", l.path, got, got+int64(n))
				}
			} else if got+int64(n) > l.bodyLen || !bytes.Equal(buf[:n], h3.Small[got:got+int64(n)]) {
				return fmt.Errorf("GET %s: body differs from the small response at byte %d", l.path, got)
			}
			got += int64(n)
			received.Add(int64(n))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("GET %s: after %d of %d bytes: %w", l.path, got, l.bodyLen, err)
		}
	}
	if got != l.bodyLen {
		return fmt.Errorf("GET %s: body of %d bytes, want %d", l.path, got, l.bodyLen)
	}
	return nil
}
