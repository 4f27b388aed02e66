package exchsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

var d = fixed.MustParse

// testConfig is DefaultConfig with the ticker off, quiet logs and a 10,000 balance:
// BTC mark 60000, spread 2 bps (buy 60006, sell 59994), fee 5 bps.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.MarkStepInterval = 0
	cfg.DefaultBalance = d("10000")
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

func newSim(t testing.TB, mutate func(*Config)) *Sim {
	t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

var idSeq struct {
	sync.Mutex
	n int
}

func nextID() string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("t-%d", idSeq.n)
}

// mkt is a MARKET order of 10x cross leverage with a fresh client order ID.
func mkt(acct int64, sym string, side Side, ps PositionSide, qty string) Order {
	return Order{ClientOrderID: nextID(), Account: acct, Instrument: sym, Side: side, PositionSide: ps,
		Qty: d(qty), Type: Market, Leverage: 10, MarginMode: Cross}
}

func place1(t *testing.T, s *Sim, o Order) OrderResult {
	t.Helper()
	rs, err := s.PlaceOrders(context.Background(), []Order{o})
	if err != nil {
		t.Fatalf("PlaceOrders: %v", err)
	}
	return rs[0]
}

func wantFill(t *testing.T, r OrderResult, status OrderStatus, qty, price string) {
	t.Helper()
	if r.Status != status || r.FilledQty != d(qty) || r.AvgPrice != d(price) {
		t.Fatalf("result %+v: want %s %s @ %s", r, status, qty, price)
	}
}

func wantReject(t *testing.T, r OrderResult, reason RejectReason) {
	t.Helper()
	if r.Status != Rejected || r.Reason != reason {
		t.Fatalf("result %+v: want REJECTED %s", r, reason)
	}
	if r.FilledQty != 0 || r.Fee != 0 {
		t.Fatalf("rejected order filled something: %+v", r)
	}
}

func snap(t *testing.T, s *Sim, acct int64) AccountSnapshot {
	t.Helper()
	sn, err := s.AccountSnapshot(acct)
	if err != nil {
		t.Fatalf("AccountSnapshot(%d): %v", acct, err)
	}
	return sn
}

func TestMarketFillAndAccounting(t *testing.T) {
	s := newSim(t, nil)
	r := place1(t, s, mkt(1, "BTCUSDT", Buy, Long, "0.01"))
	wantFill(t, r, Filled, "0.01", "60006")
	if r.Fee != d("0.30003") || r.OrderID == 0 || r.Duplicate {
		t.Fatalf("fee/ID: %+v", r)
	}
	sn := snap(t, s, 1)
	if len(sn.Positions) != 1 {
		t.Fatalf("positions %+v", sn.Positions)
	}
	p := sn.Positions[0]
	if p.Qty != d("0.01") || p.EntryPrice != d("60006") || p.Margin != d("60.006") || p.Leverage != 10 {
		t.Fatalf("position %+v", p)
	}
	if sn.Balance != d("9999.69997") || sn.MarginUsed != d("60.006") || sn.Available != d("9939.69397") {
		t.Fatalf("balance %+v", sn)
	}
	// Equity: balance + (60000 - 60006) × 0.01.
	if sn.Equity != d("9999.63997") {
		t.Fatalf("equity %s", sn.Equity)
	}
	// Sell side fills at mark - half spread; increasing averages the entry.
	r = place1(t, s, mkt(1, "BTCUSDT", Sell, Short, "0.02"))
	wantFill(t, r, Filled, "0.02", "59994")
	r = place1(t, s, mkt(1, "BTCUSDT", Buy, Long, "0.03"))
	wantFill(t, r, Filled, "0.03", "60006")
	if p := snap(t, s, 1).Positions[0]; p.Qty != d("0.04") || p.EntryPrice != d("60006") {
		t.Fatalf("averaged position %+v", p)
	}
}

