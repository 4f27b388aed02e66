package auth

import "github.com/prometheus/client_golang/prometheus"

var refusalsDesc = prometheus.NewDesc("copytrade_auth_refusals_total",
	"Calls refused by the token guard, by reason (unauthenticated, forbidden, rate_limited).", []string{"reason"}, nil)

// Collector exports the guard's refusal counts by reason; every reason is exported from
// the start (at 0), so alert rules need no `or vector(0)`.
func (g *Guard) Collector() prometheus.Collector { return guardCollector{g} }

type guardCollector struct{ g *Guard }

func (c guardCollector) Describe(ch chan<- *prometheus.Desc) { ch <- refusalsDesc }

func (c guardCollector) Collect(ch chan<- prometheus.Metric) {
	un, fb, lim := c.g.Refusals()
	for _, r := range []struct {
		reason string
		n      int64
	}{{"unauthenticated", un}, {"forbidden", fb}, {"rate_limited", lim}} {
		ch <- prometheus.MustNewConstMetric(refusalsDesc, prometheus.CounterValue, float64(r.n), r.reason)
	}
}
