package raftfsm

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Activity history (DESIGN.md, "Activity history"): every copy decision —
// an order with its final result, or a skip with its reason and the cap that
// decided it — recorded per (copier, trader) while committed entries apply.
//
// It is a read model every replica derives from the log alone (the records'
// times are the entries' stamps, their IDs the entries' indexes), kept in the
// snapshot's trailing activity section so a restart or a new leader answers
// exactly as the old one did. Retention is bounded by age and by count per
// (copier, trader), both replicated settings (ActivityConfig), so pruning is
// part of the deterministic state.

// Defaults and limits of ActivityConfig.
const (
	DefaultActivityKeepNanos     int64 = 30 * 24 * 3600 * 1e9 // 30 days
	MaxActivityKeepNanos         int64 = 400 * 24 * 3600 * 1e9
	DefaultActivityKeepPerFollow int32 = 100
	MaxActivityKeepPerFollow     int32 = 10_000
	// DefaultMaxConsecutiveFailures: a follow whose opens fail this many
	// times in a row (rejected, or IOC with nothing filled) stops opening.
	DefaultMaxConsecutiveFailures int32 = 20
	MaxMaxConsecutiveFailures     int32 = 10_000
	// activityIDShift: a record's ID is the entry's index << shift | ordinal
	// within the entry (a fan-out plans at most 2 × MaxCopiersLimit records).
	activityIDShift = 20
)

// ActivityConfig sets the activity history's retention and the
// consecutive-failure stop for the whole group (admin). Zero fields mean the
// defaults.
type ActivityConfig struct {
	KeepNanos              int64 // records older than this (machine clock) are dropped; 0 = default
	KeepPerFollow          int32 // newest records kept per (copier, trader); 0 = default
	MaxConsecutiveFailures int32 // failed opens in a row that stop a follow; 0 = default
}

func (ActivityConfig) Op() Op { return OpActivityConfig }

// ActivityKind says whether a record is an order or a skip.
type ActivityKind uint8

const (
	ActivityInvalid ActivityKind = iota
	ActivityOrder                // an order was planned; Status says how it ended
	ActivitySkip                 // no order: Skip (and Cap) say why
)

// ActivityStatus is an order record's state. ONLY ADD TO THE END.
type ActivityStatus uint8

const (
	ActNone            ActivityStatus = iota // skips
	ActPending                               // planned, no final result yet
	ActFilled                                //
	ActPartiallyFilled                       // IOC: final with filled < qty
	ActRejected                              // Reason is the venue's
	ActQuarantined                           // the venue's report broke its contract; Reason says how
)

var actStatusNames = [...]string{"NONE", "PENDING", "FILLED", "PARTIALLY_FILLED", "REJECTED", "QUARANTINED"}

func (s ActivityStatus) String() string {
	if int(s) < len(actStatusNames) {
		return actStatusNames[s]
	}
	return "STATUS_" + strconv.Itoa(int(s))
}

// ActivityRecord is one copy decision for one (copier, trader). Fields are
// ordered for size (152 bytes: the one-byte codes share a word); the
// snapshot writes them in its own fixed order (appendActivityRecord).
type ActivityRecord struct {
	ID          uint64    // entry index << 20 | ordinal: unique in the group, ascending in apply order
	Time        int64     // the deciding entry's stamp
	TradeID     int64     // the signal's trade ID; 0 when no signal caused it
	SignalTime  int64     // the signal's venue event time; 0 unless Origin is TradeFill
	SignalPrice fixed.Dec // the trader's fill price; 0 unless Origin is TradeFill
	Instrument  string
	// Orders only.
	ClientOrderID string
	Qty           fixed.Dec
	LimitPrice    fixed.Dec // 0 = market
	FilledQty     fixed.Dec
	AvgPrice      fixed.Dec
	Fee           fixed.Dec
	Reason        string // venue rejection or quarantine reason
	ResultTime    int64  // stamp of the entry that applied the final result; 0 while pending
	VenueTime     int64  // the venue's execution time of the order (OrderResultsTimed); 0 = unknown

	Kind   ActivityKind
	Origin Op // the command that decided: TradeFill, MarkPrices (stop-loss), Unfollow, TraderExit, OrderResults (owed, orphan, retry), ...
	Effect OrderEffect
	Side   Side
	Skip   SkipReason     // skips: why
	Cap    Cap            // skips: the cap that bound when it decided the skip
	Status ActivityStatus // orders
}

