package raftfsm

import (
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

func init() {
	separateGolden[OpFollowEx] = "TestFollowOptionsGolden"
	separateGolden[OpTraderInvite] = "TestFollowOptionsGolden"
	separateGolden[OpFollowClosePolicy] = "TestFollowOptionsGolden"
}

var (
	goldenFollowEx = FollowEx{Follow: Follow{Copier: 2002, CopierParent: 2000, Trader: 1001, Settings: goldenFollowSettings},
		InviteCode: "vip-2026", ClosePolicy: CloseLeaveToCopier, CopyOpenPositions: true}
	goldenFollowClosePolicy = FollowClosePolicy{Copier: 2002, Trader: 1001, ClosePolicy: CloseLeaveToCopier}
	goldenTraderInvite      = TraderInvite{Trader: 1001, Action: InviteIssue, Code: "vip-2026", ExpiresAtUnixNano: 1767225600_000000000, MaxUses: 50}
)

const (
	goldenFollowClosePolicyHex = "02208cc88980e6adb4a62fa41fd20f01"
	goldenFollowExHex          = "021d8cc88980e6adb4a62fa41fa01fd20f0380c8afa02580c6868f0180c0a8ca9a3a021403010202084254432d55534454084554482d5553445480a094a58d1d80c0caf384a3023c9f1f904e02087669702d323032360101"
	goldenTraderInviteHex      = "021e8cc88980e6adb4a62fd20f03087669702d323032368080d0dfbd94b9863164"
)

func TestFollowOptionsGolden(t *testing.T) {
	for _, g := range []struct {
		cmd Command
		hex string
	}{{&goldenFollowEx, goldenFollowExHex}, {&goldenTraderInvite, goldenTraderInviteHex}, {&goldenFollowClosePolicy, goldenFollowClosePolicyHex}} {
		got := hex.EncodeToString(Encode(Envelope{TimeUnixNano: goldenTime, Cmd: g.cmd}))
		if got != g.hex {
			t.Errorf("%s encoding changed (old logs would not replay)\n got: %s\nwant: %s", opName(g.cmd.Op()), got, g.hex)
			continue
		}
		b, _ := hex.DecodeString(g.hex)
		env, err := Decode(b)
		if err != nil || !reflect.DeepEqual(env.Cmd, g.cmd) {
			t.Errorf("%s: decoded %+v, %v", opName(g.cmd.Op()), env.Cmd, err)
		}
	}
}

func optionsHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: fixed.MustParse("0.001"), TickSize: fixed.MustParse("0.5"),
		MinQty: fixed.MustParse("0.001"), MaxLeverage: 100}})
	if r := h.apply(&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One}}); r.Refusal != nil {
		t.Fatal(r.Refusal)
	}
	return h
}

func optionsFollow(copier AccountID) Follow {
	return Follow{Copier: copier, Trader: 1, Settings: FollowSettings{Mode: Multiplier, Multiplier: fixed.One,
		Allocation: 100_000 * fixed.One, LeveragePolicy: LeverageFixed, Leverage: 10, MarginPolicy: MarginFollowTrader, PositionMode: Hedge}}
}

