package router

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/copytrade/copytrade/rpc/ops"
)

// Metrics are the router's Prometheus collectors, in their own registry (several routers
// may live in one test process). Latencies are in seconds.
type Metrics struct {
	Registry *prometheus.Registry

	forward  *prometheus.HistogramVec // forwarded calls end to end (retries included), by method and outcome
	attempt  *prometheus.HistogramVec // single attempts at a member, by method
	follows  *prometheus.CounterVec   // redirects followed: not_leader, moved, moving, not_owned, member_down
	refresh  prometheus.Histogram     // slot-map refreshes
	refusals *prometheus.CounterVec   // edge refusals: invalid_argument (auth refusals: see the guard)
}

func newMetrics() *Metrics {
	lat := prometheus.ExponentialBuckets(50e-6, 2, 18) // 50µs .. ~6.5s
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		forward: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "copytrade_router_forward_seconds", Help: "Forwarded calls, retries included, by method and outcome.", Buckets: lat,
		}, []string{"method", "outcome"}),
		attempt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "copytrade_router_attempt_seconds", Help: "Single attempts at a group member, by method.", Buckets: lat,
		}, []string{"method"}),
		follows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "copytrade_router_redirects_total", Help: "Redirects and retries followed, by reason (not_leader, moved, moving, not_owned, member_down, no_leader).",
		}, []string{"reason"}),
		refresh: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "copytrade_router_slotmap_refresh_seconds", Help: "Relearning the slot map from every group.", Buckets: lat,
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "copytrade_router_refusals_total", Help: "Calls refused at the router, by code.",
		}, []string{"code"}),
	}
	m.Registry.MustRegister(m.forward, m.attempt, m.follows, m.refresh, m.refusals,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}), ops.BuildInfo())
	for _, reason := range []string{"not_leader", "moved", "moving", "not_owned", "member_down", "no_leader"} {
		m.follows.WithLabelValues(reason)
	}
	return m
}

// Redirects is the number of redirects followed for reason (tests, status).
func (m *Metrics) Redirects(reason string) float64 {
	c, err := m.follows.GetMetricWithLabelValues(reason)
	if err != nil {
		return 0
	}
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return 0
	}
	return d.GetCounter().GetValue()
}
