package router

import "errors"

// Sentinel errors of the router; wrapped with context, test with errors.Is. At the RPC
// edge they become CopyTrade business errors (see bizErr in forward.go).
var (
	// ErrTopology: the topology file is unreadable or invalid.
	ErrTopology = errors.New("router: invalid topology")
	// ErrInvalidConfig: a Config field is invalid.
	ErrInvalidConfig = errors.New("router: invalid config")
	// ErrUnavailable: the group that owns the slot has no reachable leader before the
	// deadline, or no group is known to own the slot.
	ErrUnavailable = errors.New("router: unavailable")
	// ErrAmbiguous: a non-idempotent call failed after it was sent; it may have been
	// applied. The router does not resend it.
	ErrAmbiguous = errors.New("router: outcome unknown")
	// ErrClosed: the router is shutting down; its member clients are closed.
	ErrClosed = errors.New("router: closed")
)
