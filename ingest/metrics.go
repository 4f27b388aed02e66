package ingest

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingest's collectors, in its own registry (served on -http by the
// command). Rates (records/s, filtered/s, forwarded/s) are rate() of the counters.
type Metrics struct {
	Registry *prometheus.Registry

	records       *prometheus.CounterVec // topic
	filtered      prometheus.Counter     // non-lead fills dropped before any RPC
	forwarded     *prometheus.CounterVec // outcome: applied, duplicate, refused
	retries       *prometheus.CounterVec // code: a batch's fill answered transiently
	deadLetters   *prometheus.CounterVec // reason: decode, invalid
	lag           *prometheus.GaugeVec   // topic, partition: high watermark − next offset to commit
	latency       prometheus.Histogram   // record timestamp → applied
	batch         prometheus.Histogram   // fills per forwarded batch
	paused        prometheus.Gauge       // partitions whose fetching is paused
	leadTraders   prometheus.Gauge       // size of the set in force
	refresh       prometheus.Histogram   // one refresh of the set
	refreshErrors prometheus.Counter     // refreshes that failed (the old set stays)
	stats         struct{ records, filtered, forwarded, dead atomic.Int64 }
}

func newMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "copytrade_ingest_records_total",
		Help: "Fill records consumed, by topic."}, []string{"topic"})
	m.filtered = prometheus.NewCounter(prometheus.CounterOpts{Name: "copytrade_ingest_filtered_total",
		Help: "Fills of traders not in the lead-trader set, dropped before any RPC."})
	m.forwarded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "copytrade_ingest_forwarded_total",
		Help: "Fills forwarded and answered for good, by outcome (applied, duplicate, refused)."}, []string{"outcome"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "copytrade_ingest_retries_total",
		Help: "Fills answered transiently (group down, no leader, moving), to be resent, by code."}, []string{"code"})
	m.deadLetters = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "copytrade_ingest_dead_letters_total",
		Help: "Malformed records sent to the dead-letter topic, by reason (decode, invalid)."}, []string{"reason"})
	m.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "copytrade_ingest_consumer_lag",
		Help: "Records of a partition not yet done: high watermark minus the next offset to commit."}, []string{"topic", "partition"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "copytrade_ingest_latency_seconds",
		Help:    "Record timestamp to the fill applied (answered OK by its group).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)})
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "copytrade_ingest_batch_fills",
		Help: "Fills per forwarded batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	m.paused = prometheus.NewGauge(prometheus.GaugeOpts{Name: "copytrade_ingest_paused_partitions",
		Help: "Partitions whose fetching is paused by backpressure."})
	m.leadTraders = prometheus.NewGauge(prometheus.GaugeOpts{Name: "copytrade_ingest_lead_traders",
		Help: "Traders in the lead-trader set in force."})
	m.refresh = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "copytrade_ingest_leadset_refresh_seconds",
		Help: "One refresh of the lead-trader set from every group.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.refreshErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "copytrade_ingest_leadset_refresh_errors_total",
		Help: "Refreshes of the lead-trader set that failed (the previous set stays in force)."})
	m.Registry.MustRegister(m.records, m.filtered, m.forwarded, m.retries, m.deadLetters, m.lag, m.latency,
		m.batch, m.paused, m.leadTraders, m.refresh, m.refreshErrors)
	return m
}