func TestIOCLimitPriceBand(t *testing.T) {
	s := newSim(t, nil)
	lim := func(side Side, ps PositionSide, qty, price string) Order {
		o := mkt(2, "BTCUSDT", side, ps, qty)
		o.Type, o.LimitPrice = IOCLimit, d(price)
		return o
	}
	wantReject(t, place1(t, s, lim(Buy, Long, "0.01", "60005.9")), ReasonPriceOutOfBand)
	wantFill(t, place1(t, s, lim(Buy, Long, "0.01", "60006")), Filled, "0.01", "60006")
	wantFill(t, place1(t, s, lim(Buy, Long, "0.01", "61000")), Filled, "0.01", "60006") // fills at the venue price, not the limit
	wantReject(t, place1(t, s, lim(Sell, Short, "0.01", "59994.1")), ReasonPriceOutOfBand)
	wantFill(t, place1(t, s, lim(Sell, Short, "0.01", "59994")), Filled, "0.01", "59994")
	wantReject(t, place1(t, s, lim(Buy, Long, "0.01", "60000.05")), ReasonInvalidPrice) // off the 0.1 tick
	wantReject(t, place1(t, s, lim(Buy, Long, "0.01", "0")), ReasonInvalidPrice)
	// The band moves with the mark.
	if err := s.SetMark("BTCUSDT", d("59000")); err != nil {
		t.Fatal(err)
	}
	wantFill(t, place1(t, s, lim(Buy, Long, "0.01", "60000")), Filled, "0.01", "59005.9")
}

func TestReduceOnlyHedge(t *testing.T) {
	s := newSim(t, nil)
	wantFill(t, place1(t, s, mkt(3, "BTCUSDT", Buy, Long, "0.01")), Filled, "0.01", "60006")
	ro := func(side Side, ps PositionSide, qty string) Order {
		o := mkt(3, "BTCUSDT", side, ps, qty)
		o.ReduceOnly, o.Leverage, o.MarginMode = true, 0, 0 // reduce-only may omit both
		return o
	}
	wantReject(t, place1(t, s, ro(Buy, Long, "0.01")), ReasonReduceOnlyViolation)   // would increase
	wantReject(t, place1(t, s, ro(Sell, Long, "0.011")), ReasonReduceOnlyViolation) // more than held
	wantReject(t, place1(t, s, ro(Buy, Short, "0.001")), ReasonReduceOnlyViolation) // no short to reduce
	// A plain (not reduce-only) close larger than the position is refused too: hedge closes only close.
	wantReject(t, place1(t, s, mkt(3, "BTCUSDT", Sell, Long, "0.02")), ReasonReduceOnlyViolation)

	r := place1(t, s, ro(Sell, Long, "0.004"))
	wantFill(t, r, Filled, "0.004", "59994")
	if r.RealizedPnL != d("-0.048") { // (59994 - 60006) × 0.004
		t.Fatalf("realised %s", r.RealizedPnL)
	}
	sn := snap(t, s, 3)
	if p := sn.Positions[0]; p.Qty != d("0.006") || p.EntryPrice != d("60006") || p.Margin != d("36.0036") {
		t.Fatalf("after partial close %+v", p)
	}
	// Below min qty and below min notional are fine for reduce-only: residues can close.
	wantFill(t, place1(t, s, ro(Sell, Long, "0.006")), Filled, "0.006", "59994")
	sn = snap(t, s, 3)
	if len(sn.Positions) != 0 || sn.MarginUsed != 0 {
		t.Fatalf("after close %+v", sn)
	}
	if sn.RealizedPnL != d("-0.12") || sn.Balance != fixed.Dec(d("10000")-d("0.12")-sn.FeesPaid) {
		t.Fatalf("books %+v", sn)
	}
}

