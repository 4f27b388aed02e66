package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestAuthorization: through a router with the guard, 500 writes by one account on
// another account's follows and trader settings are all refused FORBIDDEN and change
// nothing; missing, expired and forged tokens are UNAUTHENTICATED; an account reads only
// its own follows, positions and orders, and any caller reads public trader data.
func TestAuthorization(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict, Auth: true})
	trader := testcluster.TraderIn(1, 1, 1, 3_000_000)[0]
	const victim, attacker = int64(7_000_001), int64(7_000_002)
	c.Seed([]int64{trader}, 0, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vctx, vcancel := context.WithTimeout(c.Account(victim), 30*time.Second)
	defer vcancel()
	c.Create(vctx, "own follow", ct.ErrorCode_FOLLOW_EXISTS, func() error {
		_, err := c.Cli.Follow(vctx, &ct.FollowRequest{Trader: trader, Copier: victim, Settings: testcluster.FollowSettings()})
		return err
	})
	c.Settled(10 * time.Second)
	before := c.StateHashes()

	actx, acancel := context.WithTimeout(c.Account(attacker), 60*time.Second)
	defer acancel()
	writes := []func(i int) error{
		func(int) error {
			_, err := c.Cli.Follow(actx, &ct.FollowRequest{Trader: trader, Copier: victim, Settings: testcluster.FollowSettings()})
			return err
		},
		func(int) error {
			_, err := c.Cli.UpdateFollow(actx, &ct.UpdateFollowRequest{Trader: trader, Copier: victim, Settings: testcluster.FollowSettings()})
			return err
		},
		func(int) error {
			_, err := c.Cli.PauseFollow(actx, &ct.PauseFollowRequest{Trader: trader, Copier: victim})
			return err
		},
		func(int) error {
			_, err := c.Cli.Unfollow(actx, &ct.UnfollowRequest{Trader: trader, Copier: victim, ClosePositions: true})
			return err
		},
		func(int) error {
			_, err := c.Cli.UpdateTrader(actx, &ct.UpdateTraderRequest{Trader: trader, Config: &ct.TraderConfig{ProfitShareBps: 3000}})
			return err
		},
		func(int) error {
			_, err := c.Cli.PauseTrader(actx, &ct.PauseTraderRequest{Trader: trader})
			return err
		},
		func(int) error {
			_, err := c.Cli.ExitTrader(actx, &ct.ExitTraderRequest{Trader: trader})
			return err
		},
		func(int) error {
			_, err := c.Cli.UpsertInstrument(actx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{
				Symbol: testcluster.Symbol, LotStep: "1", TickSize: "1", MinQty: "1", MaxLeverage: 1}})
			return err
		},
		func(int) error {
			_, err := c.Cli.Settle(actx, &ct.SettleRequest{Period: 20000})
			return err
		},
		func(i int) error {
			_, err := c.Cli.SubmitFill(actx, &ct.SubmitFillRequest{Trader: trader, Fill: testcluster.OpenFill(trader, int64(100+i))})
			return err
		},
	}
	refused := 0
	for i := 0; i < 500; i++ {
		err := writes[i%len(writes)](i)
		if convert.CodeOf(err) == ct.ErrorCode_FORBIDDEN {
			refused++
		} else if i < 20 || refused < i {
			t.Errorf("write %d by account %d: %v, want FORBIDDEN", i, attacker, err)
		}
	}
	if refused != 500 {
		t.Errorf("%d of 500 cross-account writes refused", refused)
	}
	c.Settled(10 * time.Second)
	for id, h := range c.StateHashes() {
		if before[id] != h {
			t.Errorf("%s: state changed by refused writes", id)
		}
	}

	// Tokens.
	expired, _ := auth.MintAt(c.Key, "7000001", auth.AccountRole(victim), time.Now().Add(-time.Second))
	other, _ := auth.GenerateKey("k1")
	forged, _ := auth.Mint(other, "ops", auth.RoleAdmin, time.Hour)
	unknownKey, _ := auth.GenerateKey("k9")
	unknown, _ := auth.Mint(unknownKey, "ops", auth.RoleAdmin, time.Hour)
	for name, cctx := range map[string]context.Context{
		"missing":     ctx,
		"expired":     auth.WithToken(ctx, expired),
		"forged":      auth.WithToken(ctx, forged),
		"unknown key": auth.WithToken(ctx, unknown),
		"garbage":     auth.WithToken(ctx, "v1.k1.x.y.z.w"),
	} {
		_, err := c.Cli.GetTrader(cctx, &ct.GetTraderRequest{Trader: trader})
		if convert.CodeOf(err) != ct.ErrorCode_UNAUTHENTICATED {
			t.Errorf("%s token: %v, want UNAUTHENTICATED", name, err)
		}
	}

	// Reads: own data only; public trader data for anyone.
	if resp, err := c.Cli.ListCopierFollows(vctx, &ct.ListCopierFollowsRequest{Copier: victim}); err != nil || len(resp.Follows) != 1 {
		t.Errorf("victim reads own follows: %v %+v", err, resp)
	}
	if _, err := c.Cli.GetPositions(vctx, &ct.GetPositionsRequest{Copier: victim}); err != nil {
		t.Errorf("victim reads own positions: %v", err)
	}
	for name, err := range map[string]error{
		"follows":   second(c.Cli.ListCopierFollows(actx, &ct.ListCopierFollowsRequest{Copier: victim})),
		"positions": second(c.Cli.GetPositions(actx, &ct.GetPositionsRequest{Copier: victim, Trader: trader})),
		"orders":    second(c.Cli.ListOrders(actx, &ct.ListOrdersRequest{Copier: victim})),
		"followers": second(c.Cli.ListFollowers(actx, &ct.ListFollowersRequest{Trader: trader})),
		"status":    second(c.Cli.GroupStatus(router.WithGroup(actx, 1), &ct.GroupStatusRequest{})),
	} {
		if convert.CodeOf(err) != ct.ErrorCode_FORBIDDEN {
			t.Errorf("attacker reads victim's %s: %v, want FORBIDDEN", name, err)
		}
	}
	if resp, err := c.Cli.GetTrader(actx, &ct.GetTraderRequest{Trader: trader}); err != nil || resp.Trader.Trader != trader {
		t.Errorf("public trader data: %v", err)
	}
	// The trading system submits fills; the admin reads anything.
	if _, err := c.Cli.SubmitFill(c.As(auth.RoleTradingSystem, "ts"), &ct.SubmitFillRequest{Trader: trader, Fill: testcluster.OpenFill(trader, 1)}); err != nil {
		t.Errorf("trading system fill: %v", err)
	}
	if _, err := c.Cli.ListFollowers(c.Admin, &ct.ListFollowersRequest{Trader: trader}); err != nil {
		t.Errorf("admin read: %v", err)
	}
	// The nodes run the same guard: the router's own token (role router) reads slot
	// ownership, and a caller's token is forwarded, so a node authorizes the caller.
	if g, _ := c.Router.SlotOwner(0); g != 1 {
		t.Errorf("router did not learn the slot map from guarded nodes")
	}
	if _, err := c.LeaderClient(1).GetTrader(ctx, &ct.GetTraderRequest{Trader: trader}); convert.CodeOf(err) != ct.ErrorCode_UNAUTHENTICATED {
		t.Errorf("node without a token: %v, want UNAUTHENTICATED", err)
	}
	if _, f, _ := c.Guard.Refusals(); f < 500 {
		t.Errorf("guard counted %d forbidden calls", f)
	}
}

func second[R any](_ R, err error) error { return err }
