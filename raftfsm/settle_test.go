package raftfsm

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Scenario commands for marks, profit share, stats and the leaderboard
// (run by TestScenarios through shareScenarioCmd):
//
//	advance [days=] [hours=]          move the harness clock forward
//	settle period=
//	paid id= [ok=false] [reason=]     one transfer outcome
//	paid-all [ok=false] [reason=]     an outcome for every unpaid entry
//	share                             every follow's profit-share account and unrealised PnL
//	settlements [trader=] [copier=] [period=]
//	unpaid                            UnpaidSettlements
//	stats trader= [window=]           a trader's statistics and its row over the window
//	leaderboard metric=roi|pnl|winrate|copierpnl|auc|copiers [window=] [k=]
func shareScenarioCmd(h *harness, name string, a *args) (string, bool, error) {
	var cmd Command
	var b strings.Builder
	switch name {
	case "advance":
		h.now += a.int("days", 0)*nanosPerDay + a.int("hours", 0)*3_600_000_000_000
		if err := a.done(); err != nil {
			return "", true, err
		}
		return fmt.Sprintf("next entry on day %d\n", dayOf(h.now+1_000_000_000)), true, nil
	case "settle":
		cmd = &Settle{Period: uint64(a.int("period", 0))}
	case "paid":
		cmd = &SettlementPaid{Outcomes: []SettlementOutcome{{
			SettlementID: a.str("id", ""), Paid: a.str("ok", "true") == "true", Reason: a.str("reason", ""),
		}}}
	case "paid-all":
		ok, reason := a.str("ok", "true") == "true", a.str("reason", "")
		var c SettlementPaid
		for _, e := range h.m.UnpaidSettlements() {
			c.Outcomes = append(c.Outcomes, SettlementOutcome{SettlementID: e.SettlementID, Paid: ok, Reason: reason})
		}
		cmd = &c
	case "share":
		if err := a.done(); err != nil {
			return "", true, err
		}
		return renderShare(h.m), true, nil
	case "settlements", "unpaid":
		recs := h.m.Settlements(a.acct("trader"), a.acct("copier"), uint64(a.int("period", 0)))
		if name == "unpaid" {
			recs = nil
			for _, e := range h.m.UnpaidSettlements() {
				recs = append(recs, SettlementRecord{SettlementEntry: e})
			}
		}
		if err := a.done(); err != nil {
			return "", true, err
		}
		for i := range recs {
			r := &recs[i]
			renderSettlement(&b, &r.SettlementEntry)
			s := b.String()
			b.Reset()
			b.WriteString(strings.TrimSuffix(s, "\n"))
			switch {
			case r.Copier == 0:
			case r.Paid:
				b.WriteString(" paid")
			default:
				b.WriteString(" unpaid")
			}
			if r.Attempts > 0 {
				fmt.Fprintf(&b, " attempts=%d reason=%s", r.Attempts, r.Reason)
			}
			b.WriteString("\n")
		}
		if len(recs) == 0 {
			return "no settlements\n", true, nil
		}
		return b.String(), true, nil
	case "stats":
		id, w := a.acct("trader"), int(a.int("window", 7))
		if err := a.done(); err != nil {
			return "", true, err
		}
		v, ok := h.m.Trader(id)
		row, ok2 := h.m.TraderStatsRow(id, w)
		if !ok || !ok2 {
			return "no such trader\n", true, nil
		}
		st := &v.Stats
		fmt.Fprintf(&b, "trader %d wins=%d losses=%d peak=%s max-drawdown=%dbps copier-pnl=%s\n",
			id, st.Wins, st.Losses, st.PeakEquity, st.MaxDrawdownBps, st.CopierPnL)
		for _, d := range st.Days {
			fmt.Fprintf(&b, "  day %d pnl=%s equity=%s\n", d.Day, d.RealizedPnL, d.Equity)
		}
		for _, p := range v.Positions {
			if p.Realized != 0 {
				fmt.Fprintf(&b, "  open %s/%s realised-so-far=%s\n", p.Instrument, posNames[p.Side], p.Realized)
			}
		}
		renderRow(&b, &row)
		return b.String(), true, nil
	case "leaderboard":
		metrics := map[string]int{"roi": 1, "pnl": 2, "winrate": 3, "copierpnl": 4, "auc": 5, "copiers": 6}
		rows := h.m.Leaderboard(LeaderMetric(a.enum("metric", metrics, 0)), int(a.int("window", 7)), int(a.int("k", 10)))
		if err := a.done(); err != nil {
			return "", true, err
		}
		for i := range rows {
			renderRow(&b, &rows[i])
		}
		if len(rows) == 0 {
			return "empty\n", true, nil
		}
		return b.String(), true, nil
	default:
		return "", false, nil
	}
	if err := a.done(); err != nil {
		return "", true, err
	}
	return renderResult(h.apply(cmd)), true, nil
}

