package shard

import (
	"sync"

	"github.com/hashicorp/raft"
)

// gatedTransport is raft's NetworkTransport with a gate on the heartbeat fast path.
//
// raft answers heartbeats on the transport's connection goroutine, not on one of its
// own: Raft.Shutdown waits for raft's goroutines only, so a heartbeat that passed its
// shutdown check could still be writing the current term when the node closed its
// bolt store — raft then panics ("failed to save current term: database not open";
// seen in about 1 of 20 looped kills). closeHeartbeats waits for a heartbeat in
// progress and turns later ones away, so the stores close only when nothing of raft
// can touch them.
type gatedTransport struct {
	*raft.NetworkTransport

	mu     sync.RWMutex
	closed bool
}

// SetHeartbeatHandler installs cb behind the gate.
func (t *gatedTransport) SetHeartbeatHandler(cb func(rpc raft.RPC)) {
	if cb == nil {
		t.NetworkTransport.SetHeartbeatHandler(nil)
		return
	}
	t.NetworkTransport.SetHeartbeatHandler(func(rpc raft.RPC) {
		t.mu.RLock()
		defer t.mu.RUnlock()
		if t.closed {
			rpc.Respond(nil, raft.ErrTransportShutdown)
			return
		}
		cb(rpc)
	})
}

// closeHeartbeats returns once no heartbeat is being handled and none will be.
func (t *gatedTransport) closeHeartbeats() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}