func TestReduceOnlyOneWay(t *testing.T) {
	s := newSim(t, func(c *Config) { c.DefaultPositionMode = OneWay })
	wantReject(t, place1(t, s, mkt(4, "BTCUSDT", Buy, Long, "0.01")), ReasonPositionSideMismatch)
	wantFill(t, place1(t, s, mkt(4, "BTCUSDT", Buy, Both, "0.01")), Filled, "0.01", "60006")
	ro := func(side Side, qty string) Order {
		o := mkt(4, "BTCUSDT", side, Both, qty)
		o.ReduceOnly = true
		return o
	}
	wantReject(t, place1(t, s, ro(Buy, "0.01")), ReasonReduceOnlyViolation)                   // same direction
	wantReject(t, place1(t, s, ro(Sell, "0.02")), ReasonReduceOnlyViolation)                  // would flip
	wantFill(t, place1(t, s, mkt(4, "BTCUSDT", Sell, Both, "0.03")), Filled, "0.03", "59994") // plain flip
	p := snap(t, s, 4).Positions[0]
	if p.PositionSide != Both || p.Qty != d("-0.02") || p.EntryPrice != d("59994") || p.Margin != d("119.988") {
		t.Fatalf("after flip %+v", p)
	}
	wantFill(t, place1(t, s, ro(Buy, "0.02")), Filled, "0.02", "60006")
	if sn := snap(t, s, 4); len(sn.Positions) != 0 || sn.MarginUsed != 0 {
		t.Fatalf("after close %+v", sn)
	}
}

func TestPositionSideMismatchHedge(t *testing.T) {
	s := newSim(t, nil)
	wantReject(t, place1(t, s, mkt(5, "BTCUSDT", Buy, Both, "0.01")), ReasonPositionSideMismatch)
}

func TestInsufficientMargin(t *testing.T) {
	s := newSim(t, func(c *Config) { c.DefaultBalance = d("100") })
	o := mkt(6, "BTCUSDT", Buy, Long, "0.01") // notional 600.06
	o.Leverage = 1
	r := place1(t, s, o)
	wantReject(t, r, ReasonInsufficientMargin)
	if !strings.Contains(r.Message, "available balance 100") {
		t.Fatalf("message %q", r.Message)
	}
	o.ClientOrderID, o.Leverage = nextID(), 10 // 60.006 + fee 0.30003 fits in 100
	wantFill(t, place1(t, s, o), Filled, "0.01", "60006")
	o.ClientOrderID = nextID() // another 60.006: 39.7 left, no
	wantReject(t, place1(t, s, o), ReasonInsufficientMargin)
	// Closing never needs margin.
	c := mkt(6, "BTCUSDT", Sell, Long, "0.01")
	wantFill(t, place1(t, s, c), Filled, "0.01", "59994")
}

func TestLotAndMinChecks(t *testing.T) {
	s := newSim(t, func(c *Config) { c.AutoCreateAccounts = false })
	if _, _, err := s.CreateAccount(7, d("10000"), Hedge); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(*Order)
		want   RejectReason
	}{
		{"zero qty", func(o *Order) { o.Qty = 0 }, ReasonInvalidQty},
		{"negative qty", func(o *Order) { o.Qty = -d("0.01") }, ReasonInvalidQty},
		{"off lot step", func(o *Order) { o.Qty = d("0.0015") }, ReasonQtyNotOnLotStep},
		{"below min notional", func(o *Order) { o.Instrument, o.Qty = "SOLUSDT", d("0.01") }, ReasonBelowMinNotional},
		{"leverage above max", func(o *Order) { o.Leverage = 126 }, ReasonInvalidLeverage},
		{"leverage zero on open", func(o *Order) { o.Leverage = 0 }, ReasonInvalidLeverage},
		{"unknown instrument", func(o *Order) { o.Instrument = "DOGEUSDT" }, ReasonUnknownInstrument},
		{"unknown account", func(o *Order) { o.Account = 999 }, ReasonUnknownAccount},
		{"bad side", func(o *Order) { o.Side = 0 }, ReasonInvalidOrder},
		{"bad type", func(o *Order) { o.Type = 9 }, ReasonInvalidOrder},
		{"bad margin mode", func(o *Order) { o.MarginMode = 0 }, ReasonInvalidOrder},
		{"limit on market", func(o *Order) { o.LimitPrice = d("1") }, ReasonInvalidPrice},
		{"empty client ID", func(o *Order) { o.ClientOrderID = "" }, ReasonInvalidOrder},
		{"long client ID", func(o *Order) { o.ClientOrderID = strings.Repeat("x", 37) }, ReasonInvalidOrder},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := mkt(7, "BTCUSDT", Buy, Long, "0.01")
			tc.mutate(&o)
			wantReject(t, place1(t, s, o), tc.want)
		})
	}
	if _, err := s.SetInstrument(InstrumentSpec{Symbol: "XYZUSDT", LotStep: d("0.1"), TickSize: d("0.01"),
		MinQty: d("1"), MinNotional: d("0"), MaxLeverage: 20, MarkPrice: d("10")}); err != nil {
		t.Fatal(err)
	}
	wantReject(t, place1(t, s, mkt(7, "XYZUSDT", Buy, Long, "0.9")), ReasonBelowMinQty)
	// Half the spread (0.001) rounds up to a whole tick, against the taker.
	wantFill(t, place1(t, s, mkt(7, "XYZUSDT", Buy, Long, "1")), Filled, "1", "10.01")
	if st := s.Stats(); st.Accounts != 1 {
		t.Fatalf("an order created an account with auto-create off: %+v", st)
	}
}