func renderSettlement(b *strings.Builder, e *SettlementEntry) {
	who := fmt.Sprintf("copier=%d", e.Copier)
	if e.Copier == 0 {
		who = "total"
	}
	fmt.Fprintf(b, "settlement %s period=%d trader=%d %s amount=%s\n", e.SettlementID, e.Period, e.Trader, who, e.Amount)
}

func renderRow(b *strings.Builder, r *LeaderRow) {
	if r.Rank > 0 {
		fmt.Fprintf(b, "#%d ", r.Rank)
	}
	fmt.Fprintf(b, "trader=%d %dd roi=%dbps pnl=%s winrate=%dbps (%d/%d) max-dd=%dbps copiers=%d auc=%s copier-pnl=%s\n",
		r.Trader, r.WindowDays, r.ROIBps, r.PnL, r.WinRateBps, r.Wins, r.Wins+r.Losses, r.MaxDrawdownBps,
		r.Copiers, r.AssetsUnderCopy, r.CopierPnL)
}

// renderShare prints every follow's profit-share account.
func renderShare(m *Machine) string {
	var b strings.Builder
	for _, id := range m.traderIDs() {
		t := m.traders[id]
		fmt.Fprintf(&b, "trader %d share=%d next-share=%d copier-pnl=%s\n", id, t.ShareBps, t.Config.ProfitShareBps, t.Stats.CopierPnL)
		for _, f := range t.Follows {
			fmt.Fprintf(&b, " follow %d %s", f.Copier, statusNames[f.Status])
			if f.StopReason != "" {
				fmt.Fprintf(&b, " (%s)", f.StopReason)
			}
			s := &f.Share
			fmt.Fprintf(&b, " cum=%s hwm=%s accrued=%s settled=%s unrealized=%s\n", s.CumNetPnL, s.HWM, s.Accrued, s.Settled, f.UnrealizedPnL)
		}
	}
	if m.lastSettled > 0 {
		fmt.Fprintf(&b, "last settled period %d\n", m.lastSettled)
	}
	return b.String()
}

// shareGen adds marks, settlements, transfer outcomes, ratio changes and
// stop-loss / take-profit settings to the shared random generator.
type shareGen struct{}

// settings sometimes gives a follow a stop-loss and a take-profit.
func (shareGen) settings(g *gen, s *FollowSettings) {
	if g.pick(3) == 0 {
		s.StopLossBps = int64(50 + g.pick(3000))
	}
	if g.pick(3) == 0 {
		s.TakeProfitBps = int64(50 + g.pick(5000))
	}
}

