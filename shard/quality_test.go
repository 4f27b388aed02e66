package shard

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestCopyQuality measures copies against exchsim with a known spread (20 bps: every
// market order fills 10 bps worse than the mark) and a known latency (the trader's fills
// are 300 ms old when they reach the group): the slippage of every copy, opens and closes,
// is +10 bps, the latency at least 300 ms, every order fills, on every replica and on the
// leaderboard.
func TestCopyQuality(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict, sim: func(sc *exchsim.Config) { sc.SpreadBps = 20 }})
	copiers := c.seed(testTrader, 60, 9_100_000)
	marks, err := c.sim.MarkPrices([]string{testSymbol})
	if err != nil {
		t.Fatal(err)
	}
	mark := marks[0].Price
	const age = 300 * time.Millisecond
	submit := func(id int64, side raftfsm.Side, qty string) {
		t.Helper()
		f := raftfsm.TradeFill{Trader: testTrader, TradeID: id, Instrument: testSymbol, Side: side, PosSide: raftfsm.Long,
			Qty: dec(qty), Price: mark, Leverage: 10, MarginMode: raftfsm.Cross, Equity: dec("100000")}
		venueV2(c.leaderNode(), &f)
		f.EventTimeUnixNano = time.Now().Add(-age).UnixNano()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if o := c.leaderNode().SubmitFill(ctx, f, true, time.Now()); o.Code != 0 {
			t.Fatalf("fill %d: %s %s", id, o.Code, o.Message)
		}
	}
	submit(1, raftfsm.Buy, "1")
	c.settled(20 * time.Second)
	submit(2, raftfsm.Sell, "0.5")
	c.settled(20 * time.Second)

	for _, n := range c.live() {
		resp, err := NewHandler(n).GetCopyQuality(context.Background(), &ct.GetCopyQualityRequest{Trader: int64(testTrader), WindowDays: 7,
			ReadOpts: &ct.ReadOptions{AllowStale: true}})
		if err != nil {
			t.Fatal(err)
		}
		q := resp.GetQuality()
		if q.Orders < int32(len(copiers)) || q.Filled != q.Orders || q.LatencySamples != q.Orders || q.FillRatioBps != 10_000 {
			t.Fatalf("%s: %+v", n.ID(), q)
		}
		if q.LatencyP50Us < age.Microseconds() || q.LatencyP99Us > (age+10*time.Second).Microseconds() || q.LatencyP99Us < q.LatencyP50Us {
			t.Errorf("%s: latency P50 %d µs, P99 %d µs: want >= %d", n.ID(), q.LatencyP50Us, q.LatencyP99Us, age.Microseconds())
		}
		mean, p90 := fixed.MustParse(q.SlippageMeanBps), fixed.MustParse(q.SlippageP90Bps)
		if mean < fixed.MustParse("9.9") || mean > fixed.MustParse("10.1") || p90 < fixed.MustParse("9.9") || p90 > fixed.MustParse("10.1") {
			t.Errorf("%s: slippage mean %s, P90 %s bps: want 10 (half the spread, worse for the copier)", n.ID(), q.SlippageMeanBps, q.SlippageP90Bps)
		}
		t.Logf("%s: %d orders, latency P50 %d µs P99 %d µs, slippage mean %s P90 %s bps, fill ratio %d bps",
			n.ID(), q.Orders, q.LatencyP50Us, q.LatencyP99Us, q.SlippageMeanBps, q.SlippageP90Bps, q.FillRatioBps)
	}
	// One copier's own, and the leaderboard's row.
	one, err := NewHandler(c.leaderNode()).GetCopyQuality(context.Background(), &ct.GetCopyQualityRequest{Trader: int64(testTrader), Copier: int64(copiers[7])})
	if err != nil || one.GetQuality().GetOrders() != 2 || one.GetQuality().GetWindowDays() != 30 {
		t.Fatalf("copier %d: %+v, %v", copiers[7], one.GetQuality(), err)
	}
	lb, err := NewHandler(c.leaderNode()).Leaderboard(context.Background(), &ct.LeaderboardRequest{Metric: ct.LeaderMetric_COPIERS, WindowDays: 7, K: 1, ReadOpts: &ct.ReadOptions{}})
	if err != nil || len(lb.Rows) != 1 || lb.Rows[0].Quality.GetOrders() < int32(len(copiers)) || lb.Rows[0].Quality.GetSlippageMeanBps() == "0.00" {
		t.Fatalf("leaderboard: %+v, %v", lb.GetRows(), err)
	}
}

// TestConsecutiveFailuresStopAgainstVenue: copiers whose venue accounts cannot margin any
// order are paused with CONSECUTIVE_FAILURES after the group's limit of rejected opens,
// while funded copiers keep copying; the reason of every rejection is in the history.
func TestConsecutiveFailuresStopAgainstVenue(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	copiers := c.seed(testTrader, 6, 9_200_000)
	broke := []raftfsm.AccountID{9_300_001, 9_300_002}
	for _, id := range broke {
		if _, _, err := c.sim.CreateAccount(int64(id), dec("1"), exchsim.Hedge); err != nil {
			t.Fatal(err)
		}
		if r := c.cmd(&raftfsm.Follow{Copier: id, Trader: testTrader, Settings: raftfsm.FollowSettings{Mode: raftfsm.Multiplier,
			Multiplier: dec("0.1"), Allocation: dec("20000"), LeveragePolicy: raftfsm.LeverageFollowTrader,
			MarginPolicy: raftfsm.MarginFollowTrader, PositionMode: raftfsm.Hedge}}); r.Refusal != nil {
			t.Fatal(r.Refusal)
		}
	}
	if r := c.cmd(&raftfsm.ActivityConfig{MaxConsecutiveFailures: 3}); r.Refusal != nil {
		t.Fatal(r.Refusal)
	}
	for i := int64(1); i <= 4; i++ {
		c.fill(testTrader, i, raftfsm.Buy, raftfsm.Long, "0.1")
		c.settled(20 * time.Second)
	}
	c.leaderNode().Read(func(m *raftfsm.Machine) {
		for _, id := range broke {
			f, ok := m.Follow(id, testTrader)
			if !ok || f.Status != raftfsm.FollowPaused || f.StopReason != "CONSECUTIVE_FAILURES" || f.Failures != 3 {
				t.Errorf("copier %d: %+v", id, f)
			}
			recs, _ := m.Activity(raftfsm.ActivityQuery{Copier: id})
			if len(recs) != 4 || recs[0].Status != raftfsm.ActRejected || recs[0].Reason == "" || recs[3].Skip != raftfsm.SkipPaused {
				t.Errorf("copier %d history: %+v", id, recs)
			}
		}
		for _, id := range copiers {
			if f, _ := m.Follow(id, testTrader); f.Status != raftfsm.FollowActive || f.Failures != 0 {
				t.Errorf("funded copier %d: %+v", id, f)
			}
		}
	})
}
