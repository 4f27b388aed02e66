package router_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestEdgeValidation sends malformed requests through the router: each gets
// INVALID_ARGUMENT naming the field, nothing is forwarded and no state changes.
func TestEdgeValidation(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict})
	trader := testcluster.TraderIn(1, 1, 1, 4_000_000)[0]
	c.Seed([]int64{trader}, 2, 8_000_000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.Settled(10 * time.Second)
	before := c.StateHashes()
	attempts := func() float64 { return histCount(t, c.Router) }
	forwarded := attempts()

	fill := func(mut func(f *ct.Fill)) error {
		f := testcluster.OpenFill(trader, 99)
		mut(f)
		_, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: trader, Fill: f})
		return err
	}
	many := make([]*ct.Fill, 1001)
	for i := range many {
		many[i] = testcluster.OpenFill(trader, int64(i+1))
	}
	cases := []struct {
		field string
		err   error
	}{
		{"fill.qty", fill(func(f *ct.Fill) { f.Qty = "0.123456789" })},
		{"fill.qty", fill(func(f *ct.Fill) { f.Qty = "NaN" })},
		{"fill.qty", fill(func(f *ct.Fill) { f.Qty = "-1" })},
		{"fill.qty", fill(func(f *ct.Fill) { f.Qty = "0" })},
		{"fill.qty", fill(func(f *ct.Fill) { f.Qty = "1e5" })},
		{"fill.price", fill(func(f *ct.Fill) { f.Price = "" })},
		{"fill.price", fill(func(f *ct.Fill) { f.Price = "99999999999999999999" })},
		{"fill.trade_id", fill(func(f *ct.Fill) { f.TradeId = 0 })},
		{"fill.leverage", fill(func(f *ct.Fill) { f.Leverage = 201 })},
		{"fill.side", fill(func(f *ct.Fill) { f.Side = 9 })},
		{"fill.instrument", fill(func(f *ct.Fill) { f.Instrument = strings.Repeat("X", 100) })},
		{"fill.equity", fill(func(f *ct.Fill) { f.Equity = "-5" })},
		{"fill.trader", fill(func(f *ct.Fill) { f.Trader = -1 })},
		{"trader", second(c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: trader + 1, Fill: testcluster.OpenFill(trader, 1)}))},
		{"timeout_ms", second(c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: trader, Fill: testcluster.OpenFill(trader, 1), TimeoutMs: 3_600_000}))},
		{"fills", second(c.Cli.SubmitFills(ctx, &ct.SubmitFillsRequest{}))},
		{"fills", second(c.Cli.SubmitFills(ctx, &ct.SubmitFillsRequest{Fills: many}))},
		{"settings.fixed_margin", second(c.Cli.Follow(ctx, &ct.FollowRequest{Trader: trader, Copier: 9_000_001,
			Settings: &ct.FollowSettings{Mode: ct.CopyMode_FIXED_AMOUNT, FixedMargin: "-1", Allocation: "100",
				LeveragePolicy: 1, MarginPolicy: 1, PositionMode: 1}}))},
		{"copier", second(c.Cli.Follow(ctx, &ct.FollowRequest{Trader: trader, Copier: 0, Settings: testcluster.FollowSettings()}))},
		{"limit", second(c.Cli.ListFollowers(ctx, &ct.ListFollowersRequest{Trader: trader, Limit: 1001}))},
		{"limit", second(c.Cli.ListOrders(ctx, &ct.ListOrdersRequest{Copier: 8_000_000, Limit: 10001}))},
		{"copier", second(c.Cli.ListCopierFollows(ctx, &ct.ListCopierFollowsRequest{Copier: -3}))},
		{"instrument.lot_step", second(c.Cli.UpsertInstrument(ctx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{
			Symbol: "ETHUSDT", LotStep: "0.000000001", TickSize: "1", MinQty: "1", MaxLeverage: 5}}))},
		{"group", second(c.Cli.Noop(ctx, &ct.NoopRequest{}))},
	}
	for i, tc := range cases {
		st, ok := convert.StatusOf(tc.err)
		if !ok || st.Code != ct.ErrorCode_INVALID_ARGUMENT || !strings.Contains(st.Msg, tc.field) {
			t.Errorf("case %d (%s): %v, want INVALID_ARGUMENT naming %s", i, tc.field, tc.err, tc.field)
		}
	}
	if got := attempts(); got != forwarded {
		t.Errorf("%v calls forwarded for invalid requests, want 0", got-forwarded)
	}
	// A batch with some bad fills: those are answered per fill, the good one applied.
	// (Attempts for it are not counted: on a loaded machine a leader change can take
	// the batch more than one.)
	resp, err := c.Cli.SubmitFills(ctx, &ct.SubmitFillsRequest{Fills: []*ct.Fill{
		{Trader: trader, TradeId: 1, Qty: "x"}, testcluster.OpenFill(trader, 1),
	}})
	if err != nil || resp.Outcomes[0].Code != ct.ErrorCode_INVALID_ARGUMENT || resp.Outcomes[1].Code != ct.ErrorCode_OK {
		t.Fatalf("mixed batch: %v %+v", err, resp)
	}
	c.Settled(10 * time.Second)
	after := c.StateHashes()
	changed := 0
	for id := range before {
		if before[id] != after[id] {
			changed++
		}
	}
	if changed != len(before) { // only the valid fill changed the state
		t.Errorf("%d of %d replicas changed after one valid fill", changed, len(before))
	}
}

