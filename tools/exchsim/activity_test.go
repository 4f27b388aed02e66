package exchsim

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// recordingSink keeps every published fill; it fails every failEvery-th call.
type recordingSink struct {
	mu        sync.Mutex
	fills     []LeadFill
	calls     int
	failEvery int
}

func (r *recordingSink) PublishFills(ctx context.Context, fills []LeadFill) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failEvery > 0 && r.calls%r.failEvery == 0 {
		return errors.New("sink unavailable")
	}
	r.fills = append(r.fills, fills...)
	return nil
}

func (r *recordingSink) snapshot() []LeadFill {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]LeadFill(nil), r.fills...)
}

func activityConfig(mode PositionMode) ActivityConfig {
	cfg := DefaultActivityConfig()
	cfg.Traders = []int64{101, 102, 103}
	cfg.PositionMode = mode
	cfg.RatePerSecond = 5000
	cfg.FlipPerMille, cfg.LiquidationPerMille = 100, 30
	cfg.RetryBackoff = time.Millisecond
	return cfg
}

// replay rebuilds positions from fills, checking that hedge sides never go negative.
func replay(t *testing.T, fills []LeadFill) map[posKeyT]fixed.Dec {
	t.Helper()
	pos := map[posKeyT]fixed.Dec{}
	var lastID int64
	for i, f := range fills {
		if f.TradeID <= lastID {
			t.Fatalf("fill %d: trade ID %d after %d", i, f.TradeID, lastID)
		}
		lastID = f.TradeID
		if f.Qty <= 0 || f.Price <= 0 || f.Equity <= 0 || f.TimeUnixNano == 0 {
			t.Fatalf("fill %d: %+v", i, f)
		}
		k := posKeyT{f.Trader, f.Instrument, f.PositionSide}
		signed := f.Qty
		if f.Side == Sell {
			signed = -f.Qty
		}
		if f.PositionSide == Short {
			signed = -signed
		}
		pos[k] += signed
		if f.PositionSide != Both && pos[k] < 0 {
			t.Fatalf("fill %d: %v position went negative: %s", i, k, pos[k])
		}
	}
	return pos
}

type posKeyT struct {
	trader int64
	sym    string
	side   PositionSide
}

func checkAgainstVenue(t *testing.T, s *Sim, traders []int64, pos map[posKeyT]fixed.Dec) {
	t.Helper()
	venue := map[posKeyT]fixed.Dec{}
	for _, tr := range traders {
		for _, p := range snap(t, s, tr).Positions {
			venue[posKeyT{tr, p.Instrument, p.PositionSide}] = p.Qty
		}
	}
	for k, q := range pos {
		if venue[k] != q {
			t.Errorf("%v: fills say %s, venue says %s", k, q, venue[k])
		}
	}
	for k, q := range venue {
		if pos[k] != q {
			t.Errorf("%v: venue holds %s, fills say %s", k, q, pos[k])
		}
	}
}

