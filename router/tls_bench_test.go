package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/router"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/bench"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// BenchmarkTLSOverhead measures, in one run, the same in-process cluster (router, 3
// nodes, exchsim on loopback, tokens on) without and with mutual TLS on every hop:
//   - rtt: one GetTrader straight to the leader (one Kitex round trip, a stale read);
//   - fanout: SubmitFill(wait=ACKED) through the router for a trader with 200 copiers
//     (router → leader → raft commit on 3 nodes → 200 orders to exchsim → results).
//
// It reports p50 and p99 per iteration. Run:
//
//	go test -run '^$' -bench BenchmarkTLSOverhead -benchtime 200x ./router/
//
// (every fill opens and the copiers' positions grow: keep -benchtime at 200x or less).
func BenchmarkTLSOverhead(b *testing.B) {
	for _, mode := range []struct {
		name string
		tls  bool
	}{{"plain", false}, {"tls", true}} {
		b.Run(mode.name, func(b *testing.B) { benchTLSMode(b, mode.tls) })
	}
}

// benchTLSMode runs the rtt and fanout sub-benchmarks on a cluster of its own, stopped
// before the next mode's starts.
func benchTLSMode(b *testing.B, withTLS bool) {
	{
		c := testcluster.New(b, testcluster.Options{Groups: 1, Mode: exchsim.Strict, Auth: true, TLS: withTLS})
		trader := testcluster.TraderIn(1, 1, 1, 3_000_000)[0]
		for cp := int64(7_000_000); cp < 7_000_200; cp++ { // wallets that never run out over the run
			if _, _, err := c.Sim.CreateAccount(cp, fixed.MustParse("1000000000"), exchsim.Hedge); err != nil {
				b.Fatal(err)
			}
		}
		c.Seed([]int64{trader}, 200, 7_000_000)
		leader := c.LeaderClient(1)
		report := func(b *testing.B, h *bench.Histogram) {
			b.ReportMetric(float64(h.Quantile(0.50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(h.Quantile(0.99).Microseconds()), "p99-µs")
		}
		b.Run("rtt", func(b *testing.B) {
			h := bench.NewHistogram()
			ctx := c.Admin
			req := &ct.GetTraderRequest{Trader: trader, ReadOpts: &ct.ReadOptions{AllowStale: true}}
			for i := 0; i < 50; i++ { // warm the connection pool
				if _, err := leader.GetTrader(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := leader.GetTrader(ctx, req); err != nil {
					b.Fatal(err)
				}
				h.Record(time.Since(t0))
			}
			report(b, h)
		})
		tradeID := int64(0)
		b.Run("fanout", func(b *testing.B) {
			h := bench.NewHistogram()
			ts := c.As("trading-system", "bench")
			partial := 0
			for i := 0; i < b.N; i++ {
				tradeID++
				f := testcluster.OpenFill(trader, tradeID) // 200 opening orders (a rejection is an answer too)
				ctx, cancel := context.WithTimeout(ts, 10*time.Second)
				t0 := time.Now()
				resp, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: trader, Fill: f, Wait: ct.WaitFor_ACKED})
				d := time.Since(t0)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				// A fill some copiers skipped (a leader change left their orders pending) is
				// not a 200-order fan-out: counted apart, not timed.
				if o := resp.Outcome; o.OrdersPlanned == 200 && o.Placed+o.Rejected == 200 {
					h.Record(d)
				} else {
					partial++
				}
				// ACKED answers when the venue has; the results commit just after. A copier
				// with an order still pending skips the next fill: wait (untimed).
				b.StopTimer()
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					st, err := c.Cli.GroupStatus(router.WithGroup(c.Admin, 1), &ct.GroupStatusRequest{})
					if err == nil && st.PendingOrders == 0 {
						break
					}
				}
				b.StartTimer()
			}
			report(b, h)
			b.ReportMetric(float64(partial), "partial-fills")
		})
	}
}