// Activity is a record with the follow it belongs to (query output).
type Activity struct {
	Copier, Trader AccountID
	ActivityRecord
}

// ActivityCursor orders query output: (Time, Trader, ID) ascending. The zero
// cursor is before everything.
type ActivityCursor struct {
	Time   int64
	Trader AccountID
	ID     uint64
}

func (a *Activity) cursor() ActivityCursor {
	return ActivityCursor{Time: a.Time, Trader: a.Trader, ID: a.ID}
}

func (c ActivityCursor) less(o ActivityCursor) bool {
	if c.Time != o.Time {
		return c.Time < o.Time
	}
	if c.Trader != o.Trader {
		return c.Trader < o.Trader
	}
	return c.ID < o.ID
}

// Cursor is the position after a (for the next page).
func (a *Activity) Cursor() ActivityCursor { return a.cursor() }

func (m *Machine) keepNanos() int64 {
	if m.actCfg.KeepNanos > 0 {
		return m.actCfg.KeepNanos
	}
	return DefaultActivityKeepNanos
}

func (m *Machine) keepPerFollow() int {
	if m.actCfg.KeepPerFollow > 0 {
		return int(m.actCfg.KeepPerFollow)
	}
	return int(DefaultActivityKeepPerFollow)
}

func (m *Machine) maxFailures() int32 {
	if m.actCfg.MaxConsecutiveFailures > 0 {
		return m.actCfg.MaxConsecutiveFailures
	}
	return DefaultMaxConsecutiveFailures
}

// ActivitySettings returns the group's activity settings as stored (zeros = defaults).
func (m *Machine) ActivitySettings() ActivityConfig { return m.actCfg }

func (m *Machine) applyActivityConfig(c *ActivityConfig) *Refusal {
	switch {
	case c.KeepNanos < 0 || c.KeepNanos > MaxActivityKeepNanos:
		return invalid("KeepNanos", "must be 0..400 days")
	case c.KeepPerFollow < 0 || c.KeepPerFollow > MaxActivityKeepPerFollow:
		return invalid("KeepPerFollow", "must be 0..10000")
	case c.MaxConsecutiveFailures < 0 || c.MaxConsecutiveFailures > MaxMaxConsecutiveFailures:
		return invalid("MaxConsecutiveFailures", "must be 0..10000")
	}
	m.actCfg = *c
	m.pruneActivity()
	return nil
}

// actLog returns the log of (copier, trader), creating it.
func (m *Machine) actLog(copier, trader AccountID) *activityLog {
	if m.activity == nil {
		m.activity = make(map[AccountID]map[AccountID]*activityLog)
	}
	byTrader := m.activity[copier]
	if byTrader == nil {
		byTrader = make(map[AccountID]*activityLog)
		m.activity[copier] = byTrader
	}
	l := byTrader[trader]
	if l == nil {
		l = &activityLog{gen: m.actGen}
		byTrader[trader] = l
	}
	return l
}

// pruneActivity applies retention to every log and removes empty ones. Run
// by ActivityConfig and Settle (daily), so idle follows' records age out.
func (m *Machine) pruneActivity() {
	floor, keep := m.now-m.keepNanos(), m.keepPerFollow()
	for copier, byTrader := range m.activity { // each log independently: order cannot leak
		for trader, l := range byTrader {
			l.dropFront(l.expired(floor, keep, keep), &m.actStr)
			if l.len() == 0 {
				l.removed = true // a follow's cache must not add to it
				delete(byTrader, trader)
			}
		}
		if len(byTrader) == 0 {
			delete(m.activity, copier)
		}
	}
	if len(m.activity) == 0 {
		m.activity, m.actStr = nil, actStrings{}
	}
}

