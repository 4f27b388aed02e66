package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestListOrdersNoLeak: ListOrders by signal (trader and trade_id) returns only the
// caller's own orders. An account that follows nobody, asking with its own copier ID,
// used to read every copier's orders of the trader's signal.
func TestListOrdersNoLeak(t *testing.T) {
	// No venue answers, so the orders stay pending (ListOrders lists pending orders).
	dead := testcluster.DeadAddr(t)
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict, Auth: true,
		Gateway: func(string) string { return dead }})
	trader := testcluster.TraderIn(1, 1, 1, 3_000_000)[0]
	const victim, attacker = int64(7_100_001), int64(7_100_002)
	c.Seed([]int64{trader}, 0, 0)
	if _, err := c.Cli.Follow(c.Account(victim), &ct.FollowRequest{Trader: trader, Copier: victim, Settings: testcluster.FollowSettings()}); err != nil {
		t.Fatalf("follow: %v", err)
	}
	const tradeID = 41
	if _, err := c.Cli.SubmitFill(c.As(auth.RoleTradingSystem, "ts"), &ct.SubmitFillRequest{Trader: trader, Fill: testcluster.OpenFill(trader, tradeID)}); err != nil &&
		convert.CodeOf(err) != ct.ErrorCode_UNAVAILABLE { // committed, the order pending
		t.Fatalf("fill: %v", err)
	}
	bySignal := func(cctx context.Context, copier int64) []*ct.Order {
		resp, err := c.Cli.ListOrders(cctx, &ct.ListOrdersRequest{Trader: trader, TradeId: tradeID, Copier: copier})
		if err != nil {
			t.Fatalf("list orders as %d: %v", copier, err)
		}
		return resp.Orders
	}
	testcluster.WaitFor(t, 20*time.Second, 20*time.Millisecond, "the victim's order", func() bool {
		return len(bySignal(c.Account(victim), victim)) == 1
	})
	if got := bySignal(c.Account(attacker), attacker); len(got) != 0 {
		t.Fatalf("account %d, which follows nobody, read %d orders of trader %d's signal (copier %d's)",
			attacker, len(got), trader, got[0].GetCopier())
	}
	for _, o := range bySignal(c.Account(victim), victim) {
		if o.GetCopier() != victim {
			t.Fatalf("victim read copier %d's order", o.GetCopier())
		}
	}
	// The admin reads the whole signal (copier 0).
	if got := bySignal(c.Admin, 0); len(got) != 1 {
		t.Fatalf("admin reads %d orders of the signal, want 1", len(got))
	}
	// Copier 0 (the whole signal) is not an account's own data.
	if _, err := c.Cli.ListOrders(c.Account(attacker), &ct.ListOrdersRequest{Trader: trader, TradeId: tradeID}); err == nil {
		t.Fatal("an account listed a whole signal with copier 0")
	}
}
