package shard

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// BenchmarkSignalFanout500: one lead-trader fill through a real 3-node group (fsync on,
// loopback TCP) until all 500 copier orders are acknowledged by exchsim (over Kitex).
// Reports the P50/P99 of that, and the P99 of a no-op commit on the same group (the floor).
func BenchmarkSignalFanout500(b *testing.B) {
	c := newCluster(b, clusterOpts{mode: exchsim.Strict, mutate: func(cfg *Config) {
		cfg.HeartbeatTimeout = 500 * time.Millisecond
		cfg.ElectionTimeout = 500 * time.Millisecond
		cfg.LeaderLeaseTimeout = 250 * time.Millisecond
	}})
	c.seed(testTrader, 500, 7_000_000)
	n := c.leaderNode()
	var commits, dispatches []time.Duration
	fill := func(id int64) time.Duration {
		side, qty := raftfsm.Buy, "0.1"
		if id%2 == 0 {
			side = raftfsm.Sell
		}
		f := raftfsm.TradeFill{Trader: testTrader, TradeID: id, Instrument: testSymbol, Side: side, PosSide: raftfsm.Long,
			Qty: dec(qty), Price: dec("60000"), Leverage: 10, MarginMode: raftfsm.Cross, Equity: dec("100000")}
		venueV2(n, &f)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		o := n.SubmitFill(ctx, f, true, start)
		d := time.Since(start)
		if o.Timings != nil {
			commits = append(commits, time.Duration(o.Timings.CommitUs)*time.Microsecond)
			dispatches = append(dispatches, time.Duration(o.Timings.DispatchUs)*time.Microsecond)
		}
		if o.Code != 0 || o.Placed+o.Rejected != o.OrdersPlanned || o.OrdersPlanned < 400 {
			b.Fatalf("fill %d: %s %s (planned %d placed %d rejected %d)", id, o.Code, o.Message, o.OrdersPlanned, o.Placed, o.Rejected)
		}
		// A close sizes from filled positions: let the results land (not timed).
		waitFor(b, 10*time.Second, time.Millisecond, func() bool {
			p := -1
			n.Read(func(m *raftfsm.Machine) { p = len(m.PendingOrders()) })
			return p == 0
		})
		return d
	}
	for i := int64(1); i <= 10; i++ { // warm up connections and caches
		fill(i)
	}
	lat := make([]time.Duration, 0, b.N)
	commits, dispatches = commits[:0], dispatches[:0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := fill(int64(11 + i))
		lat = append(lat, d)
	}
	b.StopTimer()
	noops := make([]time.Duration, 0, 200)
	for range 200 {
		start := time.Now()
		if _, _, err := n.Noop(context.Background()); err != nil {
			b.Fatal(err)
		}
		noops = append(noops, time.Since(start))
	}
	b.ReportMetric(ms(pct(lat, 50)), "p50_ms")
	b.ReportMetric(ms(pct(lat, 99)), "p99_ms")
	b.ReportMetric(ms(pct(noops, 50)), "noop_p50_ms")
	b.ReportMetric(ms(pct(noops, 99)), "noop_p99_ms")
	// Stages of the fill (from its outcome's timings): propose → committed and applied
	// on the leader, and the fan-out to the gateway.
	b.ReportMetric(ms(pct(commits, 50)), "commit_p50_ms")
	b.ReportMetric(ms(pct(commits, 99)), "commit_p99_ms")
	b.ReportMetric(ms(pct(dispatches, 50)), "dispatch_p50_ms")
	b.ReportMetric(ms(pct(dispatches, 99)), "dispatch_p99_ms")
	b.ReportMetric(pct(lat, 50).Seconds()/pct(noops, 50).Seconds(), "p50/noop_p50")
	b.ReportMetric(pct(lat, 99).Seconds()/pct(noops, 99).Seconds(), "p99/noop_p99")
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
