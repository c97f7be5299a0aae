// Package neterr holds the dial errors package net reports but does not
// export, so uringnet and tlsdial report the same ones.
package neterr

import (
	"context"
	"errors"
)

var (
	// ErrTimeout is net's "i/o timeout" for a dial whose deadline passed:
	// Timeout() is true, and errors.Is matches context.DeadlineExceeded but,
	// as in package net, not os.ErrDeadlineExceeded, which is the error
	// of a connection's deadline.
	ErrTimeout error = timeoutError{}
	// ErrCanceled is net's "operation was canceled"; errors.Is matches
	// context.Canceled.
	ErrCanceled error = canceledError{}
	// ErrMissingAddress is net's error for a dial with no address.
	ErrMissingAddress = errors.New("missing address")
)

// FromContext turns a context's error into the one package net reports.
func FromContext(err error) error {
	switch err {
	case context.DeadlineExceeded:
		return ErrTimeout
	case context.Canceled:
		return ErrCanceled
	}
	return err
}

type timeoutError struct{}

func (timeoutError) Error() string     { return "i/o timeout" }
func (timeoutError) Timeout() bool     { return true }
func (timeoutError) Temporary() bool   { return true }
func (timeoutError) Is(err error) bool { return err == context.DeadlineExceeded }

type canceledError struct{}

func (canceledError) Error() string     { return "operation was canceled" }
func (canceledError) Is(err error) bool { return err == context.Canceled }
