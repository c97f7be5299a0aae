//go:build linux

package uringnet

import (
	"context"
	"net"
	"time"

	"github.com/ourio-go/ourio/internal/neterr"
)

// dialTargets is one TCP dial's resolved addresses and what connecting
// them needs.
type dialTargets struct {
	d       *Dialer
	e       *engine
	network string
}

// serial tries addrs in order, giving each a share of the time left as
// package net does, and returns the first connection or the first error;
// a context that ends between two addresses ends the dial with its own
// error, as in net.
func (t *dialTargets) serial(ctx context.Context, addrs []*net.TCPAddr) (net.Conn, error) {
	var first error
	for i, ra := range addrs {
		if err := ctx.Err(); err != nil {
			return nil, &net.OpError{Op: "dial", Net: t.network, Source: t.d.LocalAddr, Addr: ra, Err: neterr.FromContext(err)}
		}
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if deadline, ok := ctx.Deadline(); ok {
			pd, ok := partialDeadline(time.Now(), deadline, len(addrs)-i)
			if !ok {
				if first == nil {
					first = &net.OpError{Op: "dial", Net: t.network, Source: t.d.LocalAddr, Addr: ra, Err: neterr.ErrTimeout}
				}
				break
			}
			if pd.Before(deadline) {
				dctx, cancel = context.WithDeadline(ctx, pd)
			}
		}
		c, err := t.d.dialTCP(dctx, t.e, t.network, ra)
		cancel()
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// partialDeadline is the deadline for one of addrsRemaining addresses, as
// package net computes it: an equal share of the time left but at least
// two seconds. It reports false when no time is left.
func partialDeadline(now, deadline time.Time, addrsRemaining int) (time.Time, bool) {
	timeRemaining := deadline.Sub(now)
	if timeRemaining <= 0 {
		return time.Time{}, false
	}
	each := timeRemaining / time.Duration(addrsRemaining)
	const saneMinimum = 2 * time.Second
	if each < saneMinimum {
		each = min(saneMinimum, timeRemaining)
	}
	return now.Add(each), true
}

// parallel races the primaries against the fallbacks, which start after
// the Dialer's FallbackDelay (300ms by default) or as soon as every primary
// has failed, as package net's Happy Eyeballs does. The first connection
// wins; a later one is closed. When both fail, the primaries' error is
// returned.
func (t *dialTargets) parallel(ctx context.Context, primaries, fallbacks []*net.TCPAddr) (net.Conn, error) {
	type result struct {
		c       net.Conn
		err     error
		primary bool
	}
	results := make(chan result)
	returned := make(chan struct{})
	defer close(returned)
	race := func(ctx context.Context, addrs []*net.TCPAddr, primary bool) {
		c, err := t.serial(ctx, addrs)
		select {
		case results <- result{c, err, primary}:
		case <-returned:
			if c != nil {
				c.Close()
			}
		}
	}
	primaryCtx, cancelPrimary := context.WithCancel(ctx)
	defer cancelPrimary()
	go race(primaryCtx, primaries, true)

	delay := t.d.FallbackDelay
	if delay == 0 {
		delay = 300 * time.Millisecond
	}
	fallbackTimer := time.NewTimer(delay)
	defer fallbackTimer.Stop()
	var primaryErr error
	primaryDone, fallbackDone, fallbackStarted := false, false, false
	for {
		select {
		case <-fallbackTimer.C:
			if !fallbackStarted {
				fallbackStarted = true
				fallbackCtx, cancelFallback := context.WithCancel(ctx)
				defer cancelFallback()
				go race(fallbackCtx, fallbacks, false)
			}
		case res := <-results:
			if res.err == nil {
				return res.c, nil
			}
			if res.primary {
				primaryDone, primaryErr = true, res.err
				if !fallbackStarted {
					fallbackTimer.Reset(0) // no reason to wait any longer
				}
			} else {
				fallbackDone = true
			}
			if primaryDone && fallbackDone {
				return nil, primaryErr
			}
		}
	}
}
