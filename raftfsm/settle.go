package raftfsm

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Profit share: the per-follow account (cumulative net PnL, high-water
// mark, accrued, settled), settlement per period and the outcomes of the
// transfers that pay it (DESIGN.md, "Marks, profit share and stats").

const (
	// maxPeriod bounds Settle.Period: four base-36 digits, so a settlement
	// ID fits the venue's 36 bytes (days since the epoch reach it in 6568).
	maxPeriod = 36*36*36*36 - 1
	// settlementRetainPeriods: a period's records (its per-copier entries
	// and the trader's total) are dropped once the period is this many
	// periods older than the last settled one and every entry of it is
	// paid. Unpaid entries are kept until paid.
	settlementRetainPeriods = 8
)

// owesShare reports whether the follow's profit-share account is still
// open: profit not yet settled (above the high-water mark) or share accrued
// and not yet paid. An ended follow is kept while it owes (dropIfDone).
// Profit above the mark owes nothing when the ratio in force (shareBps, the
// trader's ShareBps, which only Settle changes) is 0.
func (f *FollowState) owesShare(shareBps int64) bool {
	return f.Share.Accrued > f.Share.Settled || (shareBps > 0 && f.Share.CumNetPnL > f.Share.HWM)
}

// shareUndo is what onFollowRealized overwrote, for a results batch that
// rolls back.
type shareUndo struct {
	cum, copierPnL fixed.Dec
}

func (u *shareUndo) undo(t *TraderState, f *FollowState) {
	f.Share.CumNetPnL, t.Stats.CopierPnL = u.cum, u.copierPnL
}

// onFollowRealized books one venue result's realised PnL (gain, 0 for an
// open) and fee to the follow's profit-share account and the trader's
// copier-PnL statistic. It changes nothing when it refuses (overflow of the
// account); the statistic skips an update that overflows instead.
func (m *Machine) onFollowRealized(t *TraderState, f *FollowState, gain, fee fixed.Dec, u *shareUndo) *Refusal {
	u.cum, u.copierPnL = f.Share.CumNetPnL, t.Stats.CopierPnL
	if gain == 0 && fee == 0 {
		return nil
	}
	var s fixed.Sum
	s.Add(f.Share.CumNetPnL)
	s.Add(gain)
	s.Sub(fee)
	cum, err := s.Result()
	if err != nil {
		return overflow("Share.CumNetPnL")
	}
	f.Share.CumNetPnL = cum
	t.Stats.CopierPnL = addOrKeep(addOrKeep(t.Stats.CopierPnL, gain), -fee) // fee >= 0
	return nil
}

// appendSettlementID appends "s" + base36(period) + "-" + base36(trader)
// + "-" + base36(seq) and takes seq from the trader: at most
// 1+4+1+13+1+13 = 33 bytes. seq is the trader's ID sequence
// (TraderState.OrderSeq, shared with client order IDs, whose prefix is
// "c"): it moves with the trader's slot, so an ID is never reused, even
// when the trader's new group settles a period its old group already
// settled.
func (t *TraderState) appendSettlementID(b []byte, period uint64) []byte {
	t.OrderSeq++
	b = append(b, 's')
	b = strconv.AppendUint(b, period, 36)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(t.ID), 36)
	b = append(b, '-')
	return strconv.AppendUint(b, t.OrderSeq, 36)
}

