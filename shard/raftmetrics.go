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
	if _, err := metrics.NewGlobal(cfg, sink); err != nil {
		return fmt.Errorf("shard: raft metrics: %w", err)
	}
	return nil
}