// noteDecisions records the orders and skips of one applied entry.
func (m *Machine) noteDecisions(index uint64, cmd Command, r *Result) {
	var fill *TradeFill
	if f, ok := cmd.(*TradeFill); ok {
		fill = f
	}
	keep, floor := m.keepPerFollow(), m.now-m.keepNanos()
	ord := uint64(0)
	next := func() uint64 {
		ord++
		return index<<activityIDShift | (ord - 1)
	}
	var sym string // the last instrument and its index: a fan-out has one
	var symIx uint32
	for i := range r.Orders {
		o := &r.Orders[i]
		if o.Instrument != sym || symIx == 0 {
			sym, symIx = o.Instrument, m.actStr.sym(o.Instrument)
		}
		rec := actRec{
			ID: next(), Time: m.now, Kind: ActivityOrder, Origin: cmd.Op(),
			Sym: symIx, Effect: o.Effect, Side: o.Side,
			Qty: o.Qty, LimitPrice: o.LimitPrice, Status: ActPending,
		}
		if t, seq, ok := parseCopiedOrderID(o.ClientOrderID); ok && t == uint64(o.Trader) {
			rec.Seq = seq
		} else {
			m.actStr.setOdd(&rec, actOdd{clientOrderID: strings.Clone(o.ClientOrderID)})
		}
		if fill != nil {
			rec.TradeID, rec.SignalTime, rec.SignalPrice = fill.TradeID, fill.EventTimeUnixNano, fill.Price
		} else if st := m.orders[o.ClientOrderID]; st != nil {
			rec.TradeID = st.Signal
		}
		var l *activityLog
		if p := plannedAt(r, i); p != nil {
			l = m.followLog(p.f)
			p.o.act, p.o.actPos = l, l.pushed
		} else {
			l = m.actLog(o.Copier, o.Trader)
		}
		l.own(m.actGen)
		l.add(&rec, keep, floor, &m.actStr)
	}
	trader, inst := AccountID(0), ""
	switch c := cmd.(type) {
	case *TradeFill:
		trader, inst = c.Trader, c.Instrument
	case *FollowEx: // copy-open's skips name their instrument
		trader = c.Trader
	default:
		return
	}
	for i := range r.Skips {
		s := &r.Skips[i]
		sym := inst
		if s.Instrument != "" {
			sym = s.Instrument
		}
		side := openSideOf(s.AttrSide)
		if s.Effect == EffectClose {
			side = closeSideOf(s.AttrSide)
		}
		rec := actRec{
			ID: next(), Time: m.now, Kind: ActivitySkip, Origin: cmd.Op(),
			Sym: m.actStr.sym(sym), Effect: s.Effect, Side: side,
			Skip: s.Reason, Cap: s.Cap,
		}
		if fill != nil {
			rec.TradeID, rec.SignalTime, rec.SignalPrice = fill.TradeID, fill.EventTimeUnixNano, fill.Price
		}
		l := m.actLog(s.Copier, trader)
		l.own(m.actGen)
		l.add(&rec, keep, floor, &m.actStr)
	}
}

// plannedAt is the pending order behind r.Orders[i] and its follow, or nil.
func plannedAt(r *Result, i int) *plannedOrder {
	if i < len(r.planned) && r.planned[i].o.ClientOrderID == r.Orders[i].ClientOrderID {
		return &r.planned[i]
	}
	return nil
}

// followLog is actLog for follow f, through f's cache.
func (m *Machine) followLog(f *FollowState) *activityLog {
	if f.act == nil || f.act.removed {
		f.act = m.actLog(f.Copier, f.Trader)
	}
	return f.act
}

