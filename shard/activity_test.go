package shard

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// listAllActivity pages through a trader's activity on one node (any replica: stale reads).
func listAllActivity(t *testing.T, n *Node, trader raftfsm.AccountID) []*ct.ActivityRecord {
	t.Helper()
	h := NewHandler(n)
	var out []*ct.ActivityRecord
	req := &ct.ListActivityRequest{Trader: int64(trader), Limit: 300, ReadOpts: &ct.ReadOptions{AllowStale: true}}
	for pages := 0; ; pages++ {
		resp, err := h.ListActivity(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: ListActivity: %v", n.ID(), err)
		}
		out = append(out, resp.GetRecords()...)
		if resp.GetNextAfter() == "" {
			return out
		}
		if pages > 100 {
			t.Fatal("ListActivity never ends")
		}
		req.After = resp.GetNextAfter()
	}
}

// TestActivityHistory: every decision of a 500-copier fill — orders with their final
// result, skips with their reason (and the cap that decided it) — appears exactly once per
// copier, with the leader killed during the fan-out, and every replica answers the same
// after a restart of the whole group from snapshots.
func TestActivityHistory(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	copiers := c.seed(testTrader, 500, 8_000_000)
	paused := map[raftfsm.AccountID]bool{}
	capped := map[raftfsm.AccountID]bool{}
	for i := 0; i < 10; i++ {
		paused[copiers[i]] = true
		c.cmd(&raftfsm.FollowPause{Copier: copiers[i], Trader: testTrader})
	}
	for i := 10; i < 20; i++ {
		capped[copiers[i]] = true
		pm := raftfsm.Hedge
		if i%5 == 4 {
			pm = raftfsm.OneWay
		}
		if r := c.cmd(&raftfsm.FollowUpdate{Copier: copiers[i], Trader: testTrader, Settings: raftfsm.FollowSettings{
			Mode: raftfsm.Multiplier, Multiplier: dec("0.05"), Allocation: dec("20000"), LeveragePolicy: raftfsm.LeverageFollowTrader,
			MarginPolicy: raftfsm.MarginFollowTrader, PositionMode: pm, MaxOrderNotional: dec("1"),
		}}); r.Refusal != nil {
			t.Fatalf("update %d: %v", copiers[i], r.Refusal)
		}
	}

	// Fill 1 (an open for 480 copiers), with the leader killed during its fan-out.
	li := c.leader()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "1")
	}()
	time.Sleep(3 * time.Millisecond)
	c.kill(li)
	recovered := c.leaderNode().recovered.Swap(0) // pending orders the new leader took over
	wg.Wait()
	c.start(li)
	c.settled(30 * time.Second)
	// Fill 2: a close of half (paused follows hold nothing: NO_POSITION).
	c.fill(testTrader, 2, raftfsm.Sell, raftfsm.Long, "0.5")
	c.settled(30 * time.Second)

	// Restart the whole group from snapshots.
	for _, n := range c.live() {
		if err := n.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	h := c.assertSameHash()
	for i := range c.nodes {
		c.kill(i)
	}
	for i := range c.nodes {
		c.start(i)
	}
	c.leader()
	if got := c.assertSameHash(); got != h {
		t.Fatal("state hash changed across the restart")
	}

	var first []*ct.ActivityRecord
	for i, n := range c.live() {
		recs := listAllActivity(t, n, testTrader)
		if i == 0 {
			first = recs
			continue
		}
		if !reflect.DeepEqual(recs, first) {
			t.Fatalf("%s answers %d records, %s %d: replicas differ", n.ID(), len(recs), c.live()[0].ID(), len(first))
		}
	}
	type key struct {
		copier int64
		trade  int64
	}
	seen := map[key]*ct.ActivityRecord{}
	for _, r := range first {
		k := key{r.Copier, r.TradeId}
		if seen[k] != nil {
			t.Fatalf("copier %d trade %d decided twice: %+v and %+v", r.Copier, r.TradeId, seen[k], r)
		}
		seen[k] = r
	}
	for _, cp := range copiers {
		open, close := seen[key{int64(cp), 1}], seen[key{int64(cp), 2}]
		if open == nil || close == nil {
			t.Fatalf("copier %d: decisions missing (open %v, close %v)", cp, open != nil, close != nil)
		}
		switch {
		case paused[cp]:
			if open.Kind != "SKIP" || open.SkipReason != "PAUSED" || close.Kind != "SKIP" || close.SkipReason != "NO_POSITION" {
				t.Errorf("paused copier %d: %+v / %+v", cp, open, close)
			}
		case capped[cp]:
			if open.Kind != "SKIP" || open.SkipReason != "NOTIONAL_CAP" || open.Cap != "MAX_ORDER_NOTIONAL" {
				t.Errorf("capped copier %d: %+v", cp, open)
			}
		default:
			if open.Kind != "ORDER" || open.Status != "FILLED" || open.FilledQty == "0" || open.AvgPrice == "0" || open.ResultTimeUnixNano == 0 ||
				open.SignalTimeUnixNano == 0 || open.SignalPrice != "60000" || open.Effect != ct.OrderEffect_OPEN {
				t.Errorf("copier %d open: %+v", cp, open)
			}
			if close.Kind != "ORDER" || close.Effect != ct.OrderEffect_CLOSE || (close.Status != "FILLED" && close.Status != "PARTIALLY_FILLED") {
				t.Errorf("copier %d close: %+v", cp, close)
			}
		}
	}
	if len(first) != 2*len(copiers) {
		t.Errorf("%d records for %d copiers × 2 signals", len(first), len(copiers))
	}
	// A copier's own view (the account path) is its two decisions.
	resp, err := NewHandler(c.leaderNode()).ListActivity(context.Background(), &ct.ListActivityRequest{Copier: int64(copiers[42])})
	if err != nil || len(resp.GetRecords()) != 2 {
		t.Fatalf("copier view: %v, %d records", err, len(resp.GetRecords()))
	}
	t.Logf("%d decisions, identical on %d replicas after a leader kill (%d pending orders taken over) and a full restart", len(first), len(c.live()), recovered)
}