func TestInviteOnlyTrader(t *testing.T) {
	h := optionsHarness(t)
	code := func(r *Result) Code {
		if r.Refusal == nil {
			return CodeOK
		}
		return r.Refusal.Code
	}
	// Public: anyone follows, with or without a code.
	if c := code(h.apply(&FollowEx{Follow: optionsFollow(10)})); c != CodeOK {
		t.Fatalf("public follow: %s", c)
	}
	h.apply(&TraderInvite{Trader: 1, Action: InviteSetPrivate})
	f11 := optionsFollow(11)
	if c := code(h.apply(&f11)); c != CodeInviteRequired {
		t.Fatalf("plain follow of an invite-only trader: %s", c)
	}
	if c := code(h.apply(&FollowEx{Follow: f11, InviteCode: "nope"})); c != CodeInviteInvalid {
		t.Fatalf("unknown code: %s", c)
	}
	h.apply(&TraderInvite{Trader: 1, Action: InviteIssue, Code: "two-uses", MaxUses: 2})
	h.apply(&TraderInvite{Trader: 1, Action: InviteIssue, Code: "soon", ExpiresAtUnixNano: h.now + 3e9})
	h.apply(&TraderInvite{Trader: 1, Action: InviteIssue, Code: "revoked"})
	h.apply(&TraderInvite{Trader: 1, Action: InviteRevoke, Code: "revoked"})
	if r := h.apply(&TraderInvite{Trader: 1, Action: InviteIssue, Code: "two-uses"}); code(r) != CodeInvalidArgument {
		t.Fatal("a code issued twice")
	}
	for i, c := range []AccountID{11, 12} {
		if got := code(h.apply(&FollowEx{Follow: optionsFollow(c), InviteCode: "two-uses"})); got != CodeOK {
			t.Fatalf("use %d of two-uses: %s", i+1, got)
		}
	}
	if got := code(h.apply(&FollowEx{Follow: optionsFollow(13), InviteCode: "two-uses"})); got != CodeInviteInvalid {
		t.Fatalf("third use of a two-use code: %s", got)
	}
	if got := code(h.apply(&FollowEx{Follow: optionsFollow(13), InviteCode: "revoked"})); got != CodeInviteInvalid {
		t.Fatalf("revoked code: %s", got)
	}
	for i := 0; i < 3; i++ { // each entry moves the clock 1 s: "soon" expires
		h.apply(&Noop{})
	}
	if got := code(h.apply(&FollowEx{Follow: optionsFollow(13), InviteCode: "soon"})); got != CodeInviteInvalid {
		t.Fatalf("expired code: %s", got)
	}
	// A refused follow consumed nothing; an existing follow is unaffected by going private.
	tr := h.m.traders[1]
	if i, _ := tr.invite("two-uses"); tr.Invites[i].Used != 2 || tr.findFollow(10) == nil {
		t.Fatalf("invites %+v", tr.Invites)
	}
	h.apply(&TraderInvite{Trader: 1, Action: InviteSetPublic})
	if got := code(h.apply(&FollowEx{Follow: optionsFollow(13)})); got != CodeOK {
		t.Fatalf("public again: %s", got)
	}
}

func TestCloseFollowPolicy(t *testing.T) {
	h := optionsHarness(t)
	h.apply(&FollowEx{Follow: optionsFollow(10)})                                  // copies closes
	h.apply(&FollowEx{Follow: optionsFollow(11), ClosePolicy: CloseLeaveToCopier}) // leaves them
	fill := func(id int64, side Side, qty string) *Result {
		return h.apply(&TradeFill{Trader: 1, TradeID: id, Instrument: "BTC", Side: side, PosSide: Long, Qty: fixed.MustParse(qty),
			Price: 50_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One})
	}
	fill(1, Buy, "1")
	h.apply(h.fillAll(50_000*fixed.One, 0))
	r := fill(2, Sell, "0.5")
	var closes []AccountID
	for _, o := range r.Orders {
		closes = append(closes, o.Copier)
	}
	if !reflect.DeepEqual(closes, []AccountID{10}) {
		t.Fatalf("closes went to %v, want only copier 10", closes)
	}
	left := false
	for _, s := range r.Skips {
		left = left || (s.Copier == 11 && s.Reason == SkipLeftToCopier)
	}
	if !left {
		t.Fatalf("no LEFT_TO_COPIER skip: %+v", r.Skips)
	}
	acts, _ := h.m.Activity(ActivityQuery{Copier: 11})
	if last := acts[len(acts)-1]; last.Kind != ActivitySkip || last.Skip != SkipLeftToCopier {
		t.Fatalf("activity: %+v", last)
	}
	h.apply(h.fillAll(50_000*fixed.One, 0))
	// The trader goes flat: copier 11 keeps its position.
	fill(3, Sell, "0.5")
	h.apply(h.fillAll(50_000*fixed.One, 0))
	f11 := h.m.traders[1].findFollow(11)
	if len(f11.Positions) != 1 || f11.Positions[0].Qty != fixed.One {
		t.Fatalf("copier 11 after the trader went flat: %+v", f11.Positions)
	}
	if f10 := h.m.traders[1].findFollow(10); f10 != nil && len(f10.Positions) != 0 {
		t.Fatalf("copier 10 still holds %+v", f10.Positions)
	}
	// Switched back to copying closes: the trader's next shrink is copied.
	if r := h.apply(&FollowClosePolicy{Copier: 11, Trader: 1, ClosePolicy: CloseCopy}); r.Refusal != nil {
		t.Fatal(r.Refusal)
	}
	if r := h.apply(&FollowClosePolicy{Copier: 99, Trader: 1}); r.Refusal == nil || r.Refusal.Code != CodeUnknownFollow {
		t.Fatalf("policy of no follow: %v", r.Refusal)
	}
	h.apply(&FollowClosePolicy{Copier: 11, Trader: 1, ClosePolicy: CloseLeaveToCopier})
	// Unfollow with close still closes.
	r = h.apply(&Unfollow{Copier: 11, Trader: 1, ClosePositions: true})
	if len(r.Orders) != 1 || r.Orders[0].Copier != 11 || r.Orders[0].Qty != fixed.One || r.Orders[0].Effect != EffectClose {
		t.Fatalf("unfollow: %+v", r.Orders)
	}
	h.apply(h.fillAll(50_000*fixed.One, 0))

	// Stop-loss still closes a leave-to-copier follow.
	s := optionsFollow(12)
	s.Settings.StopLossBps = 100 // 1 % of 100000 = 1000
	h.apply(&FollowEx{Follow: s, ClosePolicy: CloseLeaveToCopier})
	fill(4, Buy, "1")
	h.apply(h.fillAll(50_000*fixed.One, 0))
	r = h.apply(&MarkPrices{Prices: []MarkPrice{{Instrument: "BTC", Price: 48_000 * fixed.One}}}) // −2000 on 1 BTC
	if len(r.Orders) != 1 || r.Orders[0].Copier != 12 || r.Orders[0].Effect != EffectClose {
		t.Fatalf("stop-loss: %+v", r.Orders)
	}
}