// findOrderRecord returns the record of order o, or nil: where noteDecisions
// noted it, else (after a Restore) scanning o's log, newest first. The caller
// writes the record: its log's ring is made the log's own first.
func (m *Machine) findOrderRecord(o *OrderState) (*activityLog, *actRec) {
	if o.act != nil {
		o.act.own(m.actGen)
		if r := o.act.atPushed(o.actPos); r != nil && r.Kind == ActivityOrder {
			return o.act, r
		}
		return nil, nil // aged out while pending
	}
	l := m.activity[o.Copier][o.Trader]
	if l == nil {
		return nil, nil
	}
	var seq uint64
	if t, s, ok := parseCopiedOrderID(o.ClientOrderID); ok && t == uint64(o.Trader) {
		seq = s
	}
	for i := l.len() - 1; i >= 0; i-- {
		if r := l.at(i); m.actStr.isOrder(r, o.ClientOrderID, seq) {
			l.own(m.actGen)
			return l, l.at(i)
		}
	}
	return nil, nil
}

// noteResult records an order's final result.
func (m *Machine) noteResult(o *OrderState, res *OrderResult) {
	l, rec := m.findOrderRecord(o)
	if rec == nil {
		return // aged out while pending
	}
	switch res.Status {
	case OrderFilled:
		rec.Status = ActFilled
	case OrderPartiallyFilled:
		rec.Status = ActPartiallyFilled
	default:
		rec.Status = ActRejected
	}
	rec.FilledQty, rec.AvgPrice, rec.Fee = res.FilledQty, res.AvgPrice, res.Fee
	odd := m.actStr.oddOf(rec)
	odd.reason = strings.Clone(res.Reason) // decoded reasons share the entry's buffer
	l.setOdd(&m.actStr, rec, odd)
	rec.ResultTime = m.now
	rec.VenueTime = max(res.VenueTimeUnixNano, 0)
}

// noteQuarantine records that an order's report was quarantined.
func (m *Machine) noteQuarantine(o *OrderState, why string) {
	if l, rec := m.findOrderRecord(o); rec != nil {
		rec.Status, rec.ResultTime = ActQuarantined, m.now
		odd := m.actStr.oddOf(rec)
		odd.reason = strings.Clone(why)
		l.setOdd(&m.actStr, rec, odd)
	}
}

// reasonConsecutiveFailures is the StopReason of a follow paused by
// countFailure. Without the "-detach" suffix, like every pause.
const reasonConsecutiveFailures = "CONSECUTIVE_FAILURES"

// countFailure counts an open's outcome for the follow: one that filled
// nothing (the venue rejected it: margin, band, any venue reason) adds to the
// run, a fill ends it. An active follow whose run reaches the group's
// MaxConsecutiveFailures is paused with StopReason CONSECUTIVE_FAILURES: no
// new opens, the trader's closes still copied (nothing is stranded), and
// ResumeFollow restarts it with the count at zero.
func (m *Machine) countFailure(f *FollowState, filled bool) {
	if filled {
		f.Failures = 0
		return
	}
	if f.Failures < MaxMaxConsecutiveFailures {
		f.Failures++
	}
	if f.Status == FollowActive && f.Failures >= m.maxFailures() {
		f.Status = FollowPaused
		f.StopReason = reasonConsecutiveFailures
	}
}

// ActivityQuery selects records. Copier or Trader (or both) must be set.
type ActivityQuery struct {
	Copier, Trader AccountID // 0 = any
	Since          int64     // records with Time >= Since
	After          ActivityCursor
	Limit          int
}

