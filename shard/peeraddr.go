package shard

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// peerAddrs makes the raft transport dial a peer at an address other than the one in
// the raft configuration (Config.RaftPeerAddrs): fault tests put a proxy on each
// directed peer link (tools/faultproxy).
type peerAddrs map[string]string

func (p peerAddrs) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	if a, ok := p[string(id)]; ok {
		return raft.ServerAddress(a), nil
	}
	return "", fmt.Errorf("shard: no dial override for %s", id) // the transport uses the configured address
}

// transportConfig is the raft TCP transport's configuration; self is the address this
// node advertises.
//
// MaxRPCsInFlight 1 turns hashicorp/raft's pipelined replication off. With the
// default (2) the pipeline's channels are unbuffered, and a follower answering
// Success=false (a log mismatch: after a leader change, a restart, a partition)
// can deadlock that follower's replication goroutine: the decoder has returned, the
// send loop picks a ready trigger over the closed finish channel, and its next send
// waits for a decoder that is itself waiting for a reader (raft v1.7.3
// replication.go pipelineReplicate/pipelineDecode, net_transport.go netPipeline).
// Heartbeats go on from their own goroutine, so the follower never times out: it
// silently stops receiving entries (the group runs on two of three until the leader
// restarts), and the leader's Shutdown hangs on the stuck goroutine — seen once in
// the fault scenarios; grafana/pyroscope#5518 traced the same. Synchronous
// AppendEntries cost little: raft's own analysis (hashicorp/raft#541) found the
// pipeline of little benefit with batching.
func (n *Node) transportConfig(l hclog.Logger, self string) *raft.NetworkTransportConfig {
	tc := &raft.NetworkTransportConfig{MaxPool: 4, Timeout: 5 * time.Second, Logger: l, MaxRPCsInFlight: 1}
	if len(n.cfg.RaftPeerAddrs) > 0 {
		// raft asks for its own address too; a missing entry costs a warning per RPC.
		p := peerAddrs{n.cfg.NodeID: self}
		for id, a := range n.cfg.RaftPeerAddrs {
			p[id] = a
		}
		tc.ServerAddressProvider = p
	}
	return tc
}
