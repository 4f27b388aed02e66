package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/tools/devcluster"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestRateLimitsEveryIdentity: every identity has a budget of its own — accounts, the
// trading system and admins alike — calls whose token does not verify are limited per
// peer address, and the nodes enforce the limits as well as the router (a caller that
// reaches a node directly is limited there). The rates refill one token per 1000 s, so
// the bursts are all there is during the test.
func TestRateLimitsEveryIdentity(t *testing.T) {
	const slow = 0.001
	// admin: seeding goes through the router as admin "ops", and a node not yet known
	// as the leader may see its calls more than once (NOT_LEADER retries): room for it.
	burst := map[string]int{"account": 3, "trading-system": 4, "admin": 40, auth.KindUnauthenticated: 3}
	limits := map[string]auth.Limit{"router": {PerSecond: 1000, Burst: 1000}} // the router's slot-map refreshes
	for k, b := range burst {
		limits[k] = auth.Limit{PerSecond: slow, Burst: b}
	}
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict, Auth: true, Limits: limits})
	trader := testcluster.TraderIn(1, 1, 1, 3_000_000)[0]
	c.Seed([]int64{trader}, 0, 0)    // as admin "ops"
	bad, _ := auth.GenerateKey("k1") // signs tokens no one accepts

	// calls makes n+1 GetTrader calls with ctx through cli and checks the first n pass
	// and the last is RATE_LIMITED; wantFirst is the code of the first n. The reads
	// allow a stale answer, so no call depends on who leads: a leader change under load
	// made a node answer NOT_LEADER, and the router's resends of one call each spent
	// the caller's budget at the node (2 of 20 loaded runs failed that way).
	calls := func(where string, cli copytrade.Client, ctx context.Context, n int, wantFirst ct.ErrorCode) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		for i := 0; i <= n; i++ {
			_, err := cli.GetTrader(ctx, &ct.GetTraderRequest{Trader: trader, ReadOpts: &ct.ReadOptions{AllowStale: true}})
			code := convert.CodeOf(err)
			want := wantFirst
			if i == n {
				want = ct.ErrorCode_RATE_LIMITED
			}
			if code != want {
				t.Errorf("%s: call %d of %d: %v (code %v), want %v", where, i+1, n+1, err, code, want)
				return
			}
		}
	}
	forged := func(role auth.Role, id string) context.Context {
		tok, err := auth.Mint(bad, id, role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return auth.WithToken(context.Background(), tok)
	}

	// Through the router. Each identity spends its own budget: one account's
	// exhaustion leaves another's, and the other kinds', untouched.
	rt := c.Cli
	calls("router, account 1", rt, c.Account(8_000_001), burst["account"], ct.ErrorCode_OK)
	calls("router, account 2", rt, c.Account(8_000_002), burst["account"], ct.ErrorCode_OK)
	calls("router, trading system", rt, c.As(auth.RoleTradingSystem, "ts"), burst["trading-system"], ct.ErrorCode_OK)
	calls("router, admin", rt, c.As(auth.RoleAdmin, "ops-1"), burst["admin"], ct.ErrorCode_OK)
	calls("router, bad tokens", rt, forged(auth.RoleAdmin, "mallory"), burst[auth.KindUnauthenticated], ct.ErrorCode_UNAUTHENTICATED)
	// A bad token's budget is the peer's, whatever the token claims.
	if _, err := c.Cli.GetTrader(forged(auth.AccountRole(5), "5"), &ct.GetTraderRequest{Trader: trader}); convert.CodeOf(err) != ct.ErrorCode_RATE_LIMITED {
		t.Errorf("router, another bad token from the same peer: %v, want RATE_LIMITED", err)
	}
	// Valid callers are not affected by the bad tokens' bucket.
	calls("router, admin 2", rt, c.As(auth.RoleAdmin, "ops-2"), burst["admin"], ct.ErrorCode_OK)

	// Straight to a node: it limits by itself (fresh identities; the node's budget is
	// its own, apart from the router's).
	node := c.LeaderClient(1)
	calls("node, account", node, c.Account(8_000_003), burst["account"], ct.ErrorCode_OK)
	calls("node, trading system", node, c.As(auth.RoleTradingSystem, "ts-2"), burst["trading-system"], ct.ErrorCode_OK)
	calls("node, admin", node, c.As(auth.RoleAdmin, "ops-3"), burst["admin"], ct.ErrorCode_OK)
	calls("node, bad tokens", node, forged(auth.RoleTradingSystem, "mallory"), burst[auth.KindUnauthenticated], ct.ErrorCode_UNAUTHENTICATED)

	// The budgets the commands and the dev cluster start with cover every kind.
	for name, l := range map[string]map[string]auth.Limit{"auth.DefaultLimits": auth.DefaultLimits(), "devcluster": devcluster.DefaultOptions().Limits} {
		for _, k := range []string{"account", "trading-system", "admin", "router", auth.KindUnauthenticated} {
			if l[k].PerSecond <= 0 || l[k].Burst < 1 {
				t.Errorf("%s: kind %s has no budget: %+v", name, k, l[k])
			}
		}
	}
}
