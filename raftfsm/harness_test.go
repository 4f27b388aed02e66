package raftfsm

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// harness drives a Machine through the log path (Encode → Apply → Decode),
// keeps its own venue ledger from the results it feeds, and checks every
// invariant after every entry.
type harness struct {
	tb    testing.TB
	m     *Machine
	index uint64
	now   int64
	// venue is the net filled quantity per copier, instrument and
	// attribution side, as the venue would report it: the machine's
	// attributed plus detached quantities must always sum to it.
	venue map[venueKey]fixed.Dec
	// check runs CheckInvariants and the venue comparison after each entry.
	check bool
}

type venueKey struct {
	copier AccountID
	inst   string
	side   PosSide
}

// newHarness returns a harness over a machine bootstrapped as group 1
// owning every slot.
func newHarness(tb testing.TB) *harness {
	h := &harness{tb: tb, m: New(), now: 1_700_000_000_000_000_000, venue: map[venueKey]fixed.Dec{}, check: true}
	if r := h.apply(&Bootstrap{Group: 1, Epoch: 1, Slots: []SlotRange{{0, NumSlots - 1}}}); r.Refusal != nil {
		tb.Fatalf("bootstrap: %v", r.Refusal)
	}
	return h
}

// apply encodes cmd, applies it at the next index and checks invariants.
func (h *harness) apply(cmd Command) *Result {
	h.tb.Helper()
	h.index++
	h.now += 1_000_000_000
	// Record what the venue did before the machine forgets the orders.
	type fill struct {
		k  venueKey
		q  fixed.Dec
		id string
	}
	var fills []fill
	results := []OrderResult(nil)
	switch c := cmd.(type) {
	case *OrderResults:
		results = c.Results
	case *OrderResultsTimed:
		results = c.Results
	case *OrderResolve:
		results = []OrderResult{c.Result}
	}
	if results != nil {
		seen := map[string]bool{}
		for _, r := range results {
			if h.m.IsQuarantined(r.ClientOrderID) {
				if _, resolve := cmd.(*OrderResolve); !resolve {
					continue // the admin's resolve brings the venue's true figures
				}
			}
			o, ok := h.m.Order(r.ClientOrderID)
			if !ok || seen[r.ClientOrderID] || r.FilledQty <= 0 {
				continue
			}
			seen[r.ClientOrderID] = true
			q := r.FilledQty
			if o.Effect == EffectClose {
				q = -q
			}
			fills = append(fills, fill{venueKey{o.Copier, o.Instrument, o.AttrSide}, q, r.ClientOrderID})
		}
	}
	h.slotVenueMove(cmd) // slot moves take positions off and onto this machine (migrate_test.go)
	legacyFill(h.m, cmd, h.now)
	res := h.m.Apply(h.index, Encode(Envelope{TimeUnixNano: h.now, Cmd: cmd}))
	if res.Refusal == nil {
		quarantined := map[string]bool{}
		for _, q := range res.Quarantined {
			quarantined[q.ClientOrderID] = true
		}
		for _, f := range fills {
			if !quarantined[f.id] {
				h.venue[f.k] += f.q
			}
		}
	}
	if h.check {
		if err := h.verify(); err != nil {
			h.tb.Fatalf("after index %d (%T): %v", h.index, cmd, err)
		}
	}
	return res
}

// verify checks the machine's invariants and the venue ledger.
func (h *harness) verify() error {
	if err := h.m.CheckInvariants(); err != nil {
		return err
	}
	attr := map[venueKey]fixed.Dec{}
	for _, t := range h.m.traders {
		for _, f := range t.Follows {
			for _, p := range f.Positions {
				attr[venueKey{f.Copier, p.Instrument, p.Side}] += p.Qty
			}
			for _, p := range f.Detached {
				attr[venueKey{f.Copier, p.Instrument, p.Side}] += p.Qty
			}
		}
	}
	keys := slices.Collect(maps.Keys(h.venue))
	for k := range attr {
		if _, ok := h.venue[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if h.venue[k] != attr[k] {
			return fmt.Errorf("copier %d %s/%d: venue net %s, attributed+detached %s", k.copier, k.inst, k.side, h.venue[k], attr[k])
		}
	}
	return nil
}

// fillAll builds a batch that fills every pending order in full at price
// (or at the order's limit when price is 0 and it has one).
func (h *harness) fillAll(price, fee fixed.Dec) *OrderResults {
	var rs OrderResults
	for _, o := range h.m.PendingOrders() {
		p := price
		if p == 0 {
			p = o.LimitPrice
		}
		rs.Results = append(rs.Results, OrderResult{
			ClientOrderID: o.ClientOrderID, Status: OrderFilled, FilledQty: o.Qty, AvgPrice: p, Fee: fee,
		})
	}
	return &rs
}

// legacyFill completes a fill written before contract v2 (EventTimeUnixNano
// 0) as a venue that agrees with the machine would send it: venue time now,
// PositionAfter from the machine's tracked position. Tests of the v2
// behaviour set EventTimeUnixNano (and PositionAfter) themselves.
func legacyFill(m *Machine, cmd Command, now int64) {
	c, ok := cmd.(*TradeFill)
	if !ok || c.EventTimeUnixNano != 0 {
		return
	}
	c.EventTimeUnixNano = now
	c.PositionAfter = trackedAfter(m, c)
}

// trackedAfter is the trader's position after c by the machine's own
// tracking: hedge sides grow or shrink (never below 0), one-way nets (a
// liquidation never flips).
func trackedAfter(m *Machine, c *TradeFill) fixed.Dec {
	var long, short fixed.Dec
	if t := m.traders[c.Trader]; t != nil {
		long, short = t.traderQty(c.Instrument, Long), t.traderQty(c.Instrument, Short)
	}
	switch c.PosSide {
	case Long, Short:
		q := long
		if c.PosSide == Short {
			q = short
		}
		if openSideOf(c.PosSide) == c.Side {
			return q + c.Qty
		}
		return max(q-c.Qty, 0)
	}
	net := long - short
	if c.Side == Buy {
		after := net + c.Qty
		if c.Liquidation && net < 0 && after > 0 {
			after = 0
		}
		return after
	}
	after := net - c.Qty
	if c.Liquidation && net > 0 && after < 0 {
		after = 0
	}
	return after
}
