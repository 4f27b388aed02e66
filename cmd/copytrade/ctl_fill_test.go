package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	gw "github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// TestCtlFillSubmit drives a ledger scenario with the CLI alone: `ctl fill submit` with
// every fill v2 field (trading-system role), the decisions it caused in `ctl activity`,
// the venue's books in `ctl venue ...`, one error shape for refusals, and `ctl settle`
// refusing to guess a period.
func TestCtlFillSubmit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, pop := startSeededDev(ctx, t, 1, 4)
	trader := pop.Traders()[0]
	sym := pop.Plan.Instruments[0].Symbol
	marks, err := c.Sim().MarkPrices([]string{sym})
	if err != nil {
		t.Fatal(err)
	}
	price := marks[0].Price.String()

	ctl := func(token string, args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		all := append([]string{"--router", c.RouterAddr(), "--venue", c.ExchsimAddr(), "--token", token, "--timeout", "15s"}, args...)
		code := runCtl(ctx, all, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	ts, admin := c.TradingSystemToken(), c.AdminToken()
	tr := strconv.FormatInt(trader, 10)
	fill := []string{"fill", "submit", "--trader", tr, "--trade-id", "9001", "--instrument", sym, "--side", "buy",
		"--position-side", "LONG", "--qty", "0.5", "--price", price, "--leverage", "10", "--margin-mode", "ISOLATED",
		"--equity", "100000", "--position-after", "0.5", "--fee", "0.25", "--venue-order-id", "V-77",
		"--client-order-id", "trader-own-1", "--event-time", time.Now().UTC().Format(time.RFC3339Nano), "--wait", "ACKED"}

	code, out, errOut := ctl(ts, append(fill, "--json")...)
	if code != 0 {
		t.Fatalf("fill submit: exit %d: %s", code, errOut)
	}
	var o ct.FillOutcome
	if err := sonic.Unmarshal([]byte(out), &o); err != nil || o.Code != ct.ErrorCode_OK || o.Index == 0 ||
		o.OrdersPlanned+o.Skipped != int32(len(pop.Plan.Follows)) || o.Trader != trader || o.TradeId != 9001 {
		t.Fatalf("outcome: %v\n%s", err, out)
	}

	// The same fill again: DUPLICATE_FILL, the code said once.
	code, _, errOut = ctl(ts, fill...)
	if code != 1 || !strings.Contains(errOut, "DUPLICATE_FILL (1012): ") || strings.Count(errOut, "DUPLICATE_FILL") != 1 {
		t.Errorf("duplicate: exit %d, stderr %q", code, errOut)
	}
	// A fill needs its v2 fields: a usage error naming them, before any call.
	code, _, errOut = ctl(ts, "fill", "submit", "--trader", tr, "--trade-id", "9002", "--instrument", sym, "--side", "BUY",
		"--position-side", "LONG", "--qty", "1", "--price", price)
	if code != 2 || !strings.Contains(errOut, "--position-after") {
		t.Errorf("missing position-after: exit %d, stderr %q", code, errOut)
	}
	// Only the trading system submits fills.
	copier := pop.Plan.Follows[0].Copier
	cp := strconv.FormatInt(copier, 10)
	_, acct, _ := ctl("", "token", "--keys", c.KeyFile(), "--identity", cp, "--role", "account")
	acct = strings.TrimSpace(acct)
	if code, _, errOut := ctl(acct, fill...); code != 1 || !strings.Contains(errOut, "FORBIDDEN (2006)") {
		t.Errorf("an account submitting a fill: exit %d, stderr %q", code, errOut)
	}

	// Every follow's decision for trade 9001, once each, through the router. ACKED means
	// the gateway answered every order; the results' command commits a moment later.
	var act ct.ListActivityResponse
	for try := 0; ; try++ {
		code, out, errOut = ctl(admin, "activity", "--trader", tr, "--json")
		if code != 0 {
			t.Fatalf("activity --trader: exit %d: %s", code, errOut)
		}
		if err := sonic.Unmarshal([]byte(out), &act); err != nil || len(act.Records) != len(pop.Plan.Follows) {
			t.Fatalf("activity: %v, %d records for %d follows\n%s", err, len(act.Records), len(pop.Plan.Follows), out)
		}
		if !strings.Contains(out, `"status": "PENDING"`) || try == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ordered []string
	for _, r := range act.Records {
		if r.TradeId != 9001 || r.SignalPrice != price {
			t.Errorf("record %+v", r)
		}
		switch r.Kind {
		case "ORDER":
			if r.Status == "PENDING" {
				t.Errorf("%s still pending 5 s after an ACKED fill", r.ClientOrderId)
			}
			ordered = append(ordered, r.ClientOrderId)
		case "SKIP":
			if r.SkipReason == "" {
				t.Errorf("skip without a reason: %+v", r)
			}
		}
	}
	// The copier sees its own, with its token; not another's.
	if code, out, errOut := ctl(acct, "activity", cp, "--since", "1h", "--json"); code != 0 || !strings.Contains(out, `"trade_id": 9001`) {
		t.Errorf("own activity: exit %d: %s%s", code, out, errOut)
	}
	other := strconv.FormatInt(pop.Plan.Follows[1].Copier, 10)
	if code, _, errOut := ctl(acct, "activity", other); code != 1 || !strings.Contains(errOut, "FORBIDDEN (2006)") {
		t.Errorf("another's activity: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := ctl(acct, "activity", cp, "--since", "2000-01-01T00:00:00Z", "--trader", "424242"); code != 0 || strings.TrimSpace(out) != "(none)" {
		t.Errorf("empty activity prints %q", out)
	}

	// The venue's view: each copied order exactly once, and the accounts' books.
	if len(ordered) > 0 {
		code, out, errOut = ctl(admin, "venue", "order-counts", "--id", strings.Join(ordered, ","), "--json")
		var counts []orderCount
		if err := sonic.Unmarshal([]byte(out), &counts); code != 0 || err != nil || len(counts) != len(ordered) {
			t.Fatalf("venue order-counts: exit %d %v: %s%s", code, err, out, errOut)
		}
		for _, n := range counts {
			if n.Count != 1 {
				t.Errorf("%s created %d times at the venue", n.ClientOrderID, n.Count)
			}
		}
		code, out, errOut = ctl(admin, "venue", "orders", "--id", ordered[0], "--json")
		var lk []*gw.OrderLookup
		if err := sonic.Unmarshal([]byte(out), &lk); code != 0 || err != nil || len(lk) != 1 || lk[0].Status != gw.LookupStatus_FOUND {
			t.Errorf("venue orders: exit %d %v: %s%s", code, err, out, errOut)
		}
	}
	if code, out, errOut := ctl(admin, "venue", "accounts", cp); code != 0 || !strings.Contains(out, "BALANCE") {
		t.Errorf("venue accounts: exit %d: %s%s", code, out, errOut)
	}
	if code, out, errOut := ctl(admin, "venue", "positions", "--account", "987654321"); code != 1 && (code != 0 || strings.TrimSpace(out) != "(none)") {
		t.Errorf("venue positions of an unknown account: exit %d: %s%s", code, out, errOut)
	}

	// Invite-only: a follow needs a code the trader issued; a used-up code is refused.
	if code, _, errOut := ctl(admin, "trader", "private", tr); code != 0 {
		t.Fatalf("trader private: exit %d: %s", code, errOut)
	}
	followArgs := []string{"follow", "add", tr, "777001", "--mode", "multiplier", "--multiplier", "0.1", "--allocation", "5000", "--close-policy", "copier"}
	if code, _, errOut := ctl(admin, followArgs...); code != 1 || !strings.Contains(errOut, "INVITE_REQUIRED (1028)") {
		t.Errorf("follow of an invite-only trader without a code: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut = ctl(admin, "trader", "invite", "issue", tr, "--max-uses", "1", "--ttl", "1h", "--json")
	var inv issuedInvite
	if err := sonic.Unmarshal([]byte(out), &inv); code != 0 || err != nil || len(inv.Code) != 16 {
		t.Fatalf("invite issue: exit %d %v: %s%s", code, err, out, errOut)
	}
	if code, _, errOut := ctl(admin, append(followArgs, "--invite-code", inv.Code)...); code != 0 {
		t.Fatalf("follow with the code: exit %d: %s", code, errOut)
	}
	followArgs[3] = "777002"
	if code, _, errOut := ctl(admin, append(followArgs, "--invite-code", inv.Code)...); code != 1 || !strings.Contains(errOut, "INVITE_INVALID (1029)") {
		t.Errorf("a used-up code: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = ctl(admin, "trader", "invite", "list", tr, "--json")
	var il ct.ListInvitesResponse
	if err := sonic.Unmarshal([]byte(out), &il); code != 0 || err != nil || !il.InviteOnly || len(il.Invites) != 1 || il.Invites[0].Used != 1 {
		t.Errorf("invite list: exit %d %v: %s", code, err, out)
	}
	code, out, _ = ctl(admin, "follows", "777001", "--json")
	if code != 0 || !strings.Contains(out, `"close_policy": 1`) {
		t.Errorf("follow's close policy: %s", out)
	}
	if code, _, errOut := ctl(admin, "follow", "close-policy", tr, "777001", "--policy", "copy"); code != 0 {
		t.Errorf("follow close-policy: exit %d: %s", code, errOut)
	}
	if code, out, _ = ctl(admin, "follows", "777001", "--json"); code != 0 || !strings.Contains(out, `"close_policy": 0`) {
		t.Errorf("close policy after the change: %s", out)
	}

	// Copy quality of the trader, public, from the venue's times and prices.
	code, out, errOut = ctl(acct, "quality", tr, "--window", "7", "--json")
	var cq ct.GetCopyQualityResponse
	if err := sonic.Unmarshal([]byte(out), &cq); code != 0 || err != nil || cq.Quality.GetOrders() != int32(len(ordered)) ||
		(len(ordered) > 0 && cq.Quality.GetLatencySamples() == 0) {
		t.Errorf("quality: exit %d %v: %s%s", code, err, out, errOut)
	}

	// settle guesses no period.
	if code, _, errOut := ctl(admin, "settle"); code != 2 || !strings.Contains(errOut, "--period is required") || !strings.Contains(errOut, "--yes") {
		t.Errorf("settle without --period: exit %d, stderr %q", code, errOut)
	}
	// A machine-refused field and an edge-refused field: one code, one naming.
	if code, _, errOut := ctl(admin, "activity", "config", "--keep-per-follow", "-1"); code != 1 || !strings.Contains(errOut, "INVALID_ARGUMENT (2004): keep_per_follow: ") {
		t.Errorf("edge-refused field: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := ctl(admin, "activity", "config", "--keep-per-follow", "50"); code != 0 {
		t.Errorf("activity config: exit %d: %s", code, errOut)
	}
}
