package raftfsm

import (
	"fmt"
	"slices"
	"strings"
)

// Quarantine (design §4 item 7): a venue report that breaks the gateway's
// contract — a negative fee, a fill larger than the order, a fill without a
// price, figures that overflow the ledger — puts that one order in
// QUARANTINED with the reason, and every other result of its batch is
// applied. A quarantined order keeps what it held while pending (its
// reservation, its follow's pending count, so its slot cannot be exported):
// what the venue really did is unknown until an admin resolves it with
// OrderResolve, which applies a corrected result through the same path as
// a venue result. Later venue results for it are ignored (counted).
//
// State: Machine.quarantine, client order ID → reason; every key is a
// pending order (Invariant). Snapshot: a trailing section, present only when
// non-empty, so snapshots without quarantined orders are unchanged.

// OrderResolve is an admin's corrected result for a quarantined order.
type OrderResolve struct{ Result OrderResult }

// QuarantinedOrder is an order held in quarantine and why.
type QuarantinedOrder struct {
	OrderState
	Reason string
}

// Quarantine is one order a command put in quarantine (Result.Quarantined).
type Quarantine struct {
	ClientOrderID string
	Reason        string
}

// breach is the reason a venue report for o breaks the gateway's contract, or "".
func breach(r *OrderResult, o *OrderState) string {
	switch {
	case r.FilledQty < 0:
		return "filled qty " + r.FilledQty.String() + " is negative"
	case r.Status == OrderRejected && r.FilledQty != 0:
		return "rejected with filled qty " + r.FilledQty.String()
	case r.FilledQty > o.Qty:
		return "filled qty " + r.FilledQty.String() + " is above the order's " + o.Qty.String()
	case r.FilledQty > 0 && r.AvgPrice <= 0:
		return "a fill without a positive price"
	case r.AvgPrice < 0:
		return "avg price " + r.AvgPrice.String() + " is negative"
	case r.Fee < 0:
		return "fee " + r.Fee.String() + " is negative"
	}
	return ""
}

// quarantineOrder holds o in quarantine with reason (cut to MaxReasonLen).
func (m *Machine) quarantineOrder(o *OrderState, reason string, res *Result) {
	if len(reason) > MaxReasonLen {
		reason = reason[:MaxReasonLen]
	}
	if m.quarantine == nil {
		m.quarantine = make(map[string]string)
	}
	m.quarantine[o.ClientOrderID] = reason
	res.Quarantined = append(res.Quarantined, Quarantine{ClientOrderID: o.ClientOrderID, Reason: reason})
}

// applyOrderResolve applies an admin's corrected result to a quarantined
// order. The result must itself keep the contract; a result that still
// cannot be applied (overflow) is refused and the order stays quarantined.
func (m *Machine) applyOrderResolve(c *OrderResolve, res *Result) *Refusal {
	id := c.Result.ClientOrderID
	reason, ok := m.quarantine[id]
	if !ok {
		return invalid("Result.ClientOrderID", "no quarantined order "+id)
	}
	if r := checkResult(0, &c.Result); r != nil {
		return r
	}
	if why := breach(&c.Result, m.orders[id]); why != "" {
		return invalid("Result", why)
	}
	delete(m.quarantine, id)
	if r := m.applyOrderResults(&OrderResults{Results: []OrderResult{c.Result}}, res); r != nil || len(res.Quarantined) > 0 {
		m.quarantine[id] = reason
		if r == nil {
			r = newRefusal(CodeOverflow, "Result: "+res.Quarantined[0].Reason)
		}
		res.Quarantined, res.Orders, res.ResultsApplied, res.ResultsIgnored = nil, nil, 0, 0
		return r
	}
	if len(m.quarantine) == 0 {
		m.quarantine = nil
	}
	return nil
}

// QuarantinedOrders returns the orders held in quarantine, sorted by client
// order ID.
func (m *Machine) QuarantinedOrders() []QuarantinedOrder {
	out := make([]QuarantinedOrder, 0, len(m.quarantine))
	for id, reason := range m.quarantine {
		out = append(out, QuarantinedOrder{OrderState: *m.orders[id], Reason: reason})
	}
	slices.SortFunc(out, func(a, b QuarantinedOrder) int { return strings.Compare(a.ClientOrderID, b.ClientOrderID) })
	return out
}

// QuarantineReason is why an order is quarantined ("" if it is not).
func (m *Machine) QuarantineReason(clientID string) string { return m.quarantine[clientID] }

// IsQuarantined reports whether a client order ID is held in quarantine.
func (m *Machine) IsQuarantined(clientID string) bool {
	_, ok := m.quarantine[clientID]
	return ok
}

// checkQuarantine: every quarantined ID is a pending order with a reason.
func (m *Machine) checkQuarantine() error {
	for id, reason := range m.quarantine {
		if m.orders[id] == nil {
			return fmt.Errorf("%w: quarantined order %s is not pending", ErrInvariant, id)
		}
		if reason == "" || len(reason) > MaxReasonLen {
			return fmt.Errorf("%w: quarantined order %s: reason of %d bytes", ErrInvariant, id, len(reason))
		}
	}
	return nil
}

// appendQuarantine writes the snapshot's quarantine section (a count, then the
// entries; the count may be 0).
func (m *Machine) appendQuarantine(e *encoder) {
	ids := sortedKeys(m.quarantine)
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		e.str(id)
		e.str(m.quarantine[id])
	}
}

// decodeQuarantine reads the trailing section if present (canonical: at
// least one entry, ascending IDs, each a pending order).
func decodeQuarantine(d *decoder, orders map[string]*OrderState) map[string]string {
	if d.err != nil {
		return nil
	}
	n := d.count("quarantine", unbounded, 2)
	if n == 0 {
		return nil
	}
	q := make(map[string]string, n)
	var prev string
	for i := 0; i < n && d.err == nil; i++ {
		id := d.str("quarantine.ClientOrderID", MaxClientOrderIDLen)
		reason := d.str("quarantine.Reason", MaxReasonLen)
		switch {
		case d.err != nil:
		case i > 0 && id <= prev:
			d.fail("quarantine", "not in ascending order")
		case orders[id] == nil:
			d.fail("quarantine", "order "+id+" is not pending")
		case reason == "":
			d.fail("quarantine.Reason", "empty")
		}
		prev = id
		q[id] = reason
	}
	return q
}

// Op implements Command.
func (OrderResolve) Op() Op { return OpOrderResolve }
