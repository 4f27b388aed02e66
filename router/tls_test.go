package router_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
	"github.com/copytrade/copytrade/shard"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestClusterOverMutualTLS: every hop over mutual TLS (client → router → nodes →
// exchsim, and raft). Accounts use tokens as before; the trading system is identified
// by its client certificate alone and its fill is copied to the venue; a client
// without a certificate of the deployment's CA reaches nothing.
func TestClusterOverMutualTLS(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 2, Mode: exchsim.Strict, Auth: true, TLS: true})
	traders := []int64{testcluster.TraderIn(1, 2, 1, 3_000_000)[0], testcluster.TraderIn(2, 2, 1, 3_000_000)[0]}
	copiers := c.Seed(traders, 3, 7_000_000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// An account, with its token, over TLS.
	if resp, err := c.Cli.ListCopierFollows(c.Account(copiers[traders[0]][0]), &ct.ListCopierFollowsRequest{Copier: copiers[traders[0]][0]}); err != nil || len(resp.Follows) != 1 {
		t.Fatalf("account over TLS: %v %+v", err, resp)
	}
	// The trading system by certificate, no token.
	ts, err := shard.NewClient([]string{c.Router.Addr().String()},
		kitexopt.TLSClient(c.CA.Store(tlsconf.RoleIdentity("trading-system", "fills-1")), nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	for i, tr := range traders {
		resp, err := ts.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: tr, Fill: testcluster.OpenFill(tr, int64(10+i)), Wait: ct.WaitFor_ACKED})
		if err != nil {
			t.Fatalf("fill of trader %d by certificate: %v", tr, err)
		}
		o := resp.Outcome
		if o.Code == ct.ErrorCode_DUPLICATE_FILL && strings.HasPrefix(o.Message, "applied") {
			continue // resent across a failover of the loaded machine; applied once (checked below)
		}
		if o.Placed != 3 {
			t.Fatalf("trader %d: %d orders placed at the venue, want 3 (%+v)", tr, o.Placed, o)
		}
	}
	// ... which may not do what its role may not.
	if _, err := ts.UpsertInstrument(ctx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{Symbol: "X"}}); convert.CodeOf(err) != ct.ErrorCode_FORBIDDEN {
		t.Errorf("trading system calling an admin method: %v, want FORBIDDEN", err)
	}

	// Outsiders: plaintext, and a certificate of another CA claiming to be the trading
	// system, to the router and straight to a node.
	plain, err := shard.NewClient([]string{c.Router.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	forged, err := shard.NewClient([]string{c.Router.Addr().String(), c.Topo.Groups[0].Members[0].RPCAddr},
		kitexopt.TLSClient(tlstest.MustCA("other").Store(tlsconf.RoleIdentity("trading-system", "fills-1")), nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	for name, cli := range map[string]*shard.Client{"plaintext": plain, "another CA": forged} {
		for i := range 4 { // both addresses of the forged client
			cctx, ccancel := context.WithTimeout(c.Admin, 3*time.Second)
			_, err := cli.SubmitFill(cctx, &ct.SubmitFillRequest{Trader: traders[0], Fill: testcluster.OpenFill(traders[0], int64(100+i))})
			ccancel()
			if err == nil {
				t.Errorf("%s client: a fill went through", name)
			}
		}
	}
	c.Settled(10 * time.Second)
	applied, _ := c.CheckExactlyOnce(traders, 3)
	for _, tr := range traders {
		if applied[tr] != 1 {
			t.Errorf("trader %d: %d fills applied, want 1", tr, applied[tr])
		}
	}
}
