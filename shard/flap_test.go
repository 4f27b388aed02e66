package shard

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestLeadershipFlapStrandsNothing: leadership is lost and regained between taking the
// term's state and raft.Apply of a fill. The entry commits in the new term, after the
// new term's takeover read the pending orders; its orders must still be placed (by
// the current term, after its fence), not handed to the dead term and stranded.
func TestLeadershipFlapStrandsNothing(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.NoDedup})
	copiers := c.seed(testTrader, 8, 8_300_000)
	n := c.leaderNode()
	var once sync.Once
	n.testBeforeApply = func(cmd raftfsm.Command) {
		if _, ok := cmd.(*raftfsm.TradeFill); !ok {
			return
		}
		once.Do(func() {
			n.stepDown("test: leadership lost")
			n.becomeLeader() // and regained: a new term state, whose takeover runs now
			<-n.ls.Load().ready
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o := n.SubmitFill(ctx, raftfsm.TradeFill{Trader: testTrader, TradeID: 1, Instrument: testSymbol, Side: raftfsm.Buy,
		PosSide: raftfsm.Long, Qty: dec("0.5"), Price: dec("60000"), Leverage: 10, MarginMode: raftfsm.Cross,
		Equity: dec("100000"), PositionAfter: dec("0.5"), EventTimeUnixNano: time.Now().UnixNano()}, true, time.Now())
	// Committed; the caller hears its orders are pending (the current term recovers them).
	if o.OrdersPlanned != 8 {
		t.Fatalf("fill: code %v, %d planned (%s)", o.Code, o.OrdersPlanned, o.Message)
	}
	c.settled(15 * time.Second) // nothing stays pending
	c.checkLedgers(copiers, testTrader)
}
