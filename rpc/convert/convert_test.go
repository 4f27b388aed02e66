package convert

import (
	"errors"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func goodFill() *ct.Fill {
	return &ct.Fill{
		Trader: 7, TradeId: 1, Instrument: "BTC-USDT", Side: ct.Side_BUY,
		PositionSide: ct.PositionSide_LONG, Qty: "0.5", Price: "60000.1", Leverage: 10,
		MarginMode: ct.MarginMode_CROSS, Equity: "10000",
		PositionAfter: "1.5", Fee: "0.3", VenueOrderId: "88120034", ClientOrderId: "web-1", EventTimeNs: 1_704_164_645_000_000_000,
	}
}

func TestFillValid(t *testing.T) {
	f, err := Fill("fill", goodFill())
	if err != nil {
		t.Fatal(err)
	}
	want := raftfsm.TradeFill{
		Trader: 7, TradeID: 1, Instrument: "BTC-USDT", Side: raftfsm.Buy, PosSide: raftfsm.Long,
		Qty: fixed.MustParse("0.5"), Price: fixed.MustParse("60000.1"), Leverage: 10,
		MarginMode: raftfsm.Cross, Equity: fixed.MustParse("10000"),
		PositionAfter: fixed.MustParse("1.5"), Fee: fixed.MustParse("0.3"), VenueOrderID: "88120034", ClientOrderID: "web-1",
		EventTimeUnixNano: 1_704_164_645_000_000_000,
	}
	if f != want {
		t.Fatalf("got %+v, want %+v", f, want)
	}
}

func TestFillRefusalsNameTheField(t *testing.T) {
	cases := []struct {
		field string
		mut   func(*ct.Fill)
	}{
		{"fill.trader", func(f *ct.Fill) { f.Trader = 0 }},
		{"fill.trader", func(f *ct.Fill) { f.Trader = -3 }},
		{"fill.trade_id", func(f *ct.Fill) { f.TradeId = 0 }},
		{"fill.instrument", func(f *ct.Fill) { f.Instrument = "" }},
		{"fill.instrument", func(f *ct.Fill) { f.Instrument = strings.Repeat("A", 33) }},
		{"fill.instrument", func(f *ct.Fill) { f.Instrument = "BTC USDT" }},
		{"fill.side", func(f *ct.Fill) { f.Side = 0 }},
		{"fill.side", func(f *ct.Fill) { f.Side = 3 }},
		{"fill.position_side", func(f *ct.Fill) { f.PositionSide = 4 }},
		{"fill.qty", func(f *ct.Fill) { f.Qty = "0" }},
		{"fill.qty", func(f *ct.Fill) { f.Qty = "-1" }},
		{"fill.qty", func(f *ct.Fill) { f.Qty = "NaN" }},
		{"fill.qty", func(f *ct.Fill) { f.Qty = "1e5" }},
		{"fill.qty", func(f *ct.Fill) { f.Qty = "0.000000001" }},
		{"fill.qty", func(f *ct.Fill) { f.Qty = "99999999999999" }},
		{"fill.price", func(f *ct.Fill) { f.Price = "" }},
		{"fill.leverage", func(f *ct.Fill) { f.Leverage = 0 }},
		{"fill.leverage", func(f *ct.Fill) { f.Leverage = 201 }},
		{"fill.margin_mode", func(f *ct.Fill) { f.MarginMode = 9 }},
		{"fill.equity", func(f *ct.Fill) { f.Equity = "-5" }},
		{"fill.position_after", func(f *ct.Fill) { f.PositionAfter = "" }},
		{"fill.position_after", func(f *ct.Fill) { f.PositionAfter = "-1" }},
		{"fill.position_after", func(f *ct.Fill) { f.PositionAfter = "lots" }},
		{"fill.fee", func(f *ct.Fill) { f.Fee = "-0.1" }},
		{"fill.venue_order_id", func(f *ct.Fill) { f.VenueOrderId = strings.Repeat("9", 65) }},
		{"fill.client_order_id", func(f *ct.Fill) { f.ClientOrderId = strings.Repeat("x", 37) }},
		{"fill.event_time_ns", func(f *ct.Fill) { f.EventTimeNs = 0 }},
	}
	for _, c := range cases {
		f := goodFill()
		c.mut(f)
		_, err := Fill("fill", f)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
	if _, err := Fill("fill", nil); err == nil {
		t.Error("nil fill accepted")
	}
}

// TestFillWithoutPositionAfterRefused: fill contract v2 has no optional
// position: a fill without position_after is refused, naming the field; a
// one-way (BOTH) fill may report a short net position as a negative figure.
func TestFillWithoutPositionAfterRefused(t *testing.T) {
	f := goodFill()
	f.PositionAfter = ""
	_, err := Fill("fills[2]", f)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "fills[2].position_after" || !strings.Contains(err.Error(), "required") {
		t.Fatalf("got %v, want a required-field error naming fills[2].position_after", err)
	}
	f = goodFill()
	f.PositionSide, f.PositionAfter = ct.PositionSide_BOTH, "-0.25"
	if out, err := Fill("fill", f); err != nil || out.PositionAfter != fixed.MustParse("-0.25") {
		t.Fatalf("one-way short net: %+v %v", out, err)
	}
}

func TestSubmitRequests(t *testing.T) {
	if _, err := SubmitFill(&ct.SubmitFillRequest{Trader: 8, Fill: goodFill()}); err == nil || !strings.HasPrefix(err.Error(), "trader:") {
		t.Errorf("routing key mismatch: %v", err)
	}
	if _, err := SubmitFill(&ct.SubmitFillRequest{Fill: goodFill(), Wait: 5}); err == nil || !strings.HasPrefix(err.Error(), "wait:") {
		t.Errorf("bad wait: %v", err)
	}
	if _, err := SubmitFill(&ct.SubmitFillRequest{Fill: goodFill(), TimeoutMs: -1}); err == nil {
		t.Error("negative timeout accepted")
	}
	if _, _, err := SubmitFills(&ct.SubmitFillsRequest{}); err == nil {
		t.Error("empty batch accepted")
	}
	big := make([]*ct.Fill, MaxFillsPerRequest+1)
	if _, _, err := SubmitFills(&ct.SubmitFillsRequest{Fills: big}); err == nil {
		t.Error("oversized batch accepted")
	}
	bad := goodFill()
	bad.Qty = "x"
	fills, errs, err := SubmitFills(&ct.SubmitFillsRequest{Fills: []*ct.Fill{goodFill(), bad}})
	if err != nil || len(fills) != 2 || errs[0] != nil || errs[1] == nil || !strings.HasPrefix(errs[1].Error(), "fills[1].qty") {
		t.Fatalf("per-fill errors: %v %v", errs, err)
	}
}

func goodSettings() *ct.FollowSettings {
	return &ct.FollowSettings{
		Mode: ct.CopyMode_FIXED_AMOUNT, FixedMargin: "100", Allocation: "1000",
		LeveragePolicy: ct.LeveragePolicy_FOLLOW_TRADER, MarginPolicy: ct.MarginPolicy_FOLLOW_TRADER,
		PositionMode: ct.PositionMode_HEDGE, Instruments: []string{"ETH-USDT", "BTC-USDT"},
	}
}

func TestFollowSettings(t *testing.T) {
	f, err := Follow(&ct.FollowRequest{Trader: 1, Copier: 2, Settings: goodSettings()})
	if err != nil {
		t.Fatal(err)
	}
	if f.Settings.Instruments[0] != "BTC-USDT" || f.Settings.FixedMargin != fixed.MustParse("100") {
		t.Fatalf("settings: %+v", f.Settings)
	}
	cases := []struct {
		field string
		mut   func(*ct.FollowRequest)
	}{
		{"copier", func(r *ct.FollowRequest) { r.Copier = r.Trader }},
		{"copier_parent", func(r *ct.FollowRequest) { r.CopierParent = -1 }},
		{"settings.mode", func(r *ct.FollowRequest) { r.Settings.Mode = 0 }},
		{"settings.fixed_margin", func(r *ct.FollowRequest) { r.Settings.FixedMargin = "" }},
		{"settings.multiplier", func(r *ct.FollowRequest) { r.Settings.Mode = ct.CopyMode_MULTIPLIER }},
		{"settings.allocation", func(r *ct.FollowRequest) { r.Settings.Allocation = "0" }},
		{"settings.leverage", func(r *ct.FollowRequest) { r.Settings.LeveragePolicy = ct.LeveragePolicy_FIXED }},
		{"settings.instruments", func(r *ct.FollowRequest) { r.Settings.Instruments = []string{"A", "A"} }},
		{"settings.instruments[1]", func(r *ct.FollowRequest) { r.Settings.Instruments = []string{"A", ""} }},
		{"settings.slippage_bps", func(r *ct.FollowRequest) { r.Settings.SlippageBps = -1 }},
		{"settings.stop_loss_bps", func(r *ct.FollowRequest) { r.Settings.StopLossBps = 10001 }},
		{"settings.liquidation_policy", func(r *ct.FollowRequest) { r.Settings.LiquidationPolicy = 3 }},
		{"settings.account_mode", func(r *ct.FollowRequest) { r.Settings.AccountMode = -1 }},
	}
	for _, c := range cases {
		r := &ct.FollowRequest{Trader: 1, Copier: 2, Settings: goodSettings()}
		c.mut(r)
		_, err := Follow(r)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
}

func TestTraderInstrumentRulesSlots(t *testing.T) {
	cfg := &ct.TraderConfig{ProfitShareBps: 1000, MinCopyAmount: "10", MaxCopyAmount: "5"}
	if _, err := ApplyTrader(&ct.ApplyTraderRequest{Trader: 1, Stats: &ct.ApplicantStats{}, Config: cfg}); err == nil ||
		!strings.HasPrefix(err.Error(), "config.min_copy_amount") {
		t.Errorf("min > max: %v", err)
	}
	cfg.MaxCopyAmount, cfg.ProfitShareBps = "", 3001
	if _, err := UpdateTrader(&ct.UpdateTraderRequest{Trader: 1, Config: cfg}); err == nil ||
		!strings.HasPrefix(err.Error(), "config.profit_share_bps") {
		t.Errorf("share: %v", err)
	}
	in := &ct.Instrument{Symbol: "BTC-USDT", LotStep: "0.001", TickSize: "0.1", MinQty: "0.0001", MaxLeverage: 100}
	if _, err := Instrument(&ct.UpsertInstrumentRequest{Instrument: in}); err == nil ||
		!strings.HasPrefix(err.Error(), "instrument.min_qty") {
		t.Errorf("min qty below lot: %v", err)
	}
	in.MinQty = "0.001"
	got, err := Instrument(&ct.UpsertInstrumentRequest{Instrument: in})
	if err != nil || got.Instrument.MinNotional != 0 || got.Instrument.LotStep != fixed.MustParse("0.001") {
		t.Errorf("instrument: %+v %v", got, err)
	}
	if _, err := Rules(&ct.SetRulesRequest{Rules: &ct.EligibilityRules{MinWinRateBps: 10001}}); err == nil {
		t.Error("win rate > 100% accepted")
	}
	if _, err := SlotFreeze(&ct.SlotFreezeRequest{Migration: 1, Slots: []int32{3, 2}, TargetGroup: 2, Epoch: 2}); err == nil {
		t.Error("unsorted slots accepted")
	}
	if _, err := SlotFreeze(&ct.SlotFreezeRequest{Migration: 1, Slots: []int32{16384}, TargetGroup: 2, Epoch: 2}); err == nil {
		t.Error("slot out of range accepted")
	}
	if _, err := Settle(&ct.SettleRequest{}); err == nil {
		t.Error("period 0 accepted")
	}
}

// TestFillV2LimitsNameTheField: the instrument's price band and maximum order
// quantity and the trader's signal age limit are converted and checked, naming
// the field.
func TestFillV2LimitsNameTheField(t *testing.T) {
	in := &ct.Instrument{Symbol: "BTC-USDT", LotStep: "0.001", TickSize: "0.1", MinQty: "0.001", MaxLeverage: 100,
		PriceBandBps: 500, MaxOrderQty: "250"}
	got, err := Instrument(&ct.UpsertInstrumentRequest{Instrument: in})
	if err != nil || got.Instrument.PriceBandBps != 500 || got.Instrument.MaxOrderQty != fixed.MustParse("250") {
		t.Fatalf("instrument: %+v %v", got, err)
	}
	for field, mut := range map[string]func(*ct.Instrument){
		"instrument.price_band_bps": func(i *ct.Instrument) { i.PriceBandBps = 10001 },
		"instrument.max_order_qty":  func(i *ct.Instrument) { i.MaxOrderQty = "0.0001" },
	} {
		bad := *in
		mut(&bad)
		var fe *FieldError
		if _, err := Instrument(&ct.UpsertInstrumentRequest{Instrument: &bad}); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
	cfg, err := TraderConfig("config", &ct.TraderConfig{SignalMaxAgeMs: 5000})
	if err != nil || cfg.SignalMaxAgeMs != 5000 {
		t.Fatalf("trader config: %+v %v", cfg, err)
	}
	var fe *FieldError
	if _, err := TraderConfig("config", &ct.TraderConfig{SignalMaxAgeMs: -1}); !errors.As(err, &fe) || fe.Field != "config.signal_max_age_ms" {
		t.Errorf("negative signal age: %v", err)
	}
}

// The IDL's enum values equal raftfsm's, so conversion is a cast: pin it.
func TestEnumValuesMatchRaftfsm(t *testing.T) {
	pairs := [][2]int64{
		{int64(ct.Side_BUY), int64(raftfsm.Buy)}, {int64(ct.Side_SELL), int64(raftfsm.Sell)},
		{int64(ct.PositionSide_LONG), int64(raftfsm.Long)}, {int64(ct.PositionSide_BOTH), int64(raftfsm.Both)},
		{int64(ct.MarginMode_ISOLATED), int64(raftfsm.Isolated)}, {int64(ct.PositionMode_ONE_WAY), int64(raftfsm.OneWay)},
		{int64(ct.AccountMode_PORTFOLIO), int64(raftfsm.AccountModePortfolio)},
		{int64(ct.CopyMode_PROPORTIONAL), int64(raftfsm.Proportional)},
		{int64(ct.LeveragePolicy_FIXED), int64(raftfsm.LeverageFixed)},
		{int64(ct.MarginPolicy_FORCE_ISOLATED), int64(raftfsm.MarginForceIsolated)},
		{int64(ct.LiqPolicy_DETACH), int64(raftfsm.LiqDetach)},
		{int64(ct.TraderStatus_REJECTED), int64(raftfsm.TraderRejected)},
		{int64(ct.FollowStatus_ENDED), int64(raftfsm.FollowEnded)},
		{int64(ct.OrderStatus_PENDING), int64(raftfsm.OrderPending)},
		{int64(ct.OrderStatus_REJECTED), int64(raftfsm.OrderRejected)},
		{int64(ct.OrderEffect_CLOSE), int64(raftfsm.EffectClose)},
		{int64(ct.SlotState_RELEASED), int64(raftfsm.SlotReleased)},
		{int64(ct.ErrorCode_MOVED), RefusalBase + int64(raftfsm.CodeMoved)},
		{int64(ct.ErrorCode_MOVING), RefusalBase + int64(raftfsm.CodeMoving)},
		{int64(ct.ErrorCode_ALLOCATION_RANGE), RefusalBase + int64(raftfsm.CodeAllocationRange)},
		{int64(ct.ErrorCode_COPIED_ORDER), RefusalBase + int64(raftfsm.CodeCopiedOrder)},
		{int64(ct.ErrorCode_IMPLAUSIBLE_FILL), RefusalBase + int64(raftfsm.CodeImplausibleFill)},
	}
	for i, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("pair %d: IDL %d != raftfsm %d", i, p[0], p[1])
		}
	}
	for c := raftfsm.Code(1); c <= raftfsm.CodeAllocationRange; c++ {
		if got := RefusalCode(c).String(); got != c.String() {
			t.Errorf("code %d: IDL name %s, raftfsm name %s", c, got, c)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	err := RefusalError(&raftfsm.Refusal{Code: raftfsm.CodeMoved, Msg: "slot 5", Group: 3, Epoch: 9})
	st, ok := StatusOf(err)
	if !ok || st.Code != ct.ErrorCode_MOVED || st.Extra[ct.EXTRA_GROUP] != "3" || st.Extra[ct.EXTRA_EPOCH] != "9" {
		t.Fatalf("moved: %+v", st)
	}
	st, _ = StatusOf(NotLeaderError("n2", "127.0.0.1:9"))
	if st.Code != ct.ErrorCode_NOT_LEADER || st.Extra[ct.EXTRA_LEADER_ADDR] != "127.0.0.1:9" {
		t.Fatalf("not leader: %+v", st)
	}
	_, ferr := Fill("fill", &ct.Fill{})
	biz, ok := EdgeError(ferr)
	if !ok || CodeOf(biz) != ct.ErrorCode_INVALID_ARGUMENT {
		t.Fatalf("field error: %v", biz)
	}
	if _, ok := EdgeError(errors.New("x")); ok {
		t.Fatal("plain error mapped")
	}
}

func TestSlotRanges(t *testing.T) {
	var slots [raftfsm.NumSlots]raftfsm.Slot
	for i := 0; i < 100; i++ {
		slots[i] = raftfsm.Slot{State: raftfsm.SlotOwned, Epoch: 1}
	}
	slots[50] = raftfsm.Slot{State: raftfsm.SlotReleased, Epoch: 2, MovedTo: 2, Migration: 4}
	slots[200] = raftfsm.Slot{State: raftfsm.SlotOwned, Epoch: 1}
	r := SlotRanges(&slots)
	if len(r) != 4 || r[0].To != 49 || r[1].MovedTo != 2 || r[2].First != 51 || r[2].To != 99 || r[3].First != 200 {
		t.Fatalf("ranges: %v", r)
	}
}

// TestOneErrorShape: a field refused by the machine has the edge's code and field naming,
// and no refusal repeats its code name in the message.
func TestOneErrorShape(t *testing.T) {
	edge, _ := EdgeError(fieldErr("settings.multiplier", "must be > 0 in MULTIPLIER mode"))
	machine := RefusalError(&raftfsm.Refusal{Code: raftfsm.CodeInvalidArgument, Msg: "Settings.Multiplier: must be 0 in PROPORTIONAL mode"})
	a, _ := StatusOf(edge)
	b, _ := StatusOf(machine)
	if a.Code != ct.ErrorCode_INVALID_ARGUMENT || b.Code != a.Code || !strings.HasPrefix(b.Msg, "settings.multiplier: ") {
		t.Fatalf("edge %+v, machine %+v", a, b)
	}
	u, _ := StatusOf(RefusalError(&raftfsm.Refusal{Code: raftfsm.CodeUnknownTrader, Msg: "trader 9 is unknown in this group"}))
	if u.Code != ct.ErrorCode_UNKNOWN_TRADER || strings.Contains(u.Msg, "UNKNOWN_TRADER") {
		t.Fatalf("unknown trader: %+v", u)
	}
	for in, want := range map[string]string{
		"Settings.MaxOrderNotional": "settings.max_order_notional", "Results[3].FilledQty": "results[3].filled_qty",
		"Result.ClientOrderID": "result.client_order_id", "KeepPerFollow": "keep_per_follow", "Fill.PositionAfter": "fill.position_after",
	} {
		if got := SnakePath(in); got != want {
			t.Errorf("SnakePath(%q) = %q, want %q", in, got, want)
		}
	}
}
