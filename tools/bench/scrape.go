package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The bench reads the same latency histograms an operator sees in Prometheus: it
// scrapes the group leader's, the router's and exchsim's /metrics before and after
// each phase and reports the phase's share (after − before) of each histogram, with
// quantiles interpolated inside the buckets (the buckets double, so these are coarse:
// the answers' own timings are the exact figures).

// scrapeTarget is one histogram the report reads: process, metric and label filter.
type scrapeTarget struct {
	key     string // report key
	process string // "leader", "router" or "exchsim"
	metric  string
	labels  map[string]string
}

var scrapeTargets = []scrapeTarget{
	{"leader: raft commit (propose → applied)", "leader", "copytrade_raft_commit_seconds", nil},
	{"leader: FSM apply of a fill", "leader", "copytrade_fsm_apply_seconds", map[string]string{"op": "TradeFill"}},
	{"leader: FSM apply of order results", "leader", "copytrade_fsm_apply_seconds", map[string]string{"op": "OrderResults"}},
	{"leader: stage queue", "leader", "copytrade_fanout_stage_seconds", map[string]string{"stage": "queue"}},
	{"leader: stage commit", "leader", "copytrade_fanout_stage_seconds", map[string]string{"stage": "commit"}},
	{"leader: stage dispatch", "leader", "copytrade_fanout_stage_seconds", map[string]string{"stage": "dispatch"}},
	{"leader: stage total", "leader", "copytrade_fanout_stage_seconds", map[string]string{"stage": "total"}},
	{"leader: gateway PlaceOrders round trip", "leader", "copytrade_gateway_seconds", map[string]string{"call": "place"}},
	{"router: SubmitFill forwarded", "router", "copytrade_router_forward_seconds", map[string]string{"method": "SubmitFill"}},
	{"router: one attempt at a member", "router", "copytrade_router_attempt_seconds", map[string]string{"method": "SubmitFill"}},
	{"exchsim: PlaceOrders served", "exchsim", "copytrade_exchsim_call_seconds", map[string]string{"method": "PlaceOrders"}},
}

// Scraped is one histogram's share of a phase, from /metrics.
type Scraped struct {
	Metric string  `json:"metric"`
	Count  uint64  `json:"count"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	Mean   float64 `json:"mean_ms"`
}

// promHist is a histogram summed over the series that match a filter.
type promHist struct {
	bounds []float64 // upper bounds, seconds, ascending (+Inf excluded)
	cum    []uint64  // cumulative counts per bound
	count  uint64
	sum    float64
}

// scrape fetches url's /metrics text and returns the families by name.
func scrape(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("bench: parse %s: %w", url, err)
	}
	return fams, nil
}

// histOf sums the series of family name whose labels include want.
func histOf(fams map[string]*dto.MetricFamily, name string, want map[string]string) (promHist, bool) {
	var h promHist
	f, ok := fams[name]
	if !ok {
		return h, false
	}
	found := false
	for _, m := range f.GetMetric() {
		if !labelsMatch(m, want) || m.GetHistogram() == nil {
			continue
		}
		found = true
		hh := m.GetHistogram()
		if h.bounds == nil {
			for _, b := range hh.GetBucket() {
				if !math.IsInf(b.GetUpperBound(), 1) {
					h.bounds = append(h.bounds, b.GetUpperBound())
				}
			}
			h.cum = make([]uint64, len(h.bounds))
		}
		for i, b := range hh.GetBucket() {
			if i < len(h.cum) {
				h.cum[i] += b.GetCumulativeCount()
			}
		}
		h.count += hh.GetSampleCount()
		h.sum += hh.GetSampleSum()
	}
	return h, found
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		ok := false
		for _, l := range m.GetLabel() {
			ok = ok || (l.GetName() == k && l.GetValue() == v)
		}
		if !ok {
			return false
		}
	}
	return true
}

// minus is h − before (the same series scraped earlier).
func (h promHist) minus(before promHist) promHist {
	out := promHist{bounds: h.bounds, cum: make([]uint64, len(h.cum)), count: h.count - before.count, sum: h.sum - before.sum}
	for i := range h.cum {
		out.cum[i] = h.cum[i]
		if i < len(before.cum) {
			out.cum[i] -= before.cum[i]
		}
	}
	return out
}

// quantile interpolates linearly inside the bucket that holds rank q·count (seconds).
func (h promHist) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	rank := q * float64(h.count)
	lower, prev := 0.0, uint64(0)
	for i, b := range h.bounds {
		if float64(h.cum[i]) >= rank {
			in := h.cum[i] - prev
			if in == 0 {
				return b
			}
			return lower + (b-lower)*(rank-float64(prev))/float64(in)
		}
		lower, prev = b, h.cum[i]
	}
	return lower // beyond the last finite bucket
}

// metricsSnapshot is every target's histogram at one instant; missing lists targets
// that a process does not expose.
type metricsSnapshot struct {
	hists   map[string]promHist
	missing []string
}

// scrapeAll scrapes the leader of the first group, the router and exchsim.
func (r *runner) scrapeAll(ctx context.Context) metricsSnapshot {
	snap := metricsSnapshot{hists: map[string]promHist{}}
	urls := map[string]string{}
	if a := r.leaderHTTP(ctx); a != "" {
		urls["leader"] = "http://" + a + "/metrics"
	}
	if r.cluster.RouterHTTP != "" {
		urls["router"] = "http://" + r.cluster.RouterHTTP + "/metrics"
	}
	if r.cluster.ExchsimHTTP != "" {
		urls["exchsim"] = "http://" + r.cluster.ExchsimHTTP + "/metrics"
	}
	fams := map[string]map[string]*dto.MetricFamily{}
	for proc, u := range urls {
		f, err := scrape(ctx, u)
		if err != nil {
			r.log.Debug("scrape", "process", proc, "err", err)
			continue
		}
		fams[proc] = f
	}
	for _, t := range scrapeTargets {
		f, ok := fams[t.process]
		if !ok {
			continue
		}
		h, ok := histOf(f, t.metric, t.labels)
		if !ok {
			if _, family := f[t.metric]; !family {
				snap.missing = append(snap.missing, t.process+": "+t.metric)
			}
			continue
		}
		snap.hists[t.key] = h
	}
	return snap
}

// leaderHTTP is the metrics address of group 1's leader ("" when unknown).
func (r *runner) leaderHTTP(ctx context.Context) string {
	g := r.cluster.Groups[0]
	st, err := r.groupStatus(ctx, g.ID)
	if err != nil {
		return ""
	}
	if n := r.cluster.NodeByID(g.ID, st.GetLeaderId()); n != nil {
		return n.HTTPAddr
	}
	return ""
}

// scrapedDelta is the phase's share of every histogram present in both snapshots.
func scrapedDelta(before, after metricsSnapshot) []Scraped {
	var out []Scraped
	for k, a := range after.hists {
		b, ok := before.hists[k]
		if !ok {
			continue
		}
		d := a.minus(b)
		if d.count == 0 || d.count > a.count { // a counter reset (another leader) is not a delta
			continue
		}
		out = append(out, Scraped{Metric: k, Count: d.count, P50: r3(d.quantile(0.5) * 1000), P99: r3(d.quantile(0.99) * 1000),
			Mean: r3(d.sum / float64(d.count) * 1000)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric < out[j].Metric })
	return out
}