// applySettle settles profit share for c.Period: for every follow (traders
// in ascending ID, follows in list order) payable = max(0, CumNetPnL − HWM)
// × the trader's ShareBps / 10000 rounded down; the mark rises to
// CumNetPnL; Accrued grows by payable. Every payable > 0 is an entry (one
// transfer copier → trader, idempotent by its ID); each trader with any has
// a total entry (Copier 0: paid out of the settlement account once every
// copier entry of it is paid, settle_total.go). Then every
// trader's ratio in force becomes its configured one, for the next period.
// Traders whose slot is frozen are skipped (settled by their next owner).
// A follow whose accrued share or trader total would overflow is skipped:
// its mark stays, so the next period settles it.
func (m *Machine) applySettle(c *Settle) ([]SettlementEntry, *Refusal) {
	switch {
	case c.Period == 0 || c.Period > maxPeriod:
		return nil, invalid("Period", "want 1..1679615")
	case c.Period < m.lastSettled:
		return nil, newRefusal(CodePeriodOutOfOrder, "a later period is already settled")
	case c.Period == m.lastSettled:
		return nil, newRefusal(CodePeriodSettled, "period already settled")
	}
	var out []SettlementEntry
	for _, id := range m.traderIDs() {
		t := m.traders[id]
		if m.slots[t.Slot].State != SlotOwned {
			continue
		}
		out = m.settleTrader(t, c.Period, out)
		t.ShareBps = t.Config.ProfitShareBps
	}
	m.lastSettled = c.Period
	m.pruneSettlements()
	return out, nil
}

// settleTrader settles one trader's follows, appending the entries to out.
// The trader's records of the period are allocated together, and their
// IDs are substrings of one string: they are created, and mostly pruned,
// together.
func (m *Machine) settleTrader(t *TraderState, period uint64, out []SettlementEntry) []SettlementEntry {
	// Pass 1: what each follow pays, committing nothing.
	n := 0
	var total fixed.Dec
	for _, f := range t.Follows {
		if pay, ok := payable(f, t.ShareBps, total); ok && pay > 0 {
			total += pay // payable checked it fits
			n++
		}
	}
	var recs []SettlementRecord
	var ids []byte
	var ends []int
	if n > 0 {
		recs = make([]SettlementRecord, 0, n+1)
		ids = make([]byte, 0, (n+1)*24)
		ends = make([]int, 0, n+1)
	}
	// Pass 2: commit. The same arithmetic on the same values: the same
	// follows pay the same amounts.
	total = 0
	for _, f := range t.Follows {
		sh := &f.Share
		pay, ok := payable(f, t.ShareBps, total)
		if !ok {
			continue // overflow: the mark stays, the next period retries
		}
		if pay > 0 {
			sh.Accrued += pay // payable checked it fits
			total += pay
			ids = t.appendSettlementID(ids, period)
			ends = append(ends, len(ids))
			recs = append(recs, SettlementRecord{SettlementEntry: SettlementEntry{Period: period, Trader: t.ID, Copier: f.Copier, Amount: pay}})
		}
		if sh.CumNetPnL > sh.HWM {
			sh.HWM = sh.CumNetPnL
		}
	}
	if total > 0 {
		ids = t.appendSettlementID(ids, period)
		ends = append(ends, len(ids))
		recs = append(recs, SettlementRecord{SettlementEntry: SettlementEntry{Period: period, Trader: t.ID, Amount: total}})
	}
	all, start := string(ids), 0
	for i := range recs {
		r := &recs[i]
		r.SettlementID = all[start:ends[i]]
		start = ends[i]
		m.settlements[r.SettlementID] = r
		out = append(out, r.SettlementEntry)
	}
	// Ended follows kept only for their share account may go now.
	for i := len(t.Follows) - 1; i >= 0; i-- {
		t.dropIfDone(t.Follows[i])
	}
	return out
}

// payable is the follow's share for the period: max(0, CumNetPnL − HWM) ×
// shareBps / 10000 rounded down (the copier never pays more than the exact
// share). ok is false if Accrued or the trader's running total would
// overflow with it.
func payable(f *FollowState, shareBps int64, total fixed.Dec) (fixed.Dec, bool) {
	sh := &f.Share
	if sh.CumNetPnL <= sh.HWM {
		return 0, true
	}
	gain := sh.CumNetPnL - sh.HWM                      // HWM >= 0: fits
	pay, _ := fixed.MulBps(gain, shareBps, fixed.Down) // <= gain: cannot overflow
	if _, err := fixed.Add(sh.Accrued, pay); err != nil {
		return 0, false
	}
	if _, err := fixed.Add(total, pay); err != nil {
		return 0, false
	}
	return pay, true
}

