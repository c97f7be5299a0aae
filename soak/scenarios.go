//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// fdLimit runs against a server whose RLIMIT_NOFILE is cfg.nofile. For
// the first 60% of the time three times as many clients as it has
// descriptors connect, ask for a small body, and hold their connection up
// to two seconds; those the server cannot accept give up after a second,
// which is expected.
// Then the load stops and a few clients make requests that must all
// succeed: http.Server must have kept serving through the Accept errors.
func fdLimit(ctx context.Context, r *run) {
	dl, _ := ctx.Deadline()
	exhaust, cancel := context.WithDeadline(ctx, time.Now().Add(time.Until(dl)*6/10))
	defer cancel()
	var served, refused atomic.Int64
	clients(exhaust, 3*r.cfg.nofile, func(ctx context.Context, id int) {
		rng := r.rng(id)
		seed, size := rng.Uint64(), rng.Int64N(4<<10)
		c, err := net.DialTimeout("tcp", r.srv.addr, time.Second)
		if err != nil {
			refused.Add(1)
			time.Sleep(10 * time.Millisecond)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		path := fmt.Sprintf("/get?seed=%d&size=%d", seed, size)
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", path); err != nil {
			refused.Add(1)
			return
		}
		req, _ := http.NewRequest("GET", r.url(path), nil)
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			refused.Add(1)
			return
		}
		if _, err := checkBody(resp.Body, seed, size, nil); isContentError(err) {
			r.res.violate("under fd exhaustion, %s: %v", path, err)
		} else if err != nil {
			refused.Add(1)
			return
		}
		served.Add(1)
		select { // hold the descriptor a while
		case <-ctx.Done():
		case <-time.After(time.Duration(rng.IntN(2000)) * time.Millisecond):
		}
	})
	before, _ := r.srv.sample()

	tr := r.transport(4)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	clients(ctx, 4, func(_ context.Context, id int) {
		r.get(hc, r.rng(id))
	})
	r.res.mu.Lock()
	r.res.acceptErrors = before.acceptErrors
	r.res.mu.Unlock()
	r.res.note("under the limit %d: %d served, %d refused or timed out, %d Accept errors", r.cfg.nofile, served.Load(), refused.Load(), before.acceptErrors)
}

func isContentError(err error) bool {
	_, ok := err.(*contentError)
	return ok
}

// storm runs cfg.storm connections at a time that each send half a
// request and reset, beside cfg.clients/4 normal clients fetching small
// bodies over keep-alive connections; the normal clients' exchanges are
// the ones counted.
//
// With cfg.stormTotal set, the storm ends after that many connections,
// and the normal clients with it, so the normal clients' exchanges are
// those made while a fixed number of connections reset.
func storm(ctx context.Context, r *run) {
	normal := max(2, r.cfg.clients/4)
	tr := r.transport(normal)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var started, resets atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		clients(ctx, r.cfg.storm, func(_ context.Context, id int) {
			if total := int64(r.cfg.stormTotal); total > 0 && started.Add(1) > total {
				cancel()
				return
			}
			if err := r.resetConn(r.rng(id)); err != nil {
				r.res.violate("a resetting connection: %v", err)
				time.Sleep(10 * time.Millisecond)
				return
			}
			resets.Add(1)
			r.res.aborted.Add(1)
		})
	})
	clients(ctx, normal, func(_ context.Context, id int) {
		rng := r.rng(id)
		seed, size := rng.Uint64(), int64(1<<10)
		what := fmt.Sprintf("GET /get?seed=%d&size=%d beside the storm", seed, size)
		o := r.watch.begin(what)
		octx, cancel := r.opContext()
		err := r.fetch(octx, hc, o, seed, size)
		cancel()
		d := o.end()
		if err != nil {
			r.res.violate("%s: %v", what, err)
			return
		}
		r.res.exchange(d)
	})
	wg.Wait()
	el := time.Since(start).Seconds()
	r.res.note("%d normal clients beside %d resets in %.1fs (%.0f/s, %d at a time)", normal, resets.Load(), el, float64(resets.Load())/el, r.cfg.storm)
}

// idleConn is a keep-alive connection opened by idle.
type idleConn struct {
	c  net.Conn
	br *bufio.Reader
}

// request sends a GET on the connection and checks the response.
func (ic *idleConn) request(r *run, seed uint64, size int64) error {
	ic.c.SetDeadline(time.Now().Add(r.cfg.bound))
	path := fmt.Sprintf("/get?seed=%d&size=%d", seed, size)
	if _, err := fmt.Fprintf(ic.c, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", path); err != nil {
		return err
	}
	req, _ := http.NewRequest("GET", r.url(path), nil)
	resp, err := http.ReadResponse(ic.br, req)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || resp.ContentLength != size {
		return fmt.Errorf("status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	_, err = checkBody(resp.Body, seed, size, nil)
	return err
}

// idle opens cfg.idle keep-alive connections that each make one request
// and then sit idle, while one client makes a request every 10ms until
// the load ends; then every idle connection must answer one more request.
// All the connections are opened even if that takes the whole time.
func idle(ctx context.Context, r *run) {
	// Each element of conns is written by the one goroutine that took its
	// index from next, and read only after wg.Wait.
	conns := make([]*idleConn, r.cfg.idle)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					return
				}
				c, err := net.DialTimeout("tcp", r.srv.addr, r.cfg.bound)
				if err != nil {
					r.res.violate("opening idle connection %d: %v", i, err)
					continue
				}
				ic := &idleConn{c: c, br: bufio.NewReader(c)}
				if err := ic.request(r, uint64(i), 100); err != nil {
					r.res.violate("idle connection %d's first request: %v", i, err)
					c.Close()
					continue
				}
				conns[i] = ic
			}
		})
	}
	wg.Wait()
	// Sample now that every idle connection is open, whatever the
	// sampler's phase.
	if smp, err := r.srv.sample(); err == nil {
		r.res.mu.Lock()
		r.res.samples = append(r.res.samples, smp)
		r.res.mu.Unlock()
	}
	defer func() {
		for _, ic := range conns {
			if ic != nil {
				ic.c.Close()
			}
		}
	}()

	tr := r.transport(1)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	rng := r.rng(0)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		seed, size := rng.Uint64(), rng.Int64N(16<<10)
		what := fmt.Sprintf("trickle GET /get?seed=%d&size=%d beside %d idle connections", seed, size, len(conns))
		o := r.watch.begin(what)
		octx, cancel := r.opContext()
		err := r.fetch(octx, hc, o, seed, size)
		cancel()
		d := o.end()
		if err != nil {
			r.res.violate("%s: %v", what, err)
		} else {
			r.res.exchange(d)
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}

	var alive atomic.Int64
	next.Store(0)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					return
				}
				if conns[i] == nil {
					continue
				}
				if err := conns[i].request(r, uint64(i)+1, 100); err != nil {
					r.res.violate("idle connection %d's last request: %v", i, err)
					continue
				}
				alive.Add(1)
			}
		})
	}
	wg.Wait()
	r.res.note("%d of %d idle connections answered at the end", alive.Load(), len(conns))
}
