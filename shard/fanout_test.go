package shard

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

func TestNoopThroughGroup(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	var n *Node
	for i := 0; i < 20; i++ {
		n = c.leaderNode()
		if _, _, err := n.Noop(context.Background()); err != nil {
			var nl *NotLeaderError
			if !asNotLeader(err, &nl) {
				t.Fatal(err)
			}
			i-- // an election right after bootstrap: try the new leader
		}
	}
	n = c.leaderNode()
	// A follower refuses with the leader's RPC address.
	for _, f := range c.live() {
		if f != n {
			_, _, err := f.Noop(context.Background())
			var nl *NotLeaderError
			if !asNotLeader(err, &nl) || nl.LeaderAddr != c.memberOf(n).RPCAddr {
				t.Fatalf("follower: %v", err)
			}
			break
		}
	}
}

func TestFanout500(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.NoDedup})
	copiers := c.seed(testTrader, 500, 2_000_000)
	steps := []struct {
		side raftfsm.Side
		qty  string
	}{
		{raftfsm.Buy, "1"},    // open
		{raftfsm.Buy, "0.5"},  // increase
		{raftfsm.Sell, "0.6"}, // partial close
		{raftfsm.Sell, "0.9"}, // close
	}
	total := 0
	for i, s := range steps {
		start := time.Now()
		planned := c.fill(testTrader, int64(i+1), s.side, raftfsm.Long, s.qty)
		// Opens: one order per follow (-1: a retry found the fill committed). A close
		// may find the copies' opens still pending (their results are batched): it is
		// owed (CLOSE_OWED) and planned by the OrderResults that fill them, so it is
		// not counted here; the order-sequence and flatness checks below cover it.
		if s.side == raftfsm.Buy && planned >= 0 && planned < 400 {
			t.Fatalf("step %d: %d orders planned for 500 follows", i, planned)
		}
		total += max(planned, 0)
		t.Logf("step %d: %d orders acknowledged in %s", i, planned, time.Since(start))
	}
	c.settled(20 * time.Second)
	// The steps run back to back, so a step's fill may be applied before the previous
	// step's open results: the close then covers only filled quantity, and opens that
	// fill after the trader is flat are closed by orders the OrderResults command plans
	// (orphans). So every order the machine planned for the trader — its order
	// sequence — must have been sent, and nothing else; checkLedgers below asserts each
	// exists exactly once at exchsim.
	var seq uint64
	c.leaderNode().Read(func(m *raftfsm.Machine) {
		if tv, ok := m.Trader(testTrader); ok {
			seq = tv.OrderSeq
		}
	})
	if got := len(c.gw.ids()); uint64(got) != seq || got < total {
		t.Errorf("%d distinct orders sent; the machine planned %d (%d from the fills' answers)", got, seq, total)
	}
	c.checkLedgers(copiers, testTrader)
	// After the close every copier's attributed position is flat.
	c.leaderNode().Read(func(m *raftfsm.Machine) {
		for _, cp := range copiers {
			if f, ok := m.Follow(cp, testTrader); ok && len(f.Positions) != 0 {
				t.Errorf("copier %d still holds %+v", cp, f.Positions)
				return
			}
		}
	})
}

// TestRefusedFillNeverReachesTheLog: the leader runs the machine's CheckFillAt before
// proposing, so fills the machine would refuse (off the lot step, a duplicate, a
// trader that does not lead, a copied order, an implausible or stale fill) are answered
// without a log entry: the applied index does not move. Each is counted by code.
func TestRefusedFillNeverReachesTheLog(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	c.seed(testTrader, 5, 6_000_000)
	c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "1")
	c.settled(10 * time.Second)
	n := c.leaderNode()
	_, before := n.StateHash()
	for _, tc := range []struct {
		f    raftfsm.TradeFill
		code string
	}{
		{raftfsm.TradeFill{Trader: testTrader, TradeID: 2, Qty: dec("0.0001")}, "INVALID_ARGUMENT"}, // one shape with the edge's field refusals
		{raftfsm.TradeFill{Trader: testTrader, TradeID: 1, Qty: dec("1")}, "DUPLICATE_FILL"},
		{raftfsm.TradeFill{Trader: 999, TradeID: 1, Qty: dec("1")}, "UNKNOWN_TRADER"},
		// A copier who also leads: its copy of trade 1 comes back as its own fill.
		{raftfsm.TradeFill{Trader: testTrader, TradeID: 3, Qty: dec("1"), ClientOrderID: "c" + strconv.FormatInt(int64(testTrader), 36) + "-1"}, "COPIED_ORDER"},
		{raftfsm.TradeFill{Trader: testTrader, TradeID: 4, Qty: dec("90000000")}, "IMPLAUSIBLE_FILL"},
	} {
		f := tc.f
		f.Instrument, f.Side, f.PosSide, f.Price = testSymbol, raftfsm.Buy, raftfsm.Long, dec("60000")
		f.Leverage, f.MarginMode, f.Equity = 10, raftfsm.Cross, dec("100000")
		venueV2(n, &f)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		o := n.SubmitFill(ctx, f, true, time.Now())
		cancel()
		if o.Code.String() != tc.code {
			t.Errorf("trade %d of %d: got %s (%s), want %s", f.TradeID, f.Trader, o.Code, o.Message, tc.code)
		}
	}
	if _, after := n.StateHash(); after != before {
		t.Fatalf("applied index moved from %d to %d: a refused fill reached the log", before, after)
	}
	if got := testutil.ToFloat64(n.metrics.fills.WithLabelValues("COPIED_ORDER")); got != 1 {
		t.Errorf("copytrade_fills_total{code=COPIED_ORDER} = %v, want 1", got)
	}
}