// next returns a mark batch, a Settle, transfer outcomes or a ratio change.
func (shareGen) next(g *gen) Command {
	switch k := g.pick(20); {
	case k < 7:
		var c MarkPrices
		for i, sym := range genInsts {
			if g.pick(3) != 0 {
				c.Prices = append(c.Prices, MarkPrice{Instrument: sym, Price: genPrices[i] * fixed.Dec(80+g.pick(41)) / 100})
			}
		}
		return &c
	case k < 12:
		p := g.m.lastSettled
		switch g.pick(10) {
		case 0: // the same period again: refused (or invalid while 0)
		case 1:
			p = max(p, 2) - 1 // out of order when p >= 2
		default:
			p += 1 + uint64(g.pick(2))
		}
		return &Settle{Period: p}
	case k < 17:
		var c SettlementPaid
		for _, e := range g.m.UnpaidSettlements() {
			switch g.pick(3) {
			case 1:
				c.Outcomes = append(c.Outcomes, SettlementOutcome{SettlementID: e.SettlementID, Paid: true})
			case 2:
				c.Outcomes = append(c.Outcomes, SettlementOutcome{SettlementID: e.SettlementID, Reason: "ACCOUNT_FROZEN"})
			}
		}
		if all := g.m.Settlements(0, 0, 0); len(all) > 0 && g.pick(2) == 0 {
			// A repeat (of a paid entry), an outcome for a total, or a
			// failure after success: all ignored.
			r := all[g.pick(len(all))]
			c.Outcomes = append(c.Outcomes, SettlementOutcome{SettlementID: r.SettlementID, Paid: g.pick(2) == 0})
		}
		if g.pick(8) == 0 {
			c.Outcomes = append(c.Outcomes, SettlementOutcome{SettlementID: "s1-zz-1", Paid: true})
		}
		return &c
	default:
		id := AccountID(1 + g.pick(3))
		c := &TraderUpdate{Trader: id}
		if t := g.m.traders[id]; t != nil {
			c.Config = cloneConfig(t.Config)
		}
		c.Config.ProfitShareBps = int64(g.pick(3001))
		return c
	}
}

// shareTracker checks the profit-share properties that need more than one
// state: the high-water mark, Accrued and Settled never fall; the entries a
// follow was ever charged sum to its Accrued; each entry is exactly the
// share of the gain above the mark at the ratio in force; a follow's
// CumNetPnL moves exactly with its realised PnL net of fees; a trader's
// copier-PnL statistic is the sum of its follows' CumNetPnL (including
// follows that have gone).
type shareTracker struct {
	prev     map[pairKey]ProfitShare
	prevBps  map[AccountID]int64
	ledger   map[pairKey]fixed.Dec // Σ per-copier entries since the account opened
	offset   map[*FollowState]fixed.Dec
	ptr      map[pairKey]*FollowState // the follow last seen: its final state once dropped
	dropped  map[AccountID]fixed.Dec
	entries  int
	paidSeen int
	stops    int
}

type pairKey struct{ trader, copier AccountID }

func newShareTracker() *shareTracker {
	return &shareTracker{
		prev: map[pairKey]ProfitShare{}, prevBps: map[AccountID]int64{}, ledger: map[pairKey]fixed.Dec{},
		offset: map[*FollowState]fixed.Dec{}, dropped: map[AccountID]fixed.Dec{}, ptr: map[pairKey]*FollowState{},
	}
}

