package shard

import (
	"fmt"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	promsink "github.com/hashicorp/go-metrics/compat/prometheus"
)

// ExportRaftMetrics sends hashicorp/raft's own metrics (commit and apply times, follower
// replication and heartbeat times, snapshot create/persist/restore times, FSM apply,
// leadership changes) to this node's registry, under its group and node labels, through
// go-metrics' Prometheus sink. raft reports through go-metrics' process-wide default
// sink, so call it for one node per process (copytrade node does; the embedded dev
// cluster, with several nodes in one process, does not). Names are as raft emits them
// with the prefix copytrade_: e.g. copytrade_raft_commitTime,
// copytrade_raft_replication_appendEntries_rpc.
//
// Only raftMetricsAllowed pass. raft also times every RPC a follower handles (rpc.*,
// net.* — seven samples per AppendEntries), every log dispatch, FSM batch and bolt
// operation; through the Prometheus sink those cost 18 % of an idle follower's CPU in a
// profile (go-metrics' AddSampleWithLabels), for series nothing reads: the node's own
// histograms (commit, apply, stages) cover them.
func (n *Node) ExportRaftMetrics() error {
	sink, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{
		Expiration: 10 * time.Minute,
		Registerer: n.metrics.reg,
	})
	if err != nil {
		return fmt.Errorf("shard: raft metrics sink: %w", err)
	}
	cfg := metrics.DefaultConfig("copytrade")
	cfg.EnableHostname = false
	cfg.EnableRuntimeMetrics = false // the Go collector already exports them
	cfg.EnableServiceLabel = false
	cfg.FilterDefault, cfg.AllowedPrefixes = false, raftMetricsAllowed
	if _, err := metrics.NewGlobal(cfg, sink); err != nil {
		return fmt.Errorf("shard: raft metrics: %w", err)
	}
	return nil
}

// raftMetricsAllowed are the prefixes of raft's metrics exported (go-metrics keys,
// service name first): leader commit time, replication and heartbeats per follower,
// snapshots and restores, leadership and elections, and bolt's periodic freelist gauges.
var raftMetricsAllowed = []string{
	"copytrade.raft.commitTime",
	"copytrade.raft.replication.appendEntries.rpc",
	"copytrade.raft.replication.heartbeat",
	"copytrade.raft.replication.installSnapshot",
	"copytrade.raft.snapshot.",
	"copytrade.raft.fsm.snapshot",
	"copytrade.raft.fsm.restore",
	"copytrade.raft.fsm.lastRestoreDuration",
	"copytrade.raft.restore",
	"copytrade.raft.compactLogs",
	"copytrade.raft.leader.lastContact",
	"copytrade.raft.state.",
	"copytrade.raft.transition.",
	"copytrade.raft.candidate.",
	"copytrade.raft.verify_leader",
	"copytrade.raft.barrier",
	"copytrade.raft.peers",
	"copytrade.raft.boltdb.freelistBytes",
	"copytrade.raft.boltdb.freePageBytes",
	"copytrade.raft.boltdb.numFreePages",
	"copytrade.raft.boltdb.numPendingPages",
}