func TestPartialFillKnob(t *testing.T) {
	s := newSim(t, func(c *Config) { c.PartialFillEveryN = 2 })
	wantFill(t, place1(t, s, mkt(8, "BTCUSDT", Buy, Long, "0.011")), Filled, "0.011", "60006")
	r := place1(t, s, mkt(8, "BTCUSDT", Buy, Long, "0.011"))
	wantFill(t, r, PartiallyFilled, "0.005", "60006") // half, rounded down to the lot
	wantFill(t, place1(t, s, mkt(8, "BTCUSDT", Buy, Long, "0.001")), Filled, "0.001", "60006")
	wantFill(t, place1(t, s, mkt(8, "BTCUSDT", Buy, Long, "0.001")), Filled, "0.001", "60006") // half is 0: full
	if p := snap(t, s, 8).Positions[0]; p.Qty != d("0.018") {
		t.Fatalf("position %s, want 0.018", p.Qty)
	}
	if st := s.Stats(); st.OrdersPartiallyFilled != 1 || st.OrdersFilled != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStrictDedup(t *testing.T) {
	s := newSim(t, nil)
	o := mkt(9, "BTCUSDT", Buy, Long, "0.01")
	rs, err := s.PlaceOrders(context.Background(), []Order{o, o}) // repeated inside one batch
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Duplicate || !rs[1].Duplicate || rs[1].OrderID != rs[0].OrderID || rs[1].FilledQty != rs[0].FilledQty {
		t.Fatalf("in-batch duplicate: %+v", rs)
	}
	again := place1(t, s, o) // and in a later batch
	if !again.Duplicate || again.OrderID != rs[0].OrderID {
		t.Fatalf("later duplicate %+v", again)
	}
	// Concurrent repeats of a new ID still create one order.
	o2 := mkt(9, "BTCUSDT", Buy, Long, "0.01")
	var wg sync.WaitGroup
	ids := make(chan int64, 16)
	for range 16 {
		wg.Go(func() {
			rs, err := s.PlaceOrders(context.Background(), []Order{o2})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- rs[0].OrderID
		})
	}
	wg.Wait()
	close(ids)
	first := int64(0)
	for id := range ids {
		if first == 0 {
			first = id
		} else if id != first {
			t.Fatalf("two order IDs %d and %d for one client order ID", first, id)
		}
	}
	if s.OrderCount(o.ClientOrderID) != 1 || s.OrderCount(o2.ClientOrderID) != 1 {
		t.Fatalf("counts %d %d", s.OrderCount(o.ClientOrderID), s.OrderCount(o2.ClientOrderID))
	}
	if p := snap(t, s, 9).Positions[0]; p.Qty != d("0.02") {
		t.Fatalf("position %s: duplicates executed", p.Qty)
	}
	if st := s.Stats(); st.OrdersCreated != 2 || st.DuplicatesReturned != 17 {
		t.Fatalf("stats %+v", st)
	}
	// A rejected order is recorded too: its repeat returns the rejection.
	bad := mkt(9, "BTCUSDT", Buy, Long, "0.0001")
	wantReject(t, place1(t, s, bad), ReasonQtyNotOnLotStep)
	if r := place1(t, s, bad); !r.Duplicate || r.Reason != ReasonQtyNotOnLotStep {
		t.Fatalf("repeat of a rejected order %+v", r)
	}
}

func TestNoDedupCreatesSecondOrder(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Mode = NoDedup })
	o := mkt(10, "BTCUSDT", Buy, Long, "0.01")
	first := place1(t, s, o)
	second := place1(t, s, o)
	if first.Duplicate || second.Duplicate || second.OrderID == first.OrderID || second.Status != Filled {
		t.Fatalf("no-dedup results %+v %+v", first, second)
	}
	if n := s.OrderCount(o.ClientOrderID); n != 2 {
		t.Fatalf("OrderCount = %d, want 2", n)
	}
	if p := snap(t, s, 10).Positions[0]; p.Qty != d("0.02") {
		t.Fatalf("position %s, want both orders", p.Qty)
	}
	got, err := s.QueryOrders(context.Background(), []string{o.ClientOrderID, "never"})
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Found || got[0].Result.OrderID != first.OrderID || got[1].Found {
		t.Fatalf("QueryOrders %+v", got)
	}
}

