package shard

import (
	"errors"
	"log/slog"
	"net"
	"testing"

	"github.com/hashicorp/raft"
)

// TestRaftPipelineOff: a node's raft transport refuses pipelined replication, so raft
// replicates to each follower with synchronous AppendEntries. hashicorp/raft's
// pipeline (MaxRPCsInFlight 2, unbuffered channels) can deadlock a follower's
// replication after a Success=false answer while heartbeats keep the follower from
// noticing (transportConfig says how).
func TestRaftPipelineOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{cfg: Config{NodeID: "n1"}, log: slog.New(slog.DiscardHandler)}
	tr := n.newTransport(ln, ln.Addr())
	t.Cleanup(func() { _ = tr.Close() })
	if p, err := tr.AppendEntriesPipeline("n2", raft.ServerAddress(ln.Addr().String())); !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		if p != nil {
			_ = p.Close()
		}
		t.Fatalf("AppendEntriesPipeline: %v, want %v", err, raft.ErrPipelineReplicationNotSupported)
	}
}
