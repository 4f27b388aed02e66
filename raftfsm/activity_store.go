package raftfsm

import (
	"strconv"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// How the activity history is held in memory. A record is an actRec: no
// pointers, so the GC never scans the history (10k follows × 100 records) and
// writing a record needs no write barriers. Its strings live beside it:
//   - the instrument as an index into actStrings.syms (symbols are few);
//   - the client order ID as its sequence number when it has the form
//     c<trader>-<seq> of its own log's trader (every ID the machine mints);
//   - a reject or quarantine reason, and any other client order ID, in
//     actStrings.odd by record ID (a minority of records).
// ActivityRecord (with strings) is the query and snapshot view: the snapshot
// bytes are those of the views, so the layout in memory is not state.

// actRec is an ActivityRecord as a log holds it.
type actRec struct {
	ID          uint64
	Time        int64
	TradeID     int64
	SignalTime  int64
	SignalPrice fixed.Dec
	Seq         uint64 // the client order ID's sequence (c<trader>-<seq>); 0: none, or in odd
	Qty         fixed.Dec
	LimitPrice  fixed.Dec
	FilledQty   fixed.Dec
	AvgPrice    fixed.Dec
	Fee         fixed.Dec
	ResultTime  int64
	VenueTime   int64
	Sym         uint32 // actStrings.syms[Sym-1]; 0: no instrument
	Kind        ActivityKind
	Origin      Op
	Effect      OrderEffect
	Side        Side
	Skip        SkipReason
	Cap         Cap
	Status      ActivityStatus
	Odd         bool // actStrings.odd holds this record's reason or client order ID
}

// actOdd is what a record could not hold without a pointer.
type actOdd struct {
	clientOrderID string // set when the ID is not c<trader>-<seq> of the log's trader
	reason        string
}

// actStrings are the activity history's strings, shared by every log.
type actStrings struct {
	syms  []string          // interned instrument symbols; index+1 is actRec.Sym
	symIx map[string]uint32 // symbol → index+1
	odd   map[uint64]actOdd // by record ID
}

// sym returns the index+1 of symbol s, interning it.
func (st *actStrings) sym(s string) uint32 {
	if s == "" {
		return 0
	}
	if i, ok := st.symIx[s]; ok {
		return i
	}
	if st.symIx == nil {
		st.symIx = make(map[string]uint32)
	}
	st.syms = append(st.syms, strings.Clone(s))
	i := uint32(len(st.syms))
	st.symIx[s] = i
	return i
}

// setOdd stores r's odd strings (none: removes them).
func (st *actStrings) setOdd(r *actRec, o actOdd) {
	if o == (actOdd{}) {
		if r.Odd {
			delete(st.odd, r.ID)
			r.Odd = false
		}
		return
	}
	if st.odd == nil {
		st.odd = make(map[uint64]actOdd)
	}
	st.odd[r.ID] = o
	r.Odd = true
}

// oddOf is r's odd strings.
func (st *actStrings) oddOf(r *actRec) actOdd {
	if !r.Odd {
		return actOdd{}
	}
	return st.odd[r.ID]
}

// pack is the in-memory form of v, a record of trader's log.
func (st *actStrings) pack(trader AccountID, v *ActivityRecord) actRec {
	r := actRec{
		ID: v.ID, Time: v.Time, TradeID: v.TradeID, SignalTime: v.SignalTime, SignalPrice: v.SignalPrice,
		Qty: v.Qty, LimitPrice: v.LimitPrice, FilledQty: v.FilledQty, AvgPrice: v.AvgPrice, Fee: v.Fee,
		ResultTime: v.ResultTime, VenueTime: v.VenueTime, Sym: st.sym(v.Instrument),
		Kind: v.Kind, Origin: v.Origin, Effect: v.Effect, Side: v.Side, Skip: v.Skip, Cap: v.Cap, Status: v.Status,
	}
	var o actOdd
	if v.ClientOrderID != "" {
		if t, seq, ok := parseCopiedOrderID(v.ClientOrderID); ok && t == uint64(trader) {
			r.Seq = seq
		} else {
			o.clientOrderID = strings.Clone(v.ClientOrderID)
		}
	}
	o.reason = strings.Clone(v.Reason)
	st.setOdd(&r, o)
	return r
}

// view is r (of trader's log) with its strings.
func (st *actStrings) view(trader AccountID, r *actRec) ActivityRecord {
	o := st.oddOf(r)
	v := ActivityRecord{
		ID: r.ID, Time: r.Time, TradeID: r.TradeID, SignalTime: r.SignalTime, SignalPrice: r.SignalPrice,
		ClientOrderID: o.clientOrderID, Qty: r.Qty, LimitPrice: r.LimitPrice, FilledQty: r.FilledQty,
		AvgPrice: r.AvgPrice, Fee: r.Fee, Reason: o.reason, ResultTime: r.ResultTime, VenueTime: r.VenueTime,
		Kind: r.Kind, Origin: r.Origin, Effect: r.Effect, Side: r.Side, Skip: r.Skip, Cap: r.Cap, Status: r.Status,
	}
	if r.Sym > 0 && int(r.Sym) <= len(st.syms) {
		v.Instrument = st.syms[r.Sym-1]
	}
	if r.Seq > 0 {
		v.ClientOrderID = copiedOrderID(uint64(trader), r.Seq)
	}
	return v
}

// isOrder reports whether r is the record of the order with client order ID
// id, whose parsed form (parseCopiedOrderID against r's trader) is seq (0: id
// is not of that form).
func (st *actStrings) isOrder(r *actRec, id string, seq uint64) bool {
	if r.Kind != ActivityOrder {
		return false
	}
	if seq > 0 {
		return r.Seq == seq
	}
	return r.Seq == 0 && r.Odd && st.odd[r.ID].clientOrderID == id
}

// parseCopiedOrderID splits an ID of the form IsCopiedOrderID accepts into
// its trader and sequence.
func parseCopiedOrderID(id string) (trader, seq uint64, ok bool) {
	if !IsCopiedOrderID(id) {
		return 0, 0, false
	}
	dash := strings.IndexByte(id, '-')
	t, err1 := strconv.ParseUint(id[1:dash], 36, 64)
	s, err2 := strconv.ParseUint(id[dash+1:], 36, 64)
	return t, s, err1 == nil && err2 == nil
}

// copiedOrderID is the client order ID c<trader>-<seq> (nextClientOrderID's form).
func copiedOrderID(trader, seq uint64) string {
	var buf [MaxClientOrderIDLen]byte
	b := append(buf[:0], 'c')
	b = strconv.AppendUint(b, trader, 36)
	b = append(b, '-')
	b = strconv.AppendUint(b, seq, 36)
	return string(b)
}

// activityLog is one (copier, trader)'s records, ascending ID, in a ring: the
// oldest is buf[head], n of them. Retention drops records from the front
// without moving the others: trimming a slice by copying the survivors down
// moved ~2 KB per record added (a full log is 100 records, trimmed every
// sixth add) and tripled the cost of a 500-copier fan-out. The header keeps
// what retention asks on every add (the oldest record's time, whether any
// record has odd strings), so an add touches the oldest record's memory only
// when it drops it: a fan-out adds to hundreds of logs, each one a cache miss.
type activityLog struct {
	buf     []actRec
	head, n int
	oldest  int64 // Time of the oldest record (n > 0)
	odd     int   // records with Odd set
	// pushed counts the records ever pushed (since a Restore): the record
	// pushed p-th (from 0) is at(p - (pushed - n)) while still held.
	pushed uint64
	// removed: pruneActivity took the log out of Machine.activity (empty).
	removed bool
	// gen: the Machine.actGen at the ring's last write (own).
	gen uint64
}

// atPushed is the record pushed p-th, or nil when retention dropped it.
func (l *activityLog) atPushed(p uint64) *actRec {
	first := l.pushed - uint64(l.n)
	if p < first || p >= l.pushed {
		return nil
	}
	return l.at(int(p - first))
}

// len is the number of records held.
func (l *activityLog) len() int { return l.n }

// at is the i-th oldest record, 0 <= i < len().
func (l *activityLog) at(i int) *actRec {
	j := l.head + i
	if j >= len(l.buf) {
		j -= len(l.buf)
	}
	return &l.buf[j]
}

// push appends r, growing the ring (at most to maxCap, at least by one).
func (l *activityLog) push(r *actRec, maxCap int) {
	if l.n == len(l.buf) {
		nb := make([]actRec, max(min(max(2*len(l.buf), 4), maxCap), l.n+1))
		k := copy(nb, l.buf[l.head:l.head+min(l.n, len(l.buf)-l.head)])
		copy(nb[k:], l.buf[:l.n-k])
		l.buf, l.head = nb, 0
	}
	j := l.head + l.n
	if j >= len(l.buf) {
		j -= len(l.buf)
	}
	l.buf[j] = *r
	if l.n == 0 {
		l.oldest = r.Time
	}
	if r.Odd {
		l.odd++
	}
	l.n++
	l.pushed++
}

// dropFront removes the k oldest records and their odd strings.
func (l *activityLog) dropFront(k int, st *actStrings) {
	if k == 0 {
		return
	}
	for i := 0; i < k && l.odd > 0; i++ {
		if r := l.at(i); r.Odd {
			delete(st.odd, r.ID)
			l.odd--
		}
	}
	l.head, l.n = l.head+k, l.n-k
	if l.head >= len(l.buf) {
		l.head -= len(l.buf)
	}
	if l.n == 0 {
		l.head, l.oldest = 0, 0
		return
	}
	l.oldest = l.at(0).Time
}

// setOdd is actStrings.setOdd for a record r of l, keeping l's count.
func (l *activityLog) setOdd(st *actStrings, r *actRec, o actOdd) {
	was := r.Odd
	st.setOdd(r, o)
	switch {
	case r.Odd && !was:
		l.odd++
	case !r.Odd && was:
		l.odd--
	}
}

// expired is how many of the oldest records retention drops: those older
// than floor, and beyond limit records the oldest down to keep.
func (l *activityLog) expired(floor int64, keep, limit int) int {
	drop := 0
	if l.n > 0 && l.oldest < floor {
		for drop < l.n && l.at(drop).Time < floor {
			drop++
		}
	}
	if l.n-drop > limit {
		drop = l.n - keep
	}
	return drop
}

// add appends r and applies retention: records older than the age limit go,
// and beyond the count limit (with a sixteenth of slack) the oldest go down
// to the limit.
func (l *activityLog) add(r *actRec, keep int, floor int64, st *actStrings) {
	slack := max(keep/16, 1)
	l.push(r, keep+slack+1) // grow to at most what retention lets it hold
	l.dropFront(l.expired(floor, keep, keep+slack), st)
}
