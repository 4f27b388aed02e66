package exchsim

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

func TestFaultsOffByDefault(t *testing.T) {
	if f := DefaultConfig().Faults; f.Enabled() {
		t.Fatalf("DefaultConfig has faults on: %+v", f)
	}
	if !(Faults{PartialRate: 0.1}).Enabled() || (Faults{Seed: 9}).Enabled() {
		t.Fatal("Enabled must see any fault and ignore the seed")
	}
	bad := Faults{RejectRate: 1.5, LatencyMean: -1}
	if err := bad.Validate(); err == nil {
		t.Fatal("Validate accepted a rate above 1 and a negative latency")
	}
}

// orderN is a fixed-ID market open for reproducibility tests.
func orderN(i int) Order {
	o := mkt(1, "BTCUSDT", Buy, Long, "0.01")
	o.ClientOrderID = fmt.Sprintf("rep-%d", i)
	return o
}

func TestFaultsReproducible(t *testing.T) {
	run := func(seed uint64) []OrderResult {
		s := newSim(t, func(c *Config) {
			c.DefaultBalance = d("1000000")
			c.Faults = Faults{Seed: seed, PartialRate: 0.3, RejectRate: 0.2, BadReportRate: 0.1}
		})
		var out []OrderResult
		for i := range 200 {
			out = append(out, place1(t, s, orderN(i)))
		}
		return out
	}
	key := func(rs []OrderResult) string {
		var b []byte
		for _, r := range rs {
			b = fmt.Appendf(b, "%s/%s/%s/%s;", r.Status, r.Reason, r.FilledQty, r.Fee)
		}
		return string(b)
	}
	a, b, c := key(run(7)), key(run(7)), key(run(8))
	if a != b {
		t.Fatal("the same seed and orders gave different faults")
	}
	if a == c {
		t.Fatal("another seed gave the same faults")
	}
	var partial, rejected int
	for _, r := range run(7) {
		switch r.Status {
		case PartiallyFilled:
			partial++
		case Rejected:
			rejected++
		}
	}
	if partial < 30 || partial > 90 || rejected < 20 || rejected > 70 {
		t.Fatalf("partial %d, rejected %d of 200: rates 0.3 and 0.2 not honoured", partial, rejected)
	}
}

func TestTradeIDSchemes(t *testing.T) {
	fillIDs := func(scheme TradeIDScheme) (btc, eth []int64) {
		s := newSim(t, func(c *Config) { c.Faults.TradeIDs = scheme; c.DefaultBalance = d("1000000") })
		for range 20 {
			_, f, err := s.PlaceLeadOrder(context.Background(), mkt(7, "BTCUSDT", Buy, Long, "0.001"))
			if err != nil {
				t.Fatal(err)
			}
			btc = append(btc, f.TradeID)
			_, f, err = s.PlaceLeadOrder(context.Background(), mkt(7, "ETHUSDT", Buy, Long, "0.01"))
			if err != nil {
				t.Fatal(err)
			}
			eth = append(eth, f.TradeID)
		}
		return btc, eth
	}
	btc, eth := fillIDs(TradeIDsPerInstrument)
	for i := range btc {
		if btc[i] != int64(i+1) || eth[i] != int64(i+1) {
			t.Fatalf("per-instrument IDs: btc %v eth %v, want 1..20 each", btc, eth)
		}
	}
	btc, eth = fillIDs(TradeIDsScrambled)
	seen := map[int64]bool{}
	down := 0
	all := append(btc, eth...)
	for i, id := range all {
		if seen[id] || id <= 0 {
			t.Fatalf("scrambled ID %d repeated or not positive", id)
		}
		seen[id] = true
		if i > 0 && id < all[i-1] {
			down++
		}
	}
	if down == 0 {
		t.Fatal("scrambled IDs never decreased")
	}
	btc, _ = fillIDs(TradeIDsGlobal)
	for i := 1; i < len(btc); i++ {
		if btc[i] <= btc[i-1] {
			t.Fatalf("global IDs not increasing: %v", btc)
		}
	}
}

func TestExpiredRequestNeverExecutes(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Mode = NoDedup })
	o := mkt(1, "BTCUSDT", Buy, Long, "0.01")
	o.ExpiryUnixNano = time.Now().Add(-time.Millisecond).UnixNano()
	wantReject(t, place1(t, s, o), ReasonExpired)
	if n := s.OrderCount(o.ClientOrderID); n != 0 {
		t.Fatalf("expired order recorded %d times", n)
	}
	if _, ok := s.PositionOf(1, "BTCUSDT", Long); ok {
		t.Fatal("expired order moved the account")
	}
	// The same ID placed in time (a new leader found it unknown) executes once.
	o.ExpiryUnixNano = time.Now().Add(time.Minute).UnixNano()
	if r := place1(t, s, o); r.Status != Filled {
		t.Fatalf("in-time placement: %+v", r)
	}
	if n := s.OrderCount(o.ClientOrderID); n != 1 {
		t.Fatalf("OrderCount %d, want 1", n)
	}
	if got := s.Stats().OrdersExpired; got != 1 {
		t.Fatalf("OrdersExpired %d, want 1", got)
	}
}

