package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestEligibilityFromVenue: an applicant's statistics come from the trading system.
// An account stating its own (win rate 10000 bps, equity 1e9) is refused and does not
// become a trader; applying without them, the leader asks the venue: an account with
// no winning history there is rejected as ineligible, one whose venue record meets the
// rules leads.
func TestEligibilityFromVenue(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict, Auth: true})
	c.SeedInstrument()
	ctx, cancel := context.WithTimeout(c.Admin, 30*time.Second)
	defer cancel()
	if _, err := c.Cli.SetRules(ctx, &ct.SetRulesRequest{Rules: &ct.EligibilityRules{
		MinWinRateBps: 5000, MinClosedTrades: 2, MinEquity: "1000"}}); err != nil {
		t.Fatalf("rules: %v", err)
	}
	const boaster, novice, veteran = int64(3_000_101), int64(3_000_102), int64(3_000_103)
	cfg := &ct.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 100}
	status := func(id int64) ct.TraderStatus {
		resp, err := c.Cli.GetTrader(ctx, &ct.GetTraderRequest{Trader: id})
		if convert.CodeOf(err) == convert.RefusalCode(raftfsm.CodeUnknownTrader) {
			return ct.TraderStatus_NONE
		}
		if err != nil {
			t.Fatalf("get trader %d: %v", id, err)
		}
		return resp.GetTrader().GetStatus()
	}
	apply := func(id int64, stats *ct.ApplicantStats) error {
		actx, acancel := context.WithTimeout(c.Account(id), 30*time.Second)
		defer acancel()
		_, err := c.Cli.ApplyTrader(actx, &ct.ApplyTraderRequest{Trader: id, Stats: stats, Config: cfg})
		return err
	}

	// 1. Vouching for oneself is refused before anything is proposed.
	if err := apply(boaster, &ct.ApplicantStats{WinRateBps: 10000, RoiBps: 100000, ClosedTrades: 1000, Equity: "1000000000"}); convert.CodeOf(err) != ct.ErrorCode_FORBIDDEN {
		t.Fatalf("applicant stating its own stats: %v, want FORBIDDEN", err)
	}
	if s := status(boaster); s != ct.TraderStatus_NONE {
		t.Fatalf("the boaster is a trader with status %v", s)
	}

	// 2. The venue knows the novice: money, but no closed trade.
	if _, _, err := c.Sim.CreateAccount(novice, fixed.MustParse("50000"), exchsim.Hedge); err != nil {
		t.Fatal(err)
	}
	if err := apply(novice, nil); convert.CodeOf(err) != convert.RefusalCode(raftfsm.CodeIneligible) {
		t.Fatalf("novice applied: %v, want INELIGIBLE", err)
	}
	if s := status(novice); s == ct.TraderStatus_ACTIVE {
		t.Fatalf("novice with no closed trade at the venue leads (status %v)", s)
	}

	// 3. The veteran has two winning round trips at the venue.
	if _, _, err := c.Sim.CreateAccount(veteran, fixed.MustParse("50000"), exchsim.Hedge); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := c.Sim.PlaceOrders(context.Background(), []exchsim.Order{{ClientOrderID: "vet-open-" + string(rune('a'+i)), Account: veteran,
			Instrument: testcluster.Symbol, Side: exchsim.Buy, PositionSide: exchsim.Long, Qty: fixed.MustParse("0.1"),
			Type: exchsim.Market, Leverage: 10, MarginMode: exchsim.Cross}}); err != nil {
			t.Fatal(err)
		}
		if err := c.Sim.SetMark(testcluster.Symbol, fixed.MustParse("70000")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sim.PlaceOrders(context.Background(), []exchsim.Order{{ClientOrderID: "vet-close-" + string(rune('a'+i)), Account: veteran,
			Instrument: testcluster.Symbol, Side: exchsim.Sell, PositionSide: exchsim.Long, Qty: fixed.MustParse("0.1"),
			Type: exchsim.Market, ReduceOnly: true}}); err != nil {
			t.Fatal(err)
		}
		if err := c.Sim.SetMark(testcluster.Symbol, fixed.MustParse("60000")); err != nil {
			t.Fatal(err)
		}
	}
	if err := apply(veteran, nil); err != nil {
		t.Fatalf("veteran applies: %v", err)
	}
	if s := status(veteran); s != ct.TraderStatus_ACTIVE {
		t.Fatalf("veteran status %v, want ACTIVE", s)
	}
}