func TestQueryOrders(t *testing.T) {
	s := newSim(t, nil)
	o := mkt(11, "BTCUSDT", Buy, Long, "0.01")
	r := place1(t, s, o)
	got, err := s.QueryOrders(context.Background(), []string{"missing", o.ClientOrderID})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Found || got[0].ClientOrderID != "missing" || !got[1].Found || got[1].Result != r {
		t.Fatalf("QueryOrders %+v", got)
	}
}

func TestBatchLimits(t *testing.T) {
	s := newSim(t, func(c *Config) { c.MaxBatch = 3 })
	ctx := context.Background()
	if _, err := s.PlaceOrders(ctx, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty batch: %v", err)
	}
	if _, err := s.PlaceOrders(ctx, make([]Order, 4)); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("large batch: %v", err)
	}
	if _, err := s.QueryOrders(ctx, make([]string, 4)); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("large query: %v", err)
	}
}

func TestTransferIdempotent(t *testing.T) {
	for _, mode := range []Mode{Strict, NoDedup} {
		t.Run(mode.String(), func(t *testing.T) {
			s := newSim(t, func(c *Config) { c.Mode = mode })
			mustCreate(t, s, 20, "100")
			mustCreate(t, s, 21, "0")
			tr := Transfer{ID: "settle-1", From: 20, To: 21, Amount: d("60"), Memo: "profit share"}
			r1, err := s.Transfer(tr)
			if err != nil || r1.Status != TransferDone || r1.Duplicate {
				t.Fatalf("first transfer %+v %v", r1, err)
			}
			r2, err := s.Transfer(tr)
			if err != nil || r2.Status != TransferDone || !r2.Duplicate {
				t.Fatalf("repeat %+v %v", r2, err)
			}
			if b := snap(t, s, 20).Balance; b != d("40") {
				t.Fatalf("source balance %s", b)
			}
			if b := snap(t, s, 21).Balance; b != d("60") {
				t.Fatalf("target balance %s", b)
			}
			// Insufficient: refused, and the ID stays free for a retry once funded.
			tr2 := Transfer{ID: "settle-2", From: 20, To: 21, Amount: d("50")}
			if r, _ := s.Transfer(tr2); r.Status != TransferRejected || r.Reason != ReasonInsufficientBalance {
				t.Fatalf("insufficient %+v", r)
			}
			if _, err := s.Transfer(Transfer{ID: "fund", From: 21, To: 20, Amount: d("10")}); err != nil {
				t.Fatal(err)
			}
			if r, _ := s.Transfer(tr2); r.Status != TransferDone || r.Duplicate {
				t.Fatalf("retry after funding %+v", r)
			}
			// An unknown payee is auto-created (lead traders are paid before they trade);
			// an unknown source is refused.
			if r, _ := s.Transfer(Transfer{ID: "x", From: 99, To: 20, Amount: d("1")}); r.Reason != ReasonUnknownAccount {
				t.Fatalf("unknown account %+v", r)
			}
			if r, _ := s.Transfer(Transfer{ID: "y", From: 20, To: 21, Amount: 0}); r.Reason != ReasonInvalidAmount {
				t.Fatalf("zero amount %+v", r)
			}
			if _, err := s.Transfer(Transfer{ID: "", From: 20, To: 21, Amount: 1}); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("empty ID: %v", err)
			}
			if s.TransferCount("settle-1") != 1 || s.TransferCount("settle-2") != 1 || s.TransferCount("x") != 0 {
				t.Fatal("transfer counts")
			}
		})
	}
}