func (s *shareTracker) observe(m *Machine, res *Result) error {
	for _, e := range res.Settlements {
		if e.Copier == 0 {
			continue
		}
		s.entries++
		k := pairKey{e.Trader, e.Copier}
		s.ledger[k] += e.Amount
		p := s.prev[k]
		t := m.traders[e.Trader]
		f := t.findFollow(e.Copier)
		want, _ := fixed.MulBps(f.Share.HWM-p.HWM, s.prevBps[e.Trader], fixed.Down)
		if f.Share.HWM != f.Share.CumNetPnL || want != e.Amount {
			return fmt.Errorf("entry %s: amount %s, want (%s − %s) × %d bps = %s", e.SettlementID, e.Amount, f.Share.HWM, p.HWM, s.prevBps[e.Trader], want)
		}
	}
	for _, o := range res.Orders {
		if o.Effect == EffectClose && res.Op == OpMarkPrices {
			s.stops++
		}
	}
	if res.Op == OpSettle && res.Refusal == nil {
		for id, t := range m.traders {
			if m.slots[t.Slot].State == SlotOwned && t.ShareBps != t.Config.ProfitShareBps {
				return fmt.Errorf("trader %d: ratio %d after Settle, configured %d", id, t.ShareBps, t.Config.ProfitShareBps)
			}
		}
	}
	seen := map[pairKey]bool{}
	for id, t := range m.traders {
		for _, f := range t.Follows {
			seen[pairKey{id, f.Copier}] = true
		}
	}
	for k := range s.prev {
		if seen[k] || m.traders[k.trader] == nil {
			continue // a trader moved away keeps its history for its return
		}
		// The dropped follow's final account, including what this entry
		// booked before dropping it.
		f := s.ptr[k]
		if f.Share.Accrued != f.Share.Settled {
			return fmt.Errorf("follow %d→%d dropped owing %s", k.copier, k.trader, f.Share.Accrued-f.Share.Settled)
		}
		s.dropped[k.trader] += f.Share.CumNetPnL
		delete(s.prev, k)
		delete(s.ledger, k)
		delete(s.ptr, k)
		delete(s.offset, f)
	}
	for id, t := range m.traders {
		var sum fixed.Sum
		sum.Add(s.dropped[id])
		for _, f := range t.Follows {
			k := pairKey{id, f.Copier}
			sh := f.Share
			if p, ok := s.prev[k]; ok && (sh.HWM < p.HWM || sh.Accrued < p.Accrued || sh.Settled < p.Settled) {
				return fmt.Errorf("follow %d→%d: account went back from %+v to %+v", f.Copier, id, p, sh)
			}
			if s.ledger[k] != sh.Accrued {
				return fmt.Errorf("follow %d→%d: entries sum to %s, accrued %s", f.Copier, id, s.ledger[k], sh.Accrued)
			}
			off := sh.CumNetPnL - (f.RealizedPnL - f.Fees)
			if o, ok := s.offset[f]; ok && o != off {
				return fmt.Errorf("follow %d→%d: CumNetPnL moved apart from realised − fees by %s", f.Copier, id, off-o)
			}
			s.offset[f] = off
			if sh.Settled > s.prev[k].Settled {
				s.paidSeen++
			}
			s.prev[k] = sh
			s.ptr[k] = f
			sum.Add(sh.CumNetPnL)
		}
		if got, _ := sum.Result(); got != t.Stats.CopierPnL {
			return fmt.Errorf("trader %d: copier PnL %s, follows' CumNetPnL (with gone follows) %s", id, t.Stats.CopierPnL, got)
		}
		s.prevBps[id] = t.ShareBps
	}
	return nil
}

// TestProfitShareInvariants: random sequences including marks, Settle and
// SettlementPaid keep settled <= accrued (CheckInvariants, after every
// entry), never lower a high-water mark, and conserve money between the
// copiers' PnL, the profit-share accounts and the settlement ledger.
func TestProfitShareInvariants(t *testing.T) {
	var entries, paid, stops int
	for seed := uint64(1); seed <= 12; seed++ {
		h := newHarness(t)
		g := &gen{c: prng{rand.New(rand.NewPCG(seed, 99))}, m: h.m}
		tr := newShareTracker()
		for _, cmd := range g.setup() {
			h.apply(cmd)
		}
		for i := 0; i < 1500; i++ {
			var cmd Command
			if g.pick(4) == 0 {
				cmd = g.share.next(g) // more of the commands under test
			} else {
				cmd = g.next()
			}
			res := h.apply(cmd)
			if err := tr.observe(h.m, res); err != nil {
				t.Fatalf("seed %d step %d (%T): %v", seed, i, cmd, err)
			}
		}
		entries, paid, stops = entries+tr.entries, paid+tr.paidSeen, stops+tr.stops
	}
	if entries < 100 || paid < 50 || stops < 10 {
		t.Fatalf("generator too weak: %d entries, %d payments, %d stop closes", entries, paid, stops)
	}
}