// Activity returns the records matching q in (Time, Trader, ID) order after
// q.After, at most q.Limit, and whether more follow. Records past the age
// limit at the machine's clock are left out even before a prune removes them.
func (m *Machine) Activity(q ActivityQuery) (out []Activity, more bool) {
	since := max(q.Since, m.now-m.keepNanos())
	keep := m.keepPerFollow()
	collect := func(copier, trader AccountID, l *activityLog) {
		for i := max(l.len()-keep, 0); i < l.len(); i++ {
			r := l.at(i)
			if r.Time < since || !q.After.less(ActivityCursor{Time: r.Time, Trader: trader, ID: r.ID}) {
				continue
			}
			out = append(out, Activity{Copier: copier, Trader: trader, ActivityRecord: m.actStr.view(trader, r)})
		}
	}
	if q.Copier != 0 {
		for trader, l := range m.activity[q.Copier] {
			if q.Trader == 0 || q.Trader == trader {
				collect(q.Copier, trader, l)
			}
		}
	} else if q.Trader != 0 {
		for copier, byTrader := range m.activity {
			if l := byTrader[q.Trader]; l != nil {
				collect(copier, q.Trader, l)
			}
		}
	}
	slices.SortFunc(out, func(a, b Activity) int {
		if c := a.cursor(); c != b.cursor() {
			if c.less(b.cursor()) {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Copier, b.Copier)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		return out[:q.Limit], true
	}
	return out, false
}

// ActivityCount is the number of records held (all follows), for metrics
// and the memory benchmark.
func (m *Machine) ActivityCount() (follows, records int) {
	for _, byTrader := range m.activity {
		for _, l := range byTrader {
			follows++
			records += l.len()
		}
	}
	return follows, records
}

// Snapshot section:
//
//	[KeepNanos][KeepPerFollow][MaxConsecutiveFailures]
//	[copiers: count, (copier, traders: count, (trader, records: count, record...)...)...]
//
// copiers and traders ascending, no empty log; records ascending ID, each
// with ID and Time as deltas from the previous record of its log.
func (m *Machine) appendActivity(e *encoder) {
	f := m.frozenActivity(false)
	f.append(e)
}

func appendActivityRecord(e *encoder, r *ActivityRecord) {
	e.u8(uint8(r.Kind))
	e.u8(uint8(r.Origin))
	e.str(r.Instrument)
	e.u8(uint8(r.Effect))
	e.u8(uint8(r.Side))
	e.varint(r.TradeID)
	e.optTime(r.Time, r.SignalTime)
	e.dec(r.SignalPrice)
	e.u8(uint8(r.Skip))
	e.u8(uint8(r.Cap))
	e.str(r.ClientOrderID)
	e.dec(r.Qty)
	e.dec(r.LimitPrice)
	e.u8(uint8(r.Status))
	e.dec(r.FilledQty)
	e.dec(r.AvgPrice)
	e.dec(r.Fee)
	e.str(r.Reason)
	e.optTime(r.Time, r.ResultTime)
	e.optTime(r.Time, r.VenueTime)
}

// optTime writes t (0 = none) relative to base: 0, or zigzag(t − base) + 1.
func (e *encoder) optTime(base, t int64) {
	if t == 0 {
		e.uvarint(0)
		return
	}
	d := t - base
	e.uvarint((uint64(d<<1) ^ uint64(d>>63)) + 1)
}

func (d *decoder) optTime(field string, base int64) int64 {
	v := d.uvarint(field)
	if v == 0 || d.err != nil {
		return 0
	}
	v--
	t := base + (int64(v>>1) ^ -int64(v&1))
	if t == 0 {
		d.fail(field, "zero time written as a delta")
	}
	return t
}

func decodeActivity(d *decoder) (ActivityConfig, map[AccountID]map[AccountID]*activityLog, actStrings) {
	var cfg ActivityConfig
	cfg.KeepNanos = d.varint("activity.KeepNanos")
	cfg.KeepPerFollow = d.int32("activity.KeepPerFollow")
	cfg.MaxConsecutiveFailures = d.int32("activity.MaxConsecutiveFailures")
	n := d.count("activity", unbounded, 2)
	var st actStrings
	if n == 0 || d.err != nil {
		return cfg, nil, st
	}
	out := make(map[AccountID]map[AccountID]*activityLog, n)
	var prevCopier AccountID
	for i := 0; i < n && d.err == nil; i++ {
		c := d.account("activity.Copier")
		if i > 0 && c <= prevCopier {
			d.fail("activity", "copiers not in ascending order")
		}
		prevCopier = c
		nt := d.count("activity.traders", unbounded, 2)
		if nt == 0 {
			d.fail("activity", "copier without logs")
		}
		byTrader := make(map[AccountID]*activityLog, nt)
		var prevTrader AccountID
		for j := 0; j < nt && d.err == nil; j++ {
			t := d.account("activity.Trader")
			if j > 0 && t <= prevTrader {
				d.fail("activity", "traders not in ascending order")
			}
			prevTrader = t
			nr := d.count("activity.records", unbounded, 20)
			if nr == 0 {
				d.fail("activity", "empty log")
			}
			l := &activityLog{}
			var prevID uint64
			var prevTime int64
			for k := 0; k < nr && d.err == nil; k++ {
				var r ActivityRecord
				dID := d.uvarint("activity.ID")
				if k > 0 && dID == 0 {
					d.fail("activity", "record IDs not ascending")
				}
				r.ID = prevID + dID
				r.Time = prevTime + d.varint("activity.Time")
				prevID, prevTime = r.ID, r.Time
				decodeActivityRecord(d, &r)
				r2 := st.pack(t, &r)
				l.push(&r2, nr)
			}
			byTrader[t] = l
		}
		out[c] = byTrader
	}
	return cfg, out, st
}

func decodeActivityRecord(d *decoder, r *ActivityRecord) {
	r.Kind = ActivityKind(d.u8("activity.Kind"))
	r.Origin = Op(d.u8("activity.Origin"))
	r.Instrument = d.sym("activity.Instrument", MaxSymbolLen)
	r.Effect = OrderEffect(d.u8("activity.Effect"))
	r.Side = Side(d.u8("activity.Side"))
	r.TradeID = d.varint("activity.TradeID")
	r.SignalTime = d.optTime("activity.SignalTime", r.Time)
	r.SignalPrice = d.dec("activity.SignalPrice")
	r.Skip = SkipReason(d.u8("activity.Skip"))
	r.Cap = Cap(d.u8("activity.Cap"))
	r.ClientOrderID = d.str("activity.ClientOrderID", MaxClientOrderIDLen)
	r.Qty = d.dec("activity.Qty")
	r.LimitPrice = d.dec("activity.LimitPrice")
	r.Status = ActivityStatus(d.u8("activity.Status"))
	r.FilledQty = d.dec("activity.FilledQty")
	r.AvgPrice = d.dec("activity.AvgPrice")
	r.Fee = d.dec("activity.Fee")
	r.Reason = d.str("activity.Reason", unbounded)
	r.ResultTime = d.optTime("activity.ResultTime", r.Time)
	r.VenueTime = d.optTime("activity.VenueTime", r.Time)
}

func (e *encoder) activityConfig(c *ActivityConfig) {
	e.varint(c.KeepNanos)
	e.varint(int64(c.KeepPerFollow))
	e.varint(int64(c.MaxConsecutiveFailures))
}

func (d *decoder) activityConfig() *ActivityConfig {
	return &ActivityConfig{
		KeepNanos:              d.varint("KeepNanos"),
		KeepPerFollow:          d.int32("KeepPerFollow"),
		MaxConsecutiveFailures: d.int32("MaxConsecutiveFailures"),
	}
}

// String is the op's name ("TradeFill"), or "Op(n)".
func (op Op) String() string { return opName(op) }

// Compare orders cursors: -1, 0 or 1.
func (c ActivityCursor) Compare(o ActivityCursor) int {
	switch {
	case c == o:
		return 0
	case c.less(o):
		return -1
	}
	return 1
}
