package exchsim

import "github.com/copytrade/copytrade/raftfsm/fixed"

// The trading system's event stream: every fill of every account (lead traders,
// copiers, anyone), as a venue publishes it to Kafka. copytrade's ingest consumes it and
// keeps only lead traders' fills (tools/devcluster wires this up over kfake).

// FillPublisher receives every fill the venue executes, of every account. It is called
// under the account's lock, so one account's fills arrive in the order they changed
// its position; it must not call back into the Sim and should not block for long
// (blocking is backpressure on that account's orders).
type FillPublisher func(LeadFill)

// SetFillPublisher installs p (nil removes it). With a publisher, every fill gets a
// trade ID from the venue's one increasing sequence (a lead trader's fill keeps the ID
// its LeadFill has); without one, nothing changes.
func (s *Sim) SetFillPublisher(p FillPublisher) {
	if p == nil {
		s.publisher.Store(nil)
		return
	}
	s.publisher.Store(&p)
}

// publishFill is called by fill once an order's fill is committed to account a (held
// locked); lead is the LeadFill of a lead trader's order, or nil.
func (s *Sim) publishFill(o *Order, r *OrderResult, a *account, lead *LeadFill, liquidation bool) {
	pp := s.publisher.Load()
	if pp == nil {
		return
	}
	if lead != nil {
		(*pp)(*lead)
		return
	}
	var c calc
	eq := s.equity(a, &c)
	if c.err != nil {
		eq = fixed.Dec(0)
	}
	(*pp)(LeadFill{
		Trader: o.Account, TradeID: s.nextTradeID.Add(1), Instrument: o.Instrument,
		Side: o.Side, PositionSide: o.PositionSide, Qty: r.FilledQty, Price: r.AvgPrice,
		Leverage: o.Leverage, MarginMode: o.MarginMode, Equity: eq,
		Liquidation: liquidation, TimeUnixNano: r.TimeUnixNano,
	})
}