// pruneSettlements drops the records of every (trader, period) older than
// the retention window whose per-copier entries are all paid, except those
// of frozen slots (exported as they are). The order of deletions cannot
// leak: the result is the same set.
func (m *Machine) pruneSettlements() {
	if m.lastSettled < settlementRetainPeriods {
		return
	}
	cutoff := m.lastSettled - settlementRetainPeriods // periods <= cutoff are old
	type group struct {
		trader AccountID
		period uint64
	}
	var old []*SettlementRecord
	var open map[group]bool
	for _, r := range m.settlements {
		if r.Period > cutoff || m.slots[SlotOf(r.Trader)].State == SlotFrozen {
			continue
		}
		old = append(old, r)
		if !r.Paid { // a copier entry, or a total not yet paid out to the trader (settle_total.go)
			if open == nil {
				open = make(map[group]bool)
			}
			open[group{r.Trader, r.Period}] = true
		}
	}
	for _, r := range old {
		if !open[group{r.Trader, r.Period}] {
			delete(m.settlements, r.SettlementID)
		}
	}
}

// checkOutcomes validates a SettlementPaid batch.
func checkOutcomes(c *SettlementPaid) *Refusal {
	if len(c.Outcomes) > MaxBatch {
		return invalid("Outcomes", "batch too long")
	}
	for i := range c.Outcomes {
		o := &c.Outcomes[i]
		switch {
		case len(o.SettlementID) == 0 || len(o.SettlementID) > maxSettlementIDLen:
			return invalid("Outcomes["+strconv.Itoa(i)+"].SettlementID", "want 1..64 bytes")
		case len(o.Reason) > MaxReasonLen:
			return invalid("Outcomes["+strconv.Itoa(i)+"].Reason", "too long")
		}
	}
	return nil
}

// applySettlementPaid records transfer outcomes. A paid outcome marks its
// record paid and adds the amount to the follow's Settled, once: an outcome
// for an unknown, total or already paid record changes nothing. A failed
// outcome counts an attempt and keeps the reason. Outcomes for a trader
// whose slot is frozen are ignored (the leader reports them again after the
// move: the transfer is idempotent by ID); for a trader no longer here only
// the record changes.
func (m *Machine) applySettlementPaid(c *SettlementPaid) *Refusal {
	if r := checkOutcomes(c); r != nil {
		return r
	}
	for i := range c.Outcomes {
		o := &c.Outcomes[i]
		rec := m.settlements[o.SettlementID]
		if rec == nil || rec.Paid || (rec.Copier == 0 && !m.totalPayable(rec)) {
			continue
		}
		t := m.traders[rec.Trader]
		if t != nil && m.slots[t.Slot].State == SlotFrozen {
			continue
		}
		if !o.Paid {
			if rec.Attempts < math.MaxInt32 {
				rec.Attempts++
			}
			rec.Reason = o.Reason
			continue
		}
		rec.Paid = true
		if t == nil || rec.Copier == 0 { // a trader's total moves no follow's account
			continue
		}
		if f := t.findFollow(rec.Copier); f != nil {
			// Invariant: unpaid entries of a follow sum to at most
			// Accrued − Settled, so this cannot pass Accrued.
			f.Share.Settled += rec.Amount
			t.dropIfDone(f)
		}
	}
	return nil
}

// UnpaidSettlements returns every per-copier settlement entry not yet paid,
// sorted by ID. The shard's leader pays each (idempotent by ID) when it
// gains leadership and after every Settle.
func (m *Machine) UnpaidSettlements() []SettlementEntry {
	var out []SettlementEntry
	for _, r := range m.settlements {
		if r.Copier != 0 && !r.Paid {
			out = append(out, r.SettlementEntry)
		}
	}
	slices.SortFunc(out, func(a, b SettlementEntry) int { return strings.Compare(a.SettlementID, b.SettlementID) })
	return out
}