func runActivity(t *testing.T, s *Sim, sink FillSink, cfg ActivityConfig, d time.Duration) *Activity {
	t.Helper()
	act, err := NewActivity(s, sink, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := act.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return act
}

func TestActivityPublishesFills(t *testing.T) {
	for _, mode := range []PositionMode{Hedge, OneWay} {
		t.Run(mode.String(), func(t *testing.T) {
			s := newSim(t, func(c *Config) { c.MarkStepInterval, c.MarkVolatilityBps = time.Millisecond, 5 })
			s.Start()
			sink := &recordingSink{}
			cfg := activityConfig(mode)
			// Run until at least 100 fills and a liquidation were published: how many a
			// wall-clock window holds depends on the machine's load (300 ms gave 114
			// fills and no liquidation on a loaded 2-core box).
			act, err := NewActivity(s, sink, cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			go func() {
				defer cancel()
				for ctx.Err() == nil {
					fills := sink.snapshot()
					if len(fills) >= 100 && slices.ContainsFunc(fills, func(f LeadFill) bool { return f.Liquidation }) {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
			if err := act.Run(ctx); err != nil {
				t.Fatal(err)
			}
			st := act.Stats()
			fills := sink.snapshot()
			if len(fills) < 100 || int64(len(fills)) != st.Fills || st.Published != st.Fills || st.Lost != 0 {
				t.Fatalf("%d fills recorded, stats %+v", len(fills), st)
			}
			pos := replay(t, fills)
			checkAgainstVenue(t, s, cfg.Traders, pos)
			if err := s.checkInvariants(); err != nil {
				t.Fatal(err)
			}
			liquidations := 0
			for _, f := range fills {
				if f.Liquidation {
					liquidations++
				}
			}
			if liquidations == 0 {
				t.Errorf("no liquidation among %d fills", len(fills))
			}
			t.Logf("%d fills, %d batches, %d rejected, %d liquidations", len(fills), st.Batches, st.Rejected, liquidations)
		})
	}
}

func TestActivityCountsSinkErrors(t *testing.T) {
	s := newSim(t, nil)
	sink := &recordingSink{failEvery: 3}
	cfg := activityConfig(Hedge)
	cfg.MaxFillsPerPublish = 1 // many calls, so many failures
	act := runActivity(t, s, sink, cfg, 200*time.Millisecond)
	st := act.Stats()
	if st.SinkErrors == 0 || st.Lost != 0 || st.Published != st.Fills {
		t.Fatalf("stats %+v", st)
	}
	// A sink that always fails: every fill is counted as lost, none vanishes.
	cfg = activityConfig(Hedge)
	act = runActivity(t, s, &recordingSink{failEvery: 1}, cfg, 50*time.Millisecond)
	st = act.Stats()
	if st.Fills == 0 || st.Published != 0 || st.Lost != st.Fills || st.SinkErrors%int64(cfg.PublishRetries+1) != 0 {
		t.Fatalf("stats with a dead sink %+v", st)
	}
}

func TestActivityDeterministicSteps(t *testing.T) {
	run := func() []LeadFill {
		s := newSim(t, nil)
		act, err := NewActivity(s, &recordingSink{}, activityConfig(OneWay))
		if err != nil {
			t.Fatal(err)
		}
		if err := act.Setup(); err != nil {
			t.Fatal(err)
		}
		var all []LeadFill
		for range 300 {
			fills, err := act.Step(context.Background())
			if err != nil && !errors.Is(err, ErrOrderRejected) {
				t.Fatal(err)
			}
			for _, f := range fills {
				f.TimeUnixNano = 0
				all = append(all, f)
			}
		}
		return all
	}
	a, b := run(), run()
	if len(a) != len(b) || len(a) < 200 {
		t.Fatalf("%d vs %d fills", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("fill %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestPlaceLeadOrderAndLiquidation(t *testing.T) {
	s := newSim(t, nil)
	ctx := context.Background()
	mustCreate(t, s, 200, "100000")
	o := Order{Account: 200, Instrument: "BTCUSDT", Side: Buy, PositionSide: Long, Qty: d("0.1"),
		Type: Market, Leverage: 20, MarginMode: Isolated}
	r1, f1, err := s.PlaceLeadOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Status != Filled || f1.TradeID != 1 || f1.Qty != d("0.1") || f1.Price != d("60006") ||
		f1.Leverage != 20 || f1.MarginMode != Isolated || f1.Liquidation || f1.Trader != 200 {
		t.Fatalf("%+v %+v", r1, f1)
	}
	// Equity after the fill: 100000 - fee 3.0003 + (60000 - 60006) × 0.1.
	if f1.Equity != d("99996.3997") {
		t.Fatalf("equity %s", f1.Equity)
	}
	o.Qty = d("1000") // far beyond the margin
	if _, _, err := s.PlaceLeadOrder(ctx, o); !errors.Is(err, ErrOrderRejected) {
		t.Fatalf("want ErrOrderRejected, got %v", err)
	}
	if err := s.SetMark("BTCUSDT", d("57000")); err != nil {
		t.Fatal(err)
	}
	r2, f2, err := s.LiquidateLead(ctx, 200, "BTCUSDT", Long)
	if err != nil {
		t.Fatal(err)
	}
	if !f2.Liquidation || f2.TradeID <= f1.TradeID || f2.Side != Sell || f2.Qty != d("0.1") || f2.Price != d("57000") ||
		r2.RealizedPnL != d("-300.6") {
		t.Fatalf("%+v %+v", r2, f2)
	}
	if _, _, err := s.LiquidateLead(ctx, 200, "BTCUSDT", Long); !errors.Is(err, ErrNoPosition) {
		t.Fatalf("second liquidation: %v", err)
	}
}

func TestActivityConfigValidate(t *testing.T) {
	if err := DefaultActivityConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultActivityConfig()
	c.Traders, c.RatePerSecond, c.FlipPerMille = nil, 0, 2000
	if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("want ErrInvalidConfig, got %v", err)
	}
	s := newSim(t, nil)
	if _, err := NewActivity(s, nil, DefaultActivityConfig()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("nil sink: %v", err)
	}
	c = DefaultActivityConfig()
	c.Instruments = []string{"NOPE"}
	if _, err := NewActivity(s, &recordingSink{}, c); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("unknown instrument: %v", err)
	}
}
