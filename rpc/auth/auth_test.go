package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
)

func testKeys(t *testing.T, ids ...string) (*KeySet, []Key) {
	t.Helper()
	var keys []Key
	for _, id := range ids {
		k, err := GenerateKey(id)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ks, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return ks, keys
}

func TestTokenRoundTrip(t *testing.T) {
	ks, keys := testKeys(t, "k1", "k2")
	if ks.Active().ID != "k2" {
		t.Fatalf("active key %s, want k2", ks.Active().ID)
	}
	now := time.Unix(1_800_000_000, 0)
	tok, err := MintAt(keys[0], "42", AccountRole(42), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	c, err := verify(ks, tok, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity != "42" || c.Role != "account:42" || c.Role.Account() != 42 || c.KeyID != "k1" || !c.Expiry.Equal(now.Add(time.Minute)) {
		t.Fatalf("claims %+v", c)
	}
	if _, err := verify(ks, tok, now.Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	// Any altered field breaks the signature.
	f := strings.Split(tok, ".")
	for i := 1; i < 5; i++ {
		g := append([]string(nil), f...)
		switch i {
		case 1:
			g[1] = "k2"
		case 2:
			g[2] = b64.EncodeToString([]byte("43"))
		case 3:
			g[3] = b64.EncodeToString([]byte("admin"))
		case 4:
			g[4] = "1900000000"
		}
		if _, err := verify(ks, strings.Join(g, "."), now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("field %d altered: %v, want ErrBadSignature", i, err)
		}
	}
	other, _ := testKeys(t, "k1")
	if _, err := verify(other, tok, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other secret: %v", err)
	}
	only2, _ := NewKeySet(keys[1])
	if _, err := verify(only2, tok, now); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("removed key: %v", err)
	}
	for _, bad := range []string{"", "x", "v1.k1.a.b.c", "v2.k1.a.b.1.c", tok + ".", strings.Repeat("a", 2000), "v1.k 1.YQ.YQ.1." + f[5]} {
		if _, err := verify(ks, bad, now); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	if _, err := MintAt(keys[0], "x", Role("account:0"), now); !errors.Is(err, ErrMint) {
		t.Fatalf("bad role minted: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	_, keys := testKeys(t, "a", "b")
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := WriteKeyFile(path, keys...); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := ks.Get("a"); string(k.Secret) != string(keys[0].Secret) {
		t.Fatal("secret changed in the round trip")
	}
	for _, bad := range []string{`[]`, `{}`, `{"a":"zz"}`, `{"a":"hex:00"}`, `{"a b":"hex:000102030405060708090a0b0c0d0e0f"}`} {
		if _, err := ParseKeys([]byte(bad)); !errors.Is(err, ErrKeyFile) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	if ks, err := ParseKeys([]byte(`{"k":"AAECAwQFBgcICQoLDA0ODw=="}`)); err != nil || len(ks.Active().Secret) != 16 {
		t.Fatalf("base64 secret: %v", err)
	}
	_ = os.Remove(path)
}

func TestAuthorizeTable(t *testing.T) {
	acct := Claims{Identity: "7", Role: AccountRole(7)}
	ts := Claims{Identity: "ts", Role: RoleTradingSystem}
	admin := Claims{Identity: "ops", Role: RoleAdmin}
	rt := Claims{Identity: "r1", Role: RoleRouter}
	cases := []struct {
		c      Claims
		method string
		req    any
		ok     bool
	}{
		{ts, "SubmitFill", &ct.SubmitFillRequest{}, true},
		{acct, "SubmitFill", &ct.SubmitFillRequest{}, false},
		{admin, "SubmitFills", &ct.SubmitFillsRequest{}, true},
		{acct, "Follow", &ct.FollowRequest{Trader: 1, Copier: 7}, true},
		{acct, "Follow", &ct.FollowRequest{Trader: 7, Copier: 8}, false},
		{acct, "Unfollow", &ct.UnfollowRequest{Trader: 1, Copier: 8}, false},
		{acct, "UpdateTrader", &ct.UpdateTraderRequest{Trader: 7}, true},
		{acct, "UpdateTrader", &ct.UpdateTraderRequest{Trader: 8}, false},
		{ts, "UpdateTrader", &ct.UpdateTraderRequest{Trader: 8}, false},
		{acct, "UpsertInstrument", &ct.UpsertInstrumentRequest{}, false},
		{ts, "Settle", &ct.SettleRequest{}, false},
		{acct, "GetTrader", &ct.GetTraderRequest{Trader: 99}, true},
		{ts, "GetTrader", &ct.GetTraderRequest{Trader: 99}, true},
		{acct, "GetPositions", &ct.GetPositionsRequest{Copier: 7}, true},
		{acct, "GetPositions", &ct.GetPositionsRequest{Copier: 8}, false},
		{acct, "ListOrders", &ct.ListOrdersRequest{Trader: 1, TradeId: 5}, false},
		{acct, "ListFollowers", &ct.ListFollowersRequest{Trader: 7}, false},
		{rt, "GetSlotOwnership", &ct.GetSlotOwnershipRequest{}, true},
		{rt, "SubmitFill", &ct.SubmitFillRequest{}, false},
		{acct, "GetSlotOwnership", &ct.GetSlotOwnershipRequest{}, false},
		{admin, "NoSuchMethod", nil, false},
		{acct, "Follow", &ct.UnfollowRequest{Copier: 7}, false}, // wrong type: refused
		{acct, "ListActivity", &ct.ListActivityRequest{Copier: 7}, true},
		{acct, "SetClosePolicy", &ct.SetClosePolicyRequest{Trader: 1, Copier: 7}, true},
		{acct, "SetClosePolicy", &ct.SetClosePolicyRequest{Trader: 1, Copier: 8}, false},
		{acct, "ListActivity", &ct.ListActivityRequest{Copier: 8}, false},
		{acct, "ListActivity", &ct.ListActivityRequest{Trader: 7}, false}, // a trader's across copiers: admin
		{admin, "ListActivity", &ct.ListActivityRequest{Trader: 7}, true},
		{acct, "SetActivityConfig", &ct.SetActivityConfigRequest{}, false},
		{acct, "TraderInvite", &ct.TraderInviteRequest{Trader: 7}, true},
		{acct, "TraderInvite", &ct.TraderInviteRequest{Trader: 8}, false},
		{acct, "ListInvites", &ct.ListInvitesRequest{Trader: 8}, false},
		{acct, "GetCopyQuality", &ct.GetCopyQualityRequest{Trader: 8}, true},
		{acct, "GetCopyQuality", &ct.GetCopyQualityRequest{Trader: 8, Copier: 7}, true},
		{acct, "GetCopyQuality", &ct.GetCopyQualityRequest{Trader: 8, Copier: 9}, false},
	}
	for _, tc := range cases {
		err := Authorize(tc.c, tc.method, tc.req)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s %+v: %v, want ok=%v", tc.c.Role, tc.method, tc.req, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("%v does not wrap ErrForbidden", err)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l, err := NewLimiter(map[string]Limit{"account": {PerSecond: 10, Burst: 5}}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	a := Claims{Identity: "1", Role: AccountRole(1)}
	b := Claims{Identity: "2", Role: AccountRole(2)}
	for i := 0; i < 5; i++ {
		if !l.Allow(a) {
			t.Fatalf("call %d refused within the burst", i)
		}
	}
	if l.Allow(a) {
		t.Fatal("call beyond the burst allowed")
	}
	if !l.Allow(b) {
		t.Fatal("another identity shares the bucket")
	}
	now = now.Add(100 * time.Millisecond)
	if !l.Allow(a) || l.Allow(a) {
		t.Fatal("refill of one token per 100ms not honoured")
	}
	if !l.Allow(Claims{Identity: "x", Role: RoleAdmin}) {
		t.Fatal("unlimited kind limited")
	}
}

// echo answers GetTrader with the caller the middleware put in ctx.
type echo struct{ ct.CopyTrade }

func (echo) GetTrader(ctx context.Context, req *ct.GetTraderRequest) (*ct.GetTraderResponse, error) {
	c, ok := FromContext(ctx)
	if !ok {
		return nil, errors.New("no caller in ctx")
	}
	return &ct.GetTraderResponse{Trader: &ct.Trader{Trader: req.Trader, Reason: c.Identity + "/" + string(c.Role)}}, nil
}

func (echo) Follow(ctx context.Context, req *ct.FollowRequest) (*ct.CommandResponse, error) {
	return &ct.CommandResponse{Index: 1}, nil
}

// TestMiddlewareOverKitex runs the guard on a real Kitex server and client over TTHeader:
// the token travels in metainfo, refusals arrive as business errors with their codes.
func TestMiddlewareOverKitex(t *testing.T) {
	ks, keys := testKeys(t, "k1")
	g, err := NewGuard(Config{Keys: ks, Limits: map[string]Limit{"trading-system": {PerSecond: 1, Burst: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := kitexopt.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	run := kitexopt.Serve(copytrade.NewServer(&echo{}, append(kitexopt.Server(ln, "copytrade", 0), g.ServerOption())...), ln)
	t.Cleanup(func() { _ = run.Stop() })
	conns := kitexopt.NewConns("copytrade")
	t.Cleanup(func() { _ = conns.Close() })
	cli, err := copytrade.NewClient("copytrade", append(kitexopt.Client(time.Second, ln.Addr().String()), conns.Option())...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var resp *ct.GetTraderResponse
	for { // the server starts in the background
		resp, err = cli.GetTrader(WithToken(ctx, mint(t, keys[0], "5", AccountRole(5), time.Minute)), &ct.GetTraderRequest{Trader: 9})
		if err == nil || convert.CodeOf(err) != 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || resp.Trader.Reason != "5/account:5" {
		t.Fatalf("valid token: %v %+v", err, resp)
	}
	forged := mint(t, Key{ID: "k1", Secret: []byte("0123456789abcdef0123")}, "1", RoleAdmin, time.Minute)
	for name, tc := range map[string]struct {
		tok  string
		code ct.ErrorCode
	}{
		"missing": {"", ct.ErrorCode_UNAUTHENTICATED},
		"expired": {mint(t, keys[0], "5", AccountRole(5), -time.Second), ct.ErrorCode_UNAUTHENTICATED},
		"forged":  {forged, ct.ErrorCode_UNAUTHENTICATED},
		"garbage": {"v1.junk", ct.ErrorCode_UNAUTHENTICATED},
		"other":   {mint(t, keys[0], "6", AccountRole(6), time.Minute), ct.ErrorCode_FORBIDDEN},
	} {
		c := ctx
		if tc.tok != "" {
			c = WithToken(ctx, tc.tok)
		}
		_, err := cli.Follow(c, &ct.FollowRequest{Trader: 1, Copier: 5})
		if got := convert.CodeOf(err); got != tc.code {
			t.Errorf("%s: %v (code %v), want %v", name, err, got, tc.code)
		}
	}
	if _, err := cli.Follow(WithToken(ctx, mint(t, keys[0], "5", AccountRole(5), time.Minute)), &ct.FollowRequest{Trader: 1, Copier: 5}); err != nil {
		t.Fatalf("own follow: %v", err)
	}
	ts := WithToken(ctx, mint(t, keys[0], "ts", RoleTradingSystem, time.Minute))
	var limited int
	for i := 0; i < 5; i++ {
		_, err := cli.GetTrader(ts, &ct.GetTraderRequest{Trader: 1})
		if convert.CodeOf(err) == ct.ErrorCode_RATE_LIMITED {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited < 2 {
		t.Fatalf("%d of 5 calls rate limited with burst 2, want >= 2", limited)
	}
	if u, f, l := g.Refusals(); u != 4 || f != 1 || l != int64(limited) {
		t.Fatalf("refusal counters %d %d %d", u, f, l)
	}
}

func mint(t *testing.T, k Key, id string, r Role, ttl time.Duration) string {
	t.Helper()
	tok, err := MintAt(k, id, r, time.Now().Add(ttl))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