// Settlements returns the settlement records kept here (unpaid ones, and
// paid ones of recent periods) matching trader, copier and period, each 0
// meaning any (copier 0 alone does not select totals: every record of the
// trader matches), sorted by ID.
func (m *Machine) Settlements(trader, copier AccountID, period uint64) []SettlementRecord {
	var out []SettlementRecord
	for _, r := range m.settlements {
		if (trader == 0 || r.Trader == trader) && (copier == 0 || r.Copier == copier) && (period == 0 || r.Period == period) {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b SettlementRecord) int { return strings.Compare(a.SettlementID, b.SettlementID) })
	return out
}

// LastSettledPeriod is the highest settled period; 0 before the first.
func (m *Machine) LastSettledPeriod() uint64 { return m.lastSettled }

// checkShare verifies the profit-share invariants (called by
// CheckInvariants):
//   - per follow: 0 <= Settled <= Accrued, HWM >= 0;
//   - every record is keyed by its ID, has Amount > 0 and a period > 0;
//   - the unpaid per-copier records of a follow sum to Accrued − Settled
//     (money owed is exactly what is left to transfer);
//   - a (trader, period) has total records iff it has per-copier records,
//     and the totals sum to the same (one total per Settle that paid any;
//     a trader that moved may have been settled for a period by both its
//     groups).
//
// "The mark never falls" needs two states: the tests check it across
// applies.
func (m *Machine) checkShare() error {
	type pair struct{ trader, copier AccountID }
	type group struct {
		trader AccountID
		period uint64
	}
	unpaid := make(map[pair]fixed.Dec)
	perCopier := make(map[group]fixed.Dec)
	totals := make(map[group]fixed.Dec)
	for id, r := range m.settlements {
		switch {
		case id != r.SettlementID:
			return fmt.Errorf("settlement key %q / ID %q", id, r.SettlementID)
		case r.Amount <= 0 || r.Period == 0 || r.Trader <= 0 || r.Copier < 0:
			// Not Period <= lastSettled: records imported with a slot carry
			// the periods of the group that settled them.
			return fmt.Errorf("settlement %s: %+v", id, r.SettlementEntry)
		case r.Copier == 0 && r.Paid && !m.totalPayable(r):
			return fmt.Errorf("settlement %s: a total paid before its copier entries", id)
		}
		g := group{r.Trader, r.Period}
		if r.Copier == 0 {
			// Two groups may each settle a period for a trader that moved
			// between them: totals of a (trader, period) add up.
			totals[g] += r.Amount
			continue
		}
		perCopier[g] += r.Amount // tests' amounts are far from overflowing
		if !r.Paid {
			unpaid[pair{r.Trader, r.Copier}] += r.Amount
		}
	}
	for g, sum := range perCopier {
		if totals[g] != sum {
			return fmt.Errorf("trader %d period %d: total %s, per-copier entries sum to %s", g.trader, g.period, totals[g], sum)
		}
	}
	if len(totals) != len(perCopier) {
		return fmt.Errorf("%d totals for %d (trader, period) groups with entries", len(totals), len(perCopier))
	}
	for id, t := range m.traders {
		for _, f := range t.Follows {
			sh := &f.Share
			if sh.Settled < 0 || sh.Settled > sh.Accrued || sh.HWM < 0 {
				return fmt.Errorf("follow %d→%d: share account %+v", f.Copier, id, *sh)
			}
			k := pair{id, f.Copier}
			if owed := sh.Accrued - sh.Settled; unpaid[k] != owed {
				return fmt.Errorf("follow %d→%d: owes %s, unpaid entries %s", f.Copier, id, owed, unpaid[k])
			}
			delete(unpaid, k)
		}
	}
	for k, v := range unpaid {
		if m.traders[k.trader] != nil {
			return fmt.Errorf("unpaid settlement of %s for follow %d→%d, which is gone", v, k.copier, k.trader)
		}
	}
	return nil
}