func TestTransferRespectsMarginInUse(t *testing.T) {
	s := newSim(t, nil)
	mustCreate(t, s, 22, "1000")
	mustCreate(t, s, 23, "0")
	o := mkt(22, "BTCUSDT", Buy, Long, "0.1") // margin 600.06
	wantFill(t, place1(t, s, o), Filled, "0.1", "60006")
	if r, _ := s.Transfer(Transfer{ID: "t", From: 22, To: 23, Amount: d("500")}); r.Reason != ReasonInsufficientBalance {
		t.Fatalf("transfer of margin in use: %+v", r)
	}
}

func mustCreate(t *testing.T, s *Sim, acct int64, balance string) {
	t.Helper()
	if _, _, err := s.CreateAccount(acct, d(balance), Hedge); err != nil {
		t.Fatal(err)
	}
}

func TestCreateAccountIdempotent(t *testing.T) {
	s := newSim(t, nil)
	created, sn, err := s.CreateAccount(30, d("500"), Hedge)
	if err != nil || !created || sn.Balance != d("500") {
		t.Fatalf("%v %+v %v", created, sn, err)
	}
	created, sn, err = s.CreateAccount(30, d("999"), Hedge)
	if err != nil || created || sn.Balance != d("500") {
		t.Fatalf("repeat changed the account: %v %+v %v", created, sn, err)
	}
	if _, sn, err = s.CreateAccount(30, 0, OneWay); err != nil || sn.PositionMode != OneWay {
		t.Fatalf("mode switch without positions: %+v %v", sn, err)
	}
	wantFill(t, place1(t, s, mkt(30, "BTCUSDT", Buy, Both, "0.001")), Filled, "0.001", "60006")
	if _, _, err = s.CreateAccount(30, 0, Hedge); !errors.Is(err, ErrAccountConflict) {
		t.Fatalf("mode switch with a position: %v", err)
	}
	if _, err := s.AccountSnapshot(31); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestRandomWalkDeterministic(t *testing.T) {
	walk := func(seed uint64, steps int) []Mark {
		s := newSim(t, func(c *Config) { c.Seed, c.MarkVolatilityBps = seed, 10 })
		for range steps / 10 { // the split into calls does not matter
			s.StepMarks(10)
		}
		m, _ := s.MarkPrices(nil)
		return m
	}
	a, b, c := walk(7, 1000), walk(7, 1000), walk(8, 1000)
	moved, differs := false, false
	for i := range a {
		if a[i].Instrument != b[i].Instrument || a[i].Price != b[i].Price {
			t.Fatalf("seed 7 twice: %v vs %v", a[i], b[i])
		}
		spec, _ := newSim(t, nil).Instrument(a[i].Instrument)
		if a[i].Price <= 0 || a[i].Price%spec.TickSize != 0 {
			t.Fatalf("mark %s off the tick grid %s", a[i].Price, spec.TickSize)
		}
		moved = moved || a[i].Price != spec.MarkPrice
		differs = differs || a[i].Price != c[i].Price
	}
	if !moved || !differs {
		t.Fatalf("walk did not move (%v) or ignores the seed (%v): %v %v", moved, differs, a, c)
	}
	// One instrument's walk does not depend on others being listed.
	s := newSim(t, func(c *Config) { c.Seed, c.MarkVolatilityBps, c.Instruments = 7, 10, DefaultInstruments()[:1] })
	s.StepMarks(1000)
	m, _ := s.MarkPrices([]string{"BTCUSDT"})
	if m[0].Price != a[0].Price {
		t.Fatalf("BTC walk changed with the instrument set: %s vs %s", m[0].Price, a[0].Price)
	}
	if st := s.Stats(); st.MarkSteps != 1000 {
		t.Fatalf("mark steps %d", st.MarkSteps)
	}
}

func TestTickerMovesMarks(t *testing.T) {
	s := newSim(t, func(c *Config) { c.MarkStepInterval, c.MarkVolatilityBps = 1e6, 50 }) // 1 ms
	s.Start()
	for s.Stats().MarkSteps < 5 {
		runtime.Gosched()
	}
	s.Close()
	n := s.Stats().MarkSteps
	if s.Stats().MarkSteps != n {
		t.Fatal("ticker still running after Close")
	}
}

func TestMarkPrices(t *testing.T) {
	s := newSim(t, nil)
	all, err := s.MarkPrices(nil)
	if err != nil || len(all) != 3 || all[0].Instrument != "BTCUSDT" || all[0].Price != d("60000") || all[0].TimeUnixNano == 0 {
		t.Fatalf("%+v %v", all, err)
	}
	if _, err := s.MarkPrices([]string{"NOPE"}); !errors.Is(err, ErrUnknownInstrument) {
		t.Fatalf("unknown: %v", err)
	}
	if err := s.SetMark("ETHUSDT", d("3100.005")); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.MarkPrices([]string{"ETHUSDT"}); m[0].Price != d("3100") { // half-even to the 0.01 tick
		t.Fatalf("mark %s", m[0].Price)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	c := DefaultConfig()
	c.Mode, c.SpreadBps, c.MaxBatch, c.ListenAddr = 0, -1, 0, "nope"
	c.Instruments = append(c.Instruments, c.Instruments[0])
	err := c.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("want ErrInvalidConfig, got %v", err)
	}
	for _, want := range []string{"Mode", "SpreadBps", "MaxBatch", "ListenAddr", "listed twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	if _, err := New(c); err == nil {
		t.Fatal("New accepted an invalid config")
	}
}

func TestEnumsMatchIDL(t *testing.T) {
	pairs := []struct{ ours, idl int64 }{
		{int64(Buy), int64(gateway.Side_BUY)}, {int64(Sell), int64(gateway.Side_SELL)},
		{int64(Long), int64(gateway.PositionSide_LONG)}, {int64(Short), int64(gateway.PositionSide_SHORT)},
		{int64(Both), int64(gateway.PositionSide_BOTH)},
		{int64(Market), int64(gateway.OrderType_MARKET)}, {int64(IOCLimit), int64(gateway.OrderType_IOC_LIMIT)},
		{int64(Cross), int64(gateway.MarginMode_CROSS)}, {int64(Isolated), int64(gateway.MarginMode_ISOLATED)},
		{int64(Hedge), int64(gateway.PositionMode_HEDGE)}, {int64(OneWay), int64(gateway.PositionMode_ONE_WAY)},
		{int64(Filled), int64(gateway.OrderStatus_FILLED)}, {int64(PartiallyFilled), int64(gateway.OrderStatus_PARTIALLY_FILLED)},
		{int64(Rejected), int64(gateway.OrderStatus_REJECTED)},
		{int64(TransferDone), int64(gateway.TransferStatus_TRANSFER_DONE)},
		{int64(TransferRejected), int64(gateway.TransferStatus_TRANSFER_REJECTED)},
	}
	for i, p := range pairs {
		if p.ours != p.idl {
			t.Errorf("pair %d: %d != %d", i, p.ours, p.idl)
		}
	}
	for r := ReasonNone; int(r) < len(reasonNames); r++ {
		if got := gateway.RejectReason(r).String(); got != r.String() {
			t.Errorf("reason %d: IDL %s, ours %s", r, got, r)
		}
	}
}
