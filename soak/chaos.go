//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// rngCalls makes every rng a client asks for a different stream.
var rngCalls atomic.Uint64

// chaos runs cfg.clients clients, each looping over random exchanges.
func chaos(ctx context.Context, r *run) {
	tr := r.transport(r.cfg.clients)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var counts [len(chaosOps)]atomic.Int64
	clients(ctx, r.cfg.clients, func(_ context.Context, id int) {
		rng := r.rng(id)
		for i := 0; i < 100; i++ { // a new rng now and then keeps seeds varied
			var k int
			switch p := rng.IntN(100); {
			case p < 40:
				k = 0
				r.get(hc, rng)
			case p < 60:
				k = 1
				r.upload(hc, rng)
			case p < 70:
				k = 2
				r.cancelGet(hc, rng)
			case p < 80:
				k = 3
				r.halfRequestReset(rng)
			case p < 90:
				k = 4
				r.halfClose(rng)
			default:
				k = 5
				r.cutGet(hc, rng)
			}
			counts[k].Add(1)
			if ctx.Err() != nil {
				return
			}
		}
	})
	r.res.mu.Lock()
	r.res.ops = make(map[string]int64)
	var parts []string
	for i, name := range chaosOps {
		r.res.ops[name] = counts[i].Load()
		parts = append(parts, fmt.Sprintf("%s %d", name, counts[i].Load()))
	}
	r.res.notes = append(r.res.notes, strings.Join(parts, ", "))
	r.res.mu.Unlock()
}

// chaosOps names chaos's exchanges, in the order of its switch.
var chaosOps = [...]string{"get", "upload", "cancel", "reset", "halfclose", "cut"}

// rng returns a random source for client id, different in every run and
// call, derived from the command's seed.
func (r *run) rng(id int) *rand.Rand {
	return rand.New(rand.NewPCG(r.cfg.seed, uint64(id)<<32|uint64(rngCalls.Add(1))))
}

// size picks a body size: mostly small, some large, up to cfg.maxSize.
func (r *run) size(rng *rand.Rand) int64 {
	switch p := rng.IntN(10); {
	case p < 5:
		return rng.Int64N(16 << 10)
	case p < 9:
		return rng.Int64N(min(256<<10, r.cfg.maxSize) + 1)
	default:
		return rng.Int64N(r.cfg.maxSize + 1)
	}
}

// get fetches a body of random size and checks every byte.
func (r *run) get(hc *http.Client, rng *rand.Rand) {
	seed, size := rng.Uint64(), r.size(rng)
	what := fmt.Sprintf("GET /get?seed=%d&size=%d", seed, size)
	o := r.watch.begin(what)
	ctx, cancel := r.opContext()
	defer cancel()
	err := r.fetch(ctx, hc, o, seed, size)
	r.settle(o, what, err, false)
}

// fetch GETs seed's content of size and checks it.
func (r *run) fetch(ctx context.Context, hc *http.Client, o *op, seed uint64, size int64) error {
	resp, err := r.getChecked(ctx, hc, fmt.Sprintf("/get?seed=%d&size=%d", seed, size), size)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = checkBody(resp.Body, seed, size, o.progress.Store)
	return err
}

// upload sends a body of random size and checks the hash the server
// returns against the one computed while sending.
func (r *run) upload(hc *http.Client, rng *rand.Rand) {
	seed, size := rng.Uint64(), r.size(rng)
	what := fmt.Sprintf("POST /upload of seed %d size %d", seed, size)
	o := r.watch.begin(what)
	ctx, cancel := r.opContext()
	defer cancel()
	h := sha256.New()
	body := func() io.Reader { h.Reset(); return io.TeeReader(&contentReader{seed: seed, size: size}, h) }
	req, _ := http.NewRequestWithContext(ctx, "POST", r.url("/upload"), body())
	req.ContentLength = size
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(body()), nil }
	err := func() error {
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("%x %d", h.Sum(nil), size); string(got) != want {
			return &contentError{fmt.Sprintf("server hashed %q, want %q", got, want)}
		}
		return nil
	}()
	r.settle(o, what, err, false)
}

