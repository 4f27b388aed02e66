package rebalance

// The rebalance tests run on tools/testcluster's cluster: 2 groups × 3 shard nodes,
// exchsim (no-dedup: a resent client order ID would be a second order) and a router,
// with authentication on. This file holds only what the rebalance tests add to it: a
// gateway proxy that can cut the nodes off exchsim, fills as the trading system, and
// views of ownership and traders through the router.

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelError)
	os.Exit(m.Run())
}

// testCluster is testcluster's cluster with the nodes reaching exchsim through gw.
type testCluster struct {
	*testcluster.Cluster
	trade context.Context    // carries a trading-system token
	gw    *testcluster.Proxy // between the nodes and exchsim: Cut keeps copier orders pending until Restore
}

func newTestCluster(t testing.TB) *testCluster {
	t.Helper()
	c := &testCluster{}
	c.Cluster = testcluster.New(t, testcluster.Options{Groups: 2, Mode: exchsim.NoDedup, Auth: true,
		Gateway: func(simAddr string) string {
			c.gw = testcluster.NewProxy(t, simAddr)
			return c.gw.Addr()
		}})
	c.trade = c.As(auth.RoleTradingSystem, "ts")
	return c
}

// checkExactlyOnce is testcluster's CheckExactlyOnce: it returns the applied fill count
// per trader.
func (c *testCluster) checkExactlyOnce(traders []int64, copiers int) map[int64]uint64 {
	c.T.Helper()
	applied, _ := c.CheckExactlyOnce(traders, copiers)
	return applied
}

// tradersIn returns n trader IDs >= from whose slots are in [lo, hi].
func tradersIn(lo, hi int32, n int, from int64) []int64 {
	var out []int64
	for id := from; len(out) < n; id++ {
		if s := int32(raftfsm.SlotOf(raftfsm.AccountID(id))); s >= lo && s <= hi {
			out = append(out, id)
		}
	}
	return out
}

// fill submits one fill through the router and waits for its orders' results; a
// DUPLICATE_FILL answered after an ambiguous attempt counts as applied.
func (c *testCluster) fill(trader, tradeID int64) error {
	return c.fillWait(trader, tradeID, ct.WaitFor_ACKED)
}

// fillWait is fill with its wait mode: COMMIT answers with the copier orders still pending.
func (c *testCluster) fillWait(trader, tradeID int64, wait ct.WaitFor) error {
	ctx, cancel := context.WithTimeout(c.trade, 30*time.Second)
	defer cancel()
	resp, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: trader, Fill: testcluster.OpenFill(trader, tradeID), Wait: wait})
	if err != nil {
		return err
	}
	if code := resp.GetOutcome().GetCode(); code != ct.ErrorCode_OK && code != ct.ErrorCode_DUPLICATE_FILL {
		return fmt.Errorf("fill %d of %d: outcome %s", tradeID, trader, code)
	}
	return nil
}

// ownership is group g's view of slots, read through the router from its leader.
func (c *testCluster) ownership(g uint32, slots []int32) ownership {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(router.WithGroup(c.Admin, g), 10*time.Second)
	defer cancel()
	resp, err := c.Cli.GetSlotOwnership(ctx, &ct.GetSlotOwnershipRequest{})
	if err != nil {
		c.T.Fatalf("ownership of group %d: %v", g, err)
	}
	return viewOf(resp.GetRanges(), slots)
}

// traderView is everything the router shows about a trader: GetTrader and every page
// of ListFollowers.
type traderView struct {
	Trader  *ct.Trader
	Follows []*ct.FollowView
}

func (c *testCluster) view(tr int64) traderView {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(c.Admin, 15*time.Second)
	defer cancel()
	t, err := c.Cli.GetTrader(ctx, &ct.GetTraderRequest{Trader: tr})
	if err != nil {
		c.T.Fatalf("GetTrader %d: %v", tr, err)
	}
	v := traderView{Trader: t.GetTrader()}
	after := int64(0)
	for {
		fl, err := c.Cli.ListFollowers(ctx, &ct.ListFollowersRequest{Trader: tr, AfterCopier: after, Limit: 1000})
		if err != nil {
			c.T.Fatalf("ListFollowers %d: %v", tr, err)
		}
		v.Follows = append(v.Follows, fl.GetFollows()...)
		if after = fl.GetNextAfterCopier(); after == 0 {
			return v
		}
	}
}

// slotRange is lo..hi as a slot list.
func slotRange(lo, hi int32) []int32 {
	var out []int32
	for s := lo; s <= hi; s++ {
		out = append(out, s)
	}
	return out
}
