package exchsim

import (
	"context"
	"sync"
	"testing"
)

// TestFillPublisher: with a publisher every fill of every account is published once —
// a lead trader's with the trade ID of its LeadFill, a copier's with the next ID of the
// same increasing sequence and the order's figures; a rejected order publishes
// nothing; without a publisher nothing is published.
func TestFillPublisher(t *testing.T) {
	s := newSim(t, nil)
	var mu sync.Mutex
	var got []LeadFill
	s.SetFillPublisher(func(f LeadFill) {
		mu.Lock()
		got = append(got, f)
		mu.Unlock()
	})
	_, lead, err := s.PlaceLeadOrder(context.Background(), mkt(1, "BTCUSDT", Buy, Long, "0.01"))
	if err != nil {
		t.Fatal(err)
	}
	r := place1(t, s, mkt(2, "BTCUSDT", Buy, Long, "0.02"))
	wantFill(t, r, Filled, "0.02", "60006")
	wantReject(t, place1(t, s, mkt(3, "BTCUSDT", Buy, Long, "1000")), ReasonInsufficientMargin)
	if len(got) != 2 {
		t.Fatalf("%d fills published, want 2 (lead and copier; the rejected order none): %+v", len(got), got)
	}
	if got[0] != lead {
		t.Errorf("lead fill published as %+v, want its LeadFill %+v", got[0], lead)
	}
	c := got[1]
	if c.Trader != 2 || c.TradeID <= lead.TradeID || c.Qty != d("0.02") || c.Price != d("60006") ||
		c.Side != Buy || c.PositionSide != Long || c.Instrument != "BTCUSDT" || c.Equity <= 0 {
		t.Errorf("copier fill published as %+v", c)
	}

	s.SetFillPublisher(nil)
	place1(t, s, mkt(2, "BTCUSDT", Buy, Long, "0.01"))
	if len(got) != 2 {
		t.Errorf("published without a publisher: %+v", got[2:])
	}
}