// histCount is how many single attempts the router made at members.
func histCount(t testing.TB, r *router.Router) float64 {
	t.Helper()
	mfs, err := r.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "copytrade_router_attempt_seconds" {
			for _, m := range mf.GetMetric() {
				n += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return n
}

// FuzzSubmitFill feeds arbitrary fills to the router's handler (in process, no cluster:
// its one group is an address nobody listens on). The router never panics; a fill the
// edge validators refuse gets INVALID_ARGUMENT and is never forwarded, so it cannot change
// any state; a fill they accept is forwarded (and here fails UNAVAILABLE).
func FuzzSubmitFill(f *testing.F) {
	f.Add(int64(1), int64(1), int64(1), "BTCUSDT", int64(1), int64(1), "0.01", "60000", int32(10), int64(1), "100", false, int32(0))
	f.Add(int64(0), int64(-1), int64(0), "", int64(0), int64(9), "NaN", "-0", int32(0), int64(3), "1e9", true, int32(-1))
	f.Add(int64(5), int64(5), int64(1<<62), "B/T.C-_", int64(2), int64(3), "0.123456789", "9223372036854775807", int32(201), int64(2), "", false, int32(60001))
	f.Add(int64(7), int64(8), int64(1), "ETH USDT", int64(1), int64(2), "00001.10000000", "1.", int32(200), int64(2), "+1", true, int32(1))
	topo := &router.Topology{Groups: []router.GroupSpec{{ID: 1, Members: []router.MemberSpec{{ID: "n1", RaftAddr: "127.0.0.1:1", RPCAddr: "127.0.0.1:2"}}}}}
	cfg := router.DefaultConfig()
	cfg.RequestTimeout = 50 * time.Millisecond
	cfg.MaxAttempts = 1
	cfg.Logger = testcluster.Logger()
	r, err := router.New(cfg, topo)
	if err != nil {
		f.Fatal(err)
	}
	r.OfferRangeForTest(0, 16383, 1, 1)
	h := router.HandlerForTest(r)
	f.Fuzz(func(t *testing.T, reqTrader, trader, tradeID int64, sym string, side, pos int64, qty, price string, lev int32, mm int64, equity string, liq bool, timeout int32) {
		req := &ct.SubmitFillRequest{Trader: reqTrader, TimeoutMs: timeout, Fill: &ct.Fill{
			Trader: trader, TradeId: tradeID, Instrument: sym, Side: ct.Side(side), PositionSide: ct.PositionSide(pos),
			Qty: qty, Price: price, Leverage: lev, MarginMode: ct.MarginMode(mm), Equity: equity, Liquidation: liq,
		}}
		_, verr := convert.SubmitFill(req)
		before := histCount(t, r)
		_, err := h.SubmitFill(context.Background(), req)
		code := convert.CodeOf(err)
		forwarded := histCount(t, r) - before
		if verr != nil {
			if code != ct.ErrorCode_INVALID_ARGUMENT || forwarded != 0 {
				t.Fatalf("invalid fill (%v): code %v, %v attempts forwarded", verr, code, forwarded)
			}
			return
		}
		if code == ct.ErrorCode_INVALID_ARGUMENT || err == nil {
			t.Fatalf("valid fill answered %v", err)
		}
	})
}
