package shard

import "errors"

// Sentinel errors of the node. Functions wrap them with context; test with errors.Is.
// The RPC handler maps them to CopyTrade business errors (see handler_errors.go).
var (
	// ErrNotLeader: this node is not the group's leader (or lost leadership while the
	// request was in flight). The error carries the leader hint when one is known.
	ErrNotLeader = errors.New("shard: not the leader")
	// ErrUnavailable: the request cannot be served now (no quorum, gateway down, log
	// enqueue timed out); retry later.
	ErrUnavailable = errors.New("shard: unavailable")
	// ErrDeadline: the request's deadline passed first. A proposal may still commit.
	ErrDeadline = errors.New("shard: deadline exceeded")
	// ErrShutdown: the node is shutting down or has stopped.
	ErrShutdown = errors.New("shard: shut down")
	// ErrGatewayDown: a gateway request failed or timed out; the orders stay pending and
	// the reconciler places them exactly once when the gateway answers again.
	ErrGatewayDown = errors.New("shard: gateway unavailable")
)

// NotLeaderError is ErrNotLeader with the leader hint.
type NotLeaderError struct {
	LeaderID   string // raft server ID; empty when no leader is known
	LeaderAddr string // the leader's CopyTrade RPC address; empty when unknown
	// Appended: leadership was lost after the command entered the log (raft's
	// ErrLeadershipLost), so it may still commit under the next leader. Without it the
	// command was refused before the log and is safe to send to the leader.
	Appended bool
}

func (e *NotLeaderError) Error() string {
	msg := ErrNotLeader.Error() + "; no leader known"
	if e.LeaderID != "" {
		msg = ErrNotLeader.Error() + "; the leader is " + e.LeaderID + " at " + e.LeaderAddr
	}
	if e.Appended {
		msg += "; leadership was lost after the command was appended, so it may still commit"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