// TestSettleRefusals: a period is settled once and in order; refusals
// change nothing.
func TestSettleRefusals(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		period uint64
		code   Code
	}{{0, CodeInvalidArgument}, {maxPeriod + 1, CodeInvalidArgument}, {5, CodeOK}, {5, CodePeriodSettled}, {4, CodePeriodOutOfOrder}, {maxPeriod, CodeOK}} {
		last := h.m.LastSettledPeriod()
		r := h.apply(&Settle{Period: c.period})
		if got := refusalCode(r); got != c.code {
			t.Fatalf("settle %d: %v, want %s", c.period, r.Refusal, c.code)
		}
		if c.code != CodeOK && (h.m.LastSettledPeriod() != last || len(r.Settlements) != 0) {
			t.Fatalf("refused settle %d changed the machine", c.period)
		}
	}
	if h.m.LastSettledPeriod() != maxPeriod {
		t.Fatalf("last settled %d", h.m.LastSettledPeriod())
	}
}

func refusalCode(r *Result) Code {
	if r.Refusal == nil {
		return CodeOK
	}
	return r.Refusal.Code
}

// TestSettlementIDs: IDs fit the venue's limit at the extremes and never
// repeat for one trader, whatever the period.
func TestSettlementIDs(t *testing.T) {
	tr := &TraderState{ID: AccountID(1<<63 - 1), OrderSeq: 1<<64 - 3}
	id := string(tr.appendSettlementID(nil, maxPeriod))
	if len(id) > MaxClientOrderIDLen {
		t.Fatalf("%q: %d bytes", id, len(id))
	}
	if a, b := string(tr.appendSettlementID(nil, 1)), string(tr.appendSettlementID(nil, 1)); a == b {
		t.Fatalf("repeated ID %q", a)
	}
}

// TestSettlementPruning: paid periods older than the retention window go;
// a period with an unpaid entry stays whole.
func TestSettlementPruning(t *testing.T) {
	m := New()
	m.lastSettled = 20
	add := func(id string, period uint64, copier AccountID, paid bool) {
		m.settlements[id] = &SettlementRecord{SettlementEntry: SettlementEntry{SettlementID: id, Period: period, Trader: 7, Copier: copier, Amount: fixed.One}, Paid: paid}
	}
	add("a1", 11, 1, true)
	add("a0", 11, 0, true)
	add("d1", 10, 1, true)
	add("d0", 10, 0, false) // the trader's total not yet paid out: the period stays
	add("b1", 12, 1, true)
	add("b2", 12, 2, false)
	add("b0", 12, 0, false)
	add("c1", 13, 1, true)
	add("c0", 13, 0, false)
	m.pruneSettlements()
	var got []string
	for _, r := range m.Settlements(0, 0, 0) {
		got = append(got, r.SettlementID)
	}
	if want := "b0 b1 b2 c0 c1 d0 d1"; strings.Join(got, " ") != want {
		t.Fatalf("kept %v, want %s", got, want)
	}
}

// BenchmarkSettle10k: settle a period over 10k follows (20 traders × 500),
// each with a gain above its mark, so every follow gets an entry. Between
// iterations (untimed) every entry is paid and every follow gains again;
// the records of the last settlementRetainPeriods periods stay, as in
// production.
func BenchmarkSettle10k(b *testing.B) {
	r := newShareRig(b, 1, 20, 500, 1)
	gain := func() {
		for _, t := range r.m.traders {
			for _, f := range t.Follows {
				f.Share.CumNetPnL += 100 * fixed.One // test-only: stands in for realised PnL
			}
		}
	}
	pay := func() {
		var c SettlementPaid
		for _, e := range r.m.UnpaidSettlements() {
			c.Outcomes = append(c.Outcomes, SettlementOutcome{SettlementID: e.SettlementID, Paid: true})
		}
		r.apply(b, &c)
	}
	period := uint64(0)
	for range settlementRetainPeriods { // reach the steady state of kept records
		gain()
		period++
		r.apply(b, &Settle{Period: period})
		pay()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		gain()
		period++
		cmd := Encode(Envelope{TimeUnixNano: r.now, Cmd: &Settle{Period: period}})
		b.StartTimer()
		res := r.applyBytes(b, cmd)
		b.StopTimer()
		if len(res.Settlements) != 10_000+20 {
			b.Fatalf("%d entries", len(res.Settlements))
		}
		pay()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(len(r.m.settlements)), "records-kept")
}