func TestCopyOpenPositionsOnFollow(t *testing.T) {
	h := optionsHarness(t)
	h.apply(&TradeFill{Trader: 1, TradeID: 1, Instrument: "BTC", Side: Buy, PosSide: Long, Qty: fixed.MustParse("2"),
		Price: 50_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One})
	h.apply(&MarkPrices{Prices: []MarkPrice{{Instrument: "BTC", Price: 51_000 * fixed.One}}})
	// Without the option: nothing is opened.
	if r := h.apply(&FollowEx{Follow: optionsFollow(10)}); len(r.Orders) != 0 {
		t.Fatalf("a plain follow opened %+v", r.Orders)
	}
	// With it: the copier's share (multiplier 1 → 2 BTC) at the mark, inside the band.
	f := optionsFollow(11)
	f.Settings.SlippageBps = 50
	r := h.apply(&FollowEx{Follow: f, CopyOpenPositions: true})
	if r.Refusal != nil || len(r.Orders) != 1 {
		t.Fatalf("copy open: %v %+v", r.Refusal, r.Orders)
	}
	o := r.Orders[0]
	if o.Copier != 11 || o.Effect != EffectOpen || o.Side != Buy || o.Qty != 2*fixed.One ||
		o.LimitPrice != fixed.MustParse("51255") || o.Leverage != 10 {
		t.Fatalf("order %+v", o)
	}
	acts, _ := h.m.Activity(ActivityQuery{Copier: 11})
	if len(acts) != 1 || acts[0].Origin != OpFollowEx || acts[0].TradeID != 0 {
		t.Fatalf("activity %+v", acts)
	}
	// A follow too small to copy the position records why.
	small := optionsFollow(12)
	small.Settings.MaxOrderNotional = fixed.One
	if r := h.apply(&FollowEx{Follow: small, CopyOpenPositions: true}); len(r.Orders) != 0 {
		t.Fatalf("a capped copy-open placed %+v", r.Orders)
	}
	acts, _ = h.m.Activity(ActivityQuery{Copier: 12})
	if len(acts) != 1 || acts[0].Kind != ActivitySkip || acts[0].Skip != SkipNotionalCap || acts[0].Cap != CapOrderNotional || acts[0].Instrument != "BTC" {
		t.Fatalf("capped copy-open's record: %+v", acts)
	}
	h.apply(h.fillAll(51_000*fixed.One, 0))
	// The copy then follows the trader's closes like any other.
	r = h.apply(&TradeFill{Trader: 1, TradeID: 2, Instrument: "BTC", Side: Sell, PosSide: Long, Qty: fixed.MustParse("2"),
		Price: 51_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One})
	closed := false
	for _, o := range r.Orders {
		closed = closed || (o.Copier == 11 && o.Qty == 2*fixed.One && o.Effect == EffectClose)
	}
	if !closed {
		t.Fatalf("the copied position was not closed with the trader: %+v", r.Orders)
	}
}
