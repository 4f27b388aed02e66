package raftfsm

import (
	"strconv"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Mark prices: unrealised PnL per follow and the copy stop-loss /
// take-profit (DESIGN.md, "Marks, profit share and stats").

// Stop reasons set by a mark batch (FollowState.StopReason). Neither carries
// the "-detach" suffix, so exposure that turns up after the stop (a late
// open fill, a rejected close) is closed at market.
const (
	reasonStopLoss   = "stop-loss"
	reasonTakeProfit = "take-profit"
)

// applyMarkPrices stores the batch's prices, then visits every follow that
// has a filled position on one of the batch's instruments (traders in
// ascending ID, follows in their list order): its UnrealizedPnL becomes
// Σ (mark − entry) × qty over its positions (entry − mark for shorts), each
// term rounded toward −inf, at the latest mark of each instrument (the
// average entry where no mark is known). A live follow (active or paused)
// whose realised PnL net of fees plus unrealised PnL reaches
// −Allocation × StopLossBps or +Allocation × TakeProfitBps is stopped and
// every closable position of it is closed at market: the orders are in
// res.Orders. A follow whose arithmetic overflows is skipped for this batch
// (left as it was), never refused as a whole.
//
// Traders whose slot is not served (frozen for a migration) are skipped:
// nothing of theirs changes while they are exported.
func (m *Machine) applyMarkPrices(c *MarkPrices, res *Result) *Refusal {
	if len(c.Prices) > MaxBatch {
		return invalid("Prices", "batch too long")
	}
	for i, p := range c.Prices {
		if !validSymbol(p.Instrument) {
			return invalid("Prices["+strconv.Itoa(i)+"].Instrument", "invalid symbol")
		}
		if p.Price <= 0 {
			return invalid("Prices["+strconv.Itoa(i)+"].Price", "must be > 0")
		}
	}
	if len(c.Prices) == 0 {
		return nil
	}
	mc := markCache{marks: m.marks, batch: make(map[string]struct{}, len(c.Prices))}
	for _, p := range c.Prices {
		m.marks[p.Instrument] = p.Price // a repeated instrument: the last price wins
		mc.batch[p.Instrument] = struct{}{}
	}
	for _, id := range m.traderIDs() {
		t := m.traders[id]
		if m.slots[t.Slot].State != SlotOwned {
			continue
		}
		for _, f := range t.Follows {
			m.markFollow(t, f, &mc, res)
		}
	}
	return nil
}

// markCache answers "latest mark, and is it in this batch?" per symbol. The
// follows of one trader mostly hold the same few instruments, whose
// symbols share their bytes with the instrument's (so == is a pointer
// compare): a few recent answers save two map lookups per position.
type markCache struct {
	marks map[string]fixed.Dec
	batch map[string]struct{}
	next  int
	ent   [8]struct {
		sym     string
		price   fixed.Dec
		ok, hit bool // a mark is known; the symbol is in the batch
	}
}

// get returns the latest mark of sym (ok false: none) and whether sym is
// in the batch.
func (c *markCache) get(sym string) (price fixed.Dec, ok, inBatch bool) {
	for i := range c.ent {
		if e := &c.ent[i]; e.sym == sym && sym != "" {
			return e.price, e.ok, e.hit
		}
	}
	price, ok = c.marks[sym]
	_, inBatch = c.batch[sym]
	e := &c.ent[c.next]
	c.next = (c.next + 1) % len(c.ent)
	e.sym, e.price, e.ok, e.hit = sym, price, ok, inBatch
	return price, ok, inBatch
}

// markFollow revalues one follow if the batch touches it and applies its
// stop-loss / take-profit.
func (m *Machine) markFollow(t *TraderState, f *FollowState, mc *markCache, res *Result) {
	touched, open := false, false
	for i := range f.Positions {
		p := &f.Positions[i]
		if p.Qty == 0 {
			continue
		}
		open = true
		if _, _, hit := mc.get(p.Instrument); hit {
			touched = true
			break
		}
	}
	if !open {
		// Nothing filled: unrealised PnL is 0 (a follow whose positions
		// closed since the last batch is reset by the next one).
		f.UnrealizedPnL = 0
		return
	}
	if !touched {
		return
	}
	u, ok := unrealized(f, mc)
	if !ok {
		return
	}
	f.UnrealizedPnL = u
	if f.Status != FollowActive && f.Status != FollowPaused {
		return
	}
	reason, ok := crossed(f, u)
	if !ok || reason == "" {
		return
	}
	f.Status = FollowStopped
	f.StopReason = reason
	m.dispose(t, f, LiqClose, 0, res)
}

// unrealized is the follow's unrealised PnL at the latest marks; ok is false
// on overflow.
func unrealized(f *FollowState, mc *markCache) (fixed.Dec, bool) {
	var sum fixed.Sum
	for i := range f.Positions {
		p := &f.Positions[i]
		if p.Qty == 0 {
			continue
		}
		mk, ok, _ := mc.get(p.Instrument)
		if !ok {
			continue // no mark yet: valued at entry
		}
		diff := mk - p.AvgEntry // both > 0: fits
		if p.Side == Short {
			diff = -diff
		}
		// Toward −inf: a loss is never understated.
		v, err := fixed.Mul(diff, p.Qty, fixed.Floor)
		if err != nil {
			return 0, false
		}
		sum.Add(v)
	}
	u, err := sum.Result()
	return u, err == nil
}

// crossed returns reasonStopLoss or reasonTakeProfit if the follow's
// realised PnL net of fees (since this follow started) plus unrealised u
// crosses a limit, "" if not; ok is false on overflow. The stop-loss
// threshold Allocation × StopLossBps / 10000 rounds down (the stop fires no
// later than the exact level); the take-profit threshold rounds up (it fires
// no earlier).
func crossed(f *FollowState, u fixed.Dec) (string, bool) {
	st := &f.Settings
	if st.StopLossBps <= 0 && st.TakeProfitBps <= 0 {
		return "", true
	}
	var sum fixed.Sum
	sum.Add(f.RealizedPnL)
	sum.Sub(f.Fees)
	sum.Add(u)
	total, err := sum.Result()
	if err != nil {
		return "", false
	}
	if st.StopLossBps > 0 {
		lim, err := fixed.MulBps(st.Allocation, st.StopLossBps, fixed.Down)
		if err != nil {
			return "", false
		}
		if total <= -lim {
			return reasonStopLoss, true
		}
	}
	if st.TakeProfitBps > 0 {
		lim, err := fixed.MulBps(st.Allocation, st.TakeProfitBps, fixed.Up)
		if err != nil {
			return "", false
		}
		if total >= lim {
			return reasonTakeProfit, true
		}
	}
	return "", true
}