// cancelGet fetches a large body, checks a random part of it, and cancels
// the request before the end.
func (r *run) cancelGet(hc *http.Client, rng *rand.Rand) {
	seed := rng.Uint64()
	size := max(64<<10, rng.Int64N(r.cfg.maxSize+1))
	stop := rng.Int64N(size / 2)
	what := fmt.Sprintf("GET /get?seed=%d&size=%d cancelled after %d bytes", seed, size, stop)
	o := r.watch.begin(what)
	ctx, cancel := r.opContext()
	defer cancel()
	err := func() error {
		resp, err := r.getChecked(ctx, hc, fmt.Sprintf("/get?seed=%d&size=%d", seed, size), size)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := checkBody(io.LimitReader(resp.Body, stop), seed, size, o.progress.Store)
		if n != stop && err == nil {
			err = fmt.Errorf("read %d of %d", n, stop)
		}
		var ce *contentError
		if errors.As(err, &ce) || n != stop {
			return err
		}
		cancel()
		return nil
	}()
	r.settle(o, what, err, true)
}

// halfRequestReset connects, sends half a request and resets the
// connection (SO_LINGER 0).
func (r *run) halfRequestReset(rng *rand.Rand) {
	what := "half a request, then a reset"
	o := r.watch.begin(what)
	err := r.resetConn(rng)
	r.settle(o, what, err, true)
}

// resetConn is one connection sending half a request and resetting.
func (r *run) resetConn(rng *rand.Rand) error {
	ctx, cancel := r.opContext()
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.srv.addr)
	if err != nil {
		return err
	}
	req := fmt.Sprintf("GET /get?seed=1&size=%d HTTP/1.1\r\nHost: soak\r\nX-Pad: %0*d\r\n\r\n", rng.IntN(1<<20), rng.IntN(200), 0)
	c.SetDeadline(time.Now().Add(r.cfg.bound))
	if _, err := io.WriteString(c, req[:rng.IntN(len(req)-4)+1]); err != nil {
		c.Close()
		return err
	}
	c.(*net.TCPConn).SetLinger(0)
	return c.Close()
}

// halfClose sends a whole request on a fresh connection, shuts down its
// sending side, and must still read the whole response.
func (r *run) halfClose(rng *rand.Rand) {
	seed, size := rng.Uint64(), r.size(rng)
	what := fmt.Sprintf("half-closed GET /get?seed=%d&size=%d", seed, size)
	o := r.watch.begin(what)
	err := func() error {
		ctx, cancel := r.opContext()
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", r.srv.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		dl, _ := ctx.Deadline()
		c.SetDeadline(dl)
		path := fmt.Sprintf("/get?seed=%d&size=%d", seed, size)
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", path); err != nil {
			return err
		}
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			return err
		}
		req, _ := http.NewRequest("GET", r.url(path), nil)
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || resp.ContentLength != size {
			return fmt.Errorf("status %d, length %d", resp.StatusCode, resp.ContentLength)
		}
		_, err = checkBody(resp.Body, seed, size, o.progress.Store)
		return err
	}()
	r.settle(o, what, err, false)
}

// cutGet asks for a body the handler cuts with its write deadline after
// a random number of bytes: the client must get exactly that many bytes
// of the content and then an error.
func (r *run) cutGet(hc *http.Client, rng *rand.Rand) {
	seed := rng.Uint64()
	size := max(1, r.size(rng))
	cut := rng.Int64N(size)
	what := fmt.Sprintf("GET /cut?seed=%d&size=%d&cut=%d", seed, size, cut)
	o := r.watch.begin(what)
	err := func() error {
		ctx, cancel := r.opContext()
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", r.url("/cut?seed="+strconv.FormatUint(seed, 10)+
			"&size="+strconv.FormatInt(size, 10)+"&cut="+strconv.FormatInt(cut, 10)), nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != size {
			return fmt.Errorf("status %d, length %d", resp.StatusCode, resp.ContentLength)
		}
		n, err := checkBody(resp.Body, seed, size, o.progress.Store)
		var ce *contentError
		switch {
		case errors.As(err, &ce):
			return err
		case err == nil:
			return errors.New("the whole body arrived: the write deadline cut nothing")
		case n != cut:
			return fmt.Errorf("got %d bytes before the cut, want %d: %v", n, cut, err)
		}
		return nil
	}()
	r.settle(o, what, err, true)
}

// settle ends o and records the exchange what: a violation when err is
// set, else one completed, or, with aborted, one the client ended on
// purpose (a cancel, a reset, a cut body).
func (r *run) settle(o *op, what string, err error, aborted bool) {
	d := o.end()
	switch {
	case err != nil:
		r.res.violate("%s: %v", what, err)
	case aborted:
		r.res.aborted.Add(1)
	default:
		r.res.exchange(d)
	}
}

// getChecked GETs path and checks the response's status and length (the
// body's size); the caller closes the body.
func (r *run) getChecked(ctx context.Context, hc *http.Client, path string, size int64) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", r.url(path), nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 || resp.ContentLength != size {
		resp.Body.Close()
		return nil, fmt.Errorf("status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	return resp, nil
}