func TestLatencyPastExpiry(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		s := newSim(t, func(c *Config) {
			c.Faults = Faults{LatencyTailRate: 1, LatencyTail: 50 * time.Millisecond, IgnoreExpiry: ignore}
		})
		o := mkt(1, "BTCUSDT", Buy, Long, "0.01")
		o.ExpiryUnixNano = time.Now().Add(10 * time.Millisecond).UnixNano()
		// The caller gives up once the venue has taken the request and is slow with it
		// (its latency draw counts requests): cancelled after the entry check, never
		// before, however loaded the machine.
		ctx, cancel := context.WithCancel(context.Background())
		before := s.requests.Load()
		go func() {
			for s.requests.Load() == before {
				time.Sleep(100 * time.Microsecond)
			}
			cancel()
		}()
		start := time.Now()
		rs, err := s.PlaceOrders(ctx, []Order{o}) // the caller gives up while the venue is slow
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) < 50*time.Millisecond {
			t.Fatal("the latency tail was not applied")
		}
		if !ignore {
			wantReject(t, rs[0], ReasonExpired)
			if s.OrderCount(o.ClientOrderID) != 0 {
				t.Fatal("an order past its expiry executed")
			}
			continue
		}
		if rs[0].Status != Filled || s.OrderCount(o.ClientOrderID) != 1 {
			t.Fatalf("IgnoreExpiry: %+v, want a late execution", rs[0])
		}
	}
}

func TestInjectedRejectsAndPartials(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Faults = Faults{RejectRate: 1} })
	before, _ := s.AccountSnapshot(1)
	open := mkt(1, "BTCUSDT", Buy, Long, "0.01")
	wantReject(t, place1(t, s, open), ReasonInsufficientMargin)
	ro := mkt(1, "BTCUSDT", Sell, Long, "0.01")
	ro.ReduceOnly = true
	wantReject(t, place1(t, s, ro), ReasonReduceOnlyViolation)
	lim := mkt(1, "BTCUSDT", Buy, Long, "0.01")
	lim.Type, lim.LimitPrice = IOCLimit, d("70000")
	wantReject(t, place1(t, s, lim), ReasonPriceOutOfBand)
	after, _ := s.AccountSnapshot(1)
	if before.Balance != after.Balance || len(after.Positions) != 0 {
		t.Fatalf("injected rejects moved the account: %+v -> %+v", before, after)
	}

	p := newSim(t, func(c *Config) { c.Faults = Faults{PartialRate: 1} })
	wantFill(t, place1(t, p, mkt(1, "BTCUSDT", Buy, Long, "0.01")), PartiallyFilled, "0.005", "60006")
}

func TestBadReports(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Faults = Faults{Seed: 3, BadReportRate: 1} })
	var negFee, overFill int
	for range 20 {
		o := mkt(1, "BTCUSDT", Buy, Long, "0.001")
		r := place1(t, s, o)
		switch {
		case r.Fee < 0:
			negFee++
		case r.FilledQty > o.Qty:
			overFill++
		default:
			t.Fatalf("report %+v keeps the contract at BadReportRate 1", r)
		}
		// The venue's record is the bad report: a query answers it too.
		l, _ := s.QueryOrders(context.Background(), []string{o.ClientOrderID})
		if l[0].Result.Fee != r.Fee || l[0].Result.FilledQty != r.FilledQty {
			t.Fatalf("query %+v differs from the report %+v", l[0].Result, r)
		}
		// The venue's books keep what really happened (an operator resolves with it).
		if tr, ok := s.TrueResult(o.ClientOrderID); !ok || tr.Fee < 0 || tr.FilledQty != o.Qty {
			t.Fatalf("true result %+v %v, want the order's qty and a fee >= 0", tr, ok)
		}
	}
	if negFee == 0 || overFill == 0 {
		t.Fatalf("negative fees %d, over-fills %d: want both kinds", negFee, overFill)
	}
	// The account moved by the true figures: 20 × 0.001 long, fees positive.
	snap, _ := s.AccountSnapshot(1)
	if len(snap.Positions) != 1 || snap.Positions[0].Qty != d("0.02") || snap.FeesPaid <= 0 {
		t.Fatalf("account %+v: want 0.02 long and positive fees", snap)
	}
	if st := s.Stats(); st.BadReports != 20 || st.FaultsInjected != 20 {
		t.Fatalf("stats %+v: want 20 bad reports", st)
	}
}

