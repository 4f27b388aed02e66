package shard

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/ops"
)

// Register adds c to the node's registry under its group and node labels (e.g. the
// token guard's refusal counts).
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Metrics are a node's Prometheus collectors, in their own registry (several nodes
// may live in one test process). Latencies are in seconds. Every series carries the
// const labels group and node (NewLabeled); counters with a known label set start at 0
// so alert rules need no `or vector(0)`.
type Metrics struct {
	Registry *prometheus.Registry

	apply         *prometheus.HistogramVec // FSM apply per op
	commit        prometheus.Histogram     // propose → committed and applied on the leader
	stage         *prometheus.HistogramVec // fan-out stages: queue, commit, dispatch, total
	gateway       *prometheus.HistogramVec // gateway round trips: place, query, marks, transfer
	gatewayErrors *prometheus.CounterVec
	fanoutOrders  prometheus.Histogram // orders planned per command
	dispatchBatch prometheus.Histogram // orders per PlaceOrders request
	resultsBatch  prometheus.Histogram // results per OrderResults command
	pendingOrders prometheus.Gauge     // pending orders in the machine (sampled)
	reconcileDue  prometheus.Gauge     // orders the reconciler handled in its last pass
	replaced      prometheus.Counter   // orders placed by the reconciler after NOT_FOUND
	leaderChanges prometheus.Counter   // times this node gained leadership
	isLeader      prometheus.Gauge
	fills         *prometheus.CounterVec // fills by outcome code (COPIED_ORDER: copies refused as signals)
	mismatches    prometheus.Counter     // fills whose venue position differed from the tracked one
	quarantined   prometheus.Counter     // orders this leader's OrderResults put in quarantine
	copierOrders  *prometheus.CounterVec // copier orders by outcome: planned, skipped, placed, rejected (leader)

	reg prometheus.Registerer // Registry with the const labels
}

func newMetrics() *Metrics { return newLabeledMetrics(nil) }

// newLabeledMetrics registers every collector with labels as const labels.
func newLabeledMetrics(labels prometheus.Labels) *Metrics {
	lat := prometheus.ExponentialBuckets(50e-6, 2, 18) // 50µs .. ~6.5s
	size := prometheus.ExponentialBuckets(1, 2, 16)    // 1 .. 32768
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		apply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "copytrade_fsm_apply_seconds", Help: "Time to apply one log entry to the machine.", Buckets: lat,
		}, []string{"op"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "copytrade_raft_commit_seconds", Help: "Propose to committed and applied on the leader.", Buckets: lat,
		}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "copytrade_fanout_stage_seconds", Help: "Fan-out latency per stage (queue, commit, dispatch, total).", Buckets: lat,
		}, []string{"stage"}),
		gateway: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "copytrade_gateway_seconds", Help: "Gateway round trips by call.", Buckets: lat,
		}, []string{"call"}),
		gatewayErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "copytrade_gateway_errors_total", Help: "Gateway calls that failed or timed out.",
		}, []string{"call"}),
		fanoutOrders: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "copytrade_fanout_orders", Help: "Copier orders planned per command.", Buckets: size,
		}),
		dispatchBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "copytrade_dispatch_batch_orders", Help: "Orders per PlaceOrders request.", Buckets: size,
		}),
		resultsBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "copytrade_results_batch_results", Help: "Results per OrderResults command.", Buckets: size,
		}),
		pendingOrders: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "copytrade_pending_orders", Help: "Pending copier orders in the machine.",
		}),
		reconcileDue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "copytrade_reconcile_orders", Help: "Orders the reconciler queried in its last pass.",
		}),
		replaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "copytrade_reconcile_placed_total", Help: "Orders placed by the reconciler after the gateway did not know them.",
		}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "copytrade_leader_changes_total", Help: "Times this node gained leadership.",
		}),
		isLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "copytrade_is_leader", Help: "1 while this node leads its group.",
		}),
		fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "copytrade_fills_total", Help: "Fills received, by outcome code.",
		}, []string{"code"}),
		mismatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "copytrade_position_mismatch_total", Help: "Fills whose venue position before the fill differed from the machine's tracked one (the venue's was used).",
		}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "copytrade_orders_quarantined_total", Help: "Orders put in quarantine by a venue report that breaks the gateway's contract (ctl orders --quarantined).",
		}),
		copierOrders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "copytrade_copier_orders_total", Help: "Copier orders on the leader by outcome: planned and skipped by fills, placed and rejected by the venue results it commits (a result repeated after a failover counts again).",
		}, []string{"outcome"}),
	}
	reg := prometheus.WrapRegistererWith(labels, m.Registry)
	m.reg = reg
	reg.MustRegister(m.apply, m.commit, m.stage, m.gateway, m.gatewayErrors, m.fanoutOrders,
		m.dispatchBatch, m.resultsBatch, m.pendingOrders, m.reconcileDue, m.replaced,
		m.leaderChanges, m.isLeader, m.fills, m.mismatches, m.quarantined, m.copierOrders,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}), ops.BuildInfo())
	for _, o := range []string{"planned", "skipped", "placed", "rejected"} {
		m.copierOrders.WithLabelValues(o)
	}
	for _, call := range []string{"place", "query", "marks", "transfer"} {
		m.gatewayErrors.WithLabelValues(call)
	}
	for _, code := range []ct.ErrorCode{ct.ErrorCode_OK, ct.ErrorCode_DUPLICATE_FILL, ct.ErrorCode_FILL_TOO_OLD,
		ct.ErrorCode_MOVING, ct.ErrorCode_MOVED, ct.ErrorCode_NOT_OWNED, ct.ErrorCode_NOT_LEADER,
		ct.ErrorCode_UNKNOWN_TRADER, ct.ErrorCode_NOT_LEAD_TRADER, ct.ErrorCode_UNKNOWN_INSTRUMENT,
		ct.ErrorCode_INVALID_ARGUMENT, ct.ErrorCode_UNAVAILABLE, ct.ErrorCode_DEADLINE, ct.ErrorCode_COPIED_ORDER, ct.ErrorCode_IMPLAUSIBLE_FILL} {
		m.fills.WithLabelValues(code.String())
	}
	return m
}

func (m *Metrics) observeApply(op raftfsm.Op, d time.Duration) {
	m.apply.WithLabelValues(opName(op)).Observe(d.Seconds())
}

// countResults counts a committed OrderResults batch: rejected, or placed (filled in
// whole or in part).
func (m *Metrics) countResults(batch []raftfsm.OrderResult) {
	var placed, rejected int
	for i := range batch {
		switch batch[i].Status {
		case raftfsm.OrderRejected:
			rejected++
		case raftfsm.OrderFilled, raftfsm.OrderPartiallyFilled:
			placed++
		}
	}
	m.copierOrders.WithLabelValues("placed").Add(float64(placed))
	m.copierOrders.WithLabelValues("rejected").Add(float64(rejected))
}
