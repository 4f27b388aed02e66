package shard

import (
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestRaftOwnMetricsExported: with ExportRaftMetrics, hashicorp/raft's own metrics (its
// commit time, follower replication) appear in the node's registry with its group and node labels.
func TestRaftOwnMetricsExported(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	n := c.leaderNode()
	if err := n.ExportRaftMetrics(); err != nil {
		t.Fatal(err)
	}
	want := []string{"copytrade_raft_commitTime", "copytrade_raft_replication_appendEntries_rpc"}
	waitFor(t, 10*time.Second, 50*time.Millisecond, func() bool {
		c.cmd(&raftfsm.Noop{})
		mfs, err := n.metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, mf := range mfs {
			for _, w := range want {
				if mf.GetName() != w || len(mf.GetMetric()) == 0 {
					continue
				}
				labels := map[string]string{}
				for _, l := range mf.GetMetric()[0].GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["group"] == "1" && labels["node"] == n.ID() {
					found++
				}
			}
		}
		if found < len(want) {
			var names []string
			for _, mf := range mfs {
				if strings.HasPrefix(mf.GetName(), "copytrade_raft") {
					names = append(names, mf.GetName())
				}
			}
			t.Logf("raft series so far: %v", names)
		}
		return found == len(want)
	})
	// The per-RPC timers are filtered out (raftMetricsAllowed).
	mfs, err := n.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if name := mf.GetName(); strings.HasPrefix(name, "copytrade_raft_rpc_") || strings.HasPrefix(name, "copytrade_raft_net_") ||
			strings.HasPrefix(name, "copytrade_raft_fsm_apply") || name == "copytrade_raft_apply" {
			t.Errorf("raft's per-RPC series %s is exported", name)
		}
	}
}
