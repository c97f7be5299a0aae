package neterr

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestMatchesNet checks the errors against what package net itself returns
// for a dial whose context has ended.
func TestMatchesNet(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, nerr := (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:1")
	if got := FromContext(context.Canceled); got.Error() != errors.Unwrap(nerr).Error() || !errors.Is(got, context.Canceled) {
		t.Errorf("canceled: %v, net says %v", got, errors.Unwrap(nerr))
	}
	dctx, dcancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer dcancel()
	_, nerr = (&net.Dialer{}).DialContext(dctx, "tcp", "127.0.0.1:1")
	got := FromContext(context.DeadlineExceeded)
	if got.Error() != errors.Unwrap(nerr).Error() || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("timeout: %v, net says %v", got, errors.Unwrap(nerr))
	}
	if errors.Is(got, os.ErrDeadlineExceeded) || errors.Is(nerr, os.ErrDeadlineExceeded) {
		t.Errorf("a dial's timeout matches os.ErrDeadlineExceeded (ours %v, net's %v): it does not in package net", errors.Is(got, os.ErrDeadlineExceeded), errors.Is(nerr, os.ErrDeadlineExceeded))
	}
	var te interface{ Timeout() bool }
	if !errors.As(got, &te) || !te.Timeout() {
		t.Error("the timeout error must report Timeout")
	}
	if FromContext(ErrMissingAddress) != ErrMissingAddress {
		t.Error("other errors pass through")
	}
}