func TestResponseFaults(t *testing.T) {
	batch := func() *gateway.PlaceOrdersRequest {
		req := &gateway.PlaceOrdersRequest{}
		for range 4 {
			req.Orders = append(req.Orders, &gateway.OrderRequest{ClientOrderId: nextID(), Account: 1, Instrument: "BTCUSDT",
				Side: gateway.Side_BUY, PositionSide: gateway.PositionSide_LONG, Qty: "0.001",
				OrderType: gateway.OrderType_MARKET, Leverage: 10, MarginMode: gateway.MarginMode_CROSS})
		}
		return req
	}
	h := NewHandler(newSim(t, func(c *Config) { c.Faults = Faults{ReorderRate: 1} }))
	req := batch()
	resp, err := h.PlaceOrders(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 4 || resp.Results[0].ClientOrderId == req.Orders[0].ClientOrderId {
		t.Fatalf("ReorderRate 1: the first report is still the first order's")
	}
	h = NewHandler(newSim(t, func(c *Config) { c.Faults = Faults{DuplicateRate: 1} }))
	if resp, err = h.PlaceOrders(context.Background(), batch()); err != nil || len(resp.Results) != 5 {
		t.Fatalf("DuplicateRate 1: %d reports for 4 orders (err %v)", len(resp.GetResults()), err)
	}
	s := newSim(t, func(c *Config) { c.Faults = Faults{LateRate: 1, LateBy: 30 * time.Millisecond} })
	h = NewHandler(s)
	req = batch()
	start := time.Now()
	if _, err = h.PlaceOrders(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("LateRate 1: the answer was not held back")
	}
	if s.OrderCount(req.Orders[0].ClientOrderId) != 1 {
		t.Fatal("a late answer's order must have executed")
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "venue.json")
	cfg := func(c *Config) { c.StateFile = file; c.Mode = NoDedup }
	s := newSim(t, cfg)
	o := mkt(1, "BTCUSDT", Buy, Long, "0.01")
	r1 := place1(t, s, o)
	place1(t, s, o) // no-dedup: a second order under the ID
	rej := mkt(1, "NOPE", Buy, Long, "0.01")
	place1(t, s, rej)
	if _, err := s.Transfer(Transfer{ID: "tr-1", From: 1, To: 2, Amount: d("5")}); err != nil {
		t.Fatal(err)
	}
	s.SetMark("ETHUSDT", d("3100"))
	snap1, _ := s.AccountSnapshot(1)
	s.Close() // saves

	s2 := newSim(t, cfg)
	snap2, err := s2.AccountSnapshot(1)
	if err != nil {
		t.Fatalf("account lost across the restart: %v", err)
	}
	if fmt.Sprint(snap1) != fmt.Sprint(snap2) {
		t.Fatalf("account changed across the restart:\n%+v\n%+v", snap1, snap2)
	}
	if n := s2.OrderCount(o.ClientOrderID); n != 2 {
		t.Fatalf("OrderCount %d after restart, want 2", n)
	}
	l, _ := s2.QueryOrders(context.Background(), []string{o.ClientOrderID, rej.ClientOrderID})
	if !l[0].Found || l[0].Result != r1 {
		t.Fatalf("query after restart %+v, want %+v", l[0], r1)
	}
	if !l[1].Found || l[1].Result.Reason != ReasonUnknownInstrument || l[1].Result.Instrument != "NOPE" {
		t.Fatalf("rejected order after restart: %+v", l[1])
	}
	if tr, _ := s2.Transfer(Transfer{ID: "tr-1", From: 1, To: 2, Amount: d("5")}); !tr.Duplicate {
		t.Fatal("a transfer repeated after the restart moved money again")
	}
	if m, _ := s2.Instrument("ETHUSDT"); m.MarkPrice != d("3100") {
		t.Fatalf("mark %s after restart, want 3100", m.MarkPrice)
	}
	if r := place1(t, s2, mkt(1, "BTCUSDT", Buy, Long, "0.01")); r.OrderID <= r1.OrderID+1 {
		t.Fatalf("order ID %d reused after the restart", r.OrderID)
	}
}

func TestLeadTraderAccountsExist(t *testing.T) {
	s := newSim(t, func(c *Config) { c.LeadTraders = []int64{501, 502} })
	for _, id := range []int64{501, 502} {
		if _, err := s.AccountSnapshot(id); err != nil {
			t.Fatalf("lead trader %d: %v", id, err)
		}
	}
	if _, _, err := s.CreateAccount(9, d("100"), Hedge); err != nil {
		t.Fatal(err)
	}
	// A payout to a trader who never traded: the payee is created, never UNKNOWN_ACCOUNT.
	r, err := s.Transfer(Transfer{ID: "share-1", From: 9, To: 777, Amount: d("10")})
	if err != nil || r.Status != TransferDone {
		t.Fatalf("payout to a new trader: %+v %v", r, err)
	}
	snap, _ := s.AccountSnapshot(777)
	if snap.Balance != d("10") {
		t.Fatalf("payee balance %s, want 10", snap.Balance)
	}
}
