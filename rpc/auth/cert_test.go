package auth

import (
	"context"
	"testing"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// TestCertIdentities: a call without a token from a caller whose client certificate
// names a service role is that role; a token, when present, wins; a node or an
// "account" certificate is no identity for the guard; the caller's
// forwarded token names it (signed with the active key).
func TestCertIdentities(t *testing.T) {
	ks, keys := testKeys(t, "k1")
	g, err := NewGuard(Config{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	as := func(id tlsconf.Identity) context.Context { return tlsconf.WithPeer(context.Background(), id) }
	ctx, err := g.Check(as(tlsconf.RoleIdentity("trading-system", "ts1")), "SubmitFill", &ct.SubmitFillRequest{})
	if err != nil {
		t.Fatalf("trading system by certificate: %v", err)
	}
	if c, _ := FromContext(ctx); c.Role != RoleTradingSystem || c.Identity != "ts1" {
		t.Fatalf("claims %+v", c)
	}
	fwd := tokenFrom(ForwardToken(ctx, context.Background()))
	if c, err := g.Verify(fwd); err != nil || c.Role != RoleTradingSystem || c.Identity != "ts1" {
		t.Fatalf("forwarded token: %+v %v", c, err)
	}
	if _, err := g.Check(as(tlsconf.RoleIdentity("trading-system", "ts1")), "UpsertInstrument", &ct.UpsertInstrumentRequest{}); convert.CodeOf(err) != ct.ErrorCode_FORBIDDEN {
		t.Errorf("trading system calling an admin method: %v, want FORBIDDEN", err)
	}
	for _, id := range []tlsconf.Identity{tlsconf.RoleIdentity("account:7", "7"), tlsconf.RoleIdentity("account", "7"), tlsconf.NodeIdentity(1, "n1"), tlsconf.RoleIdentity("gateway", "x")} {
		if _, err := g.Check(as(id), "GetTrader", &ct.GetTraderRequest{Trader: 1}); convert.CodeOf(err) != ct.ErrorCode_UNAUTHENTICATED {
			t.Errorf("%s certificate: %v, want UNAUTHENTICATED", id, err)
		}
	}
	// A token wins over the connection's certificate (a router forwarding an account).
	tok := mint(t, keys[0], "7", AccountRole(7), 60e9)
	ctx, err = g.Check(WithToken(as(tlsconf.RoleIdentity("router", "r1")), tok), "GetPositions", &ct.GetPositionsRequest{Copier: 7})
	if c, _ := FromContext(ctx); err != nil || c.Role != AccountRole(7) {
		t.Fatalf("token over a router's connection: %+v %v", c, err)
	}
}
