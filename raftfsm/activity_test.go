package raftfsm

import (
	"bytes"
	"encoding/hex"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

func init() { separateGolden[OpActivityConfig] = "TestActivityConfigGolden" }

const activityConfigGolden = "021c8cc88980e6adb4a62f8080c892ff839302c8012a"

func TestActivityConfigGolden(t *testing.T) {
	cmd := &ActivityConfig{KeepNanos: 7 * 24 * 3600 * 1e9, KeepPerFollow: 100, MaxConsecutiveFailures: 21}
	got := hex.EncodeToString(Encode(Envelope{TimeUnixNano: goldenTime, Cmd: cmd}))
	if got != activityConfigGolden {
		t.Fatalf("ActivityConfig encoding changed (old logs would not replay)\n got: %s\nwant: %s", got, activityConfigGolden)
	}
	b, _ := hex.DecodeString(activityConfigGolden)
	env, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env.Cmd, cmd) {
		t.Fatalf("decoded %+v, want %+v", env.Cmd, cmd)
	}
}

// activitySectionGolden pins the snapshot's activity section (snapshot
// version 4) for fillMachine(1): a change of layout must bump the version.
const activitySectionGoldenFull = "d08ff89492a527640e02f02e0298110283808097048e80dadfc0adb4a62f010f084254432d555344540101e4f788874380a8d6b9078080d0dbc3f40200000463312d32c0843d8090af9c8ef50204c09a0c80c8fffbe8f402c0cf2413494e53554646494349454e545f4d415247494e81a8d6b90781fbf3b407fdff3f80d0acf30e020f084554482d555344540102e6f78887430e80e0a596bb110503000000000000000000009a110180808098048ec88980e6adb4a62f0111084254432d55534454020200000000000463322d39c09a0c0001000000000000f22e0198110184808097048e80dadfc0adb4a62f020f084254432d555344540202e4f78887430000070000000000000000000000"

func TestActivitySnapshotSectionGolden(t *testing.T) {
	m := fillMachine(1)
	var e encoder
	m.appendActivity(&e)
	got := hex.EncodeToString(e.buf)
	if len(got) < 20 {
		t.Fatalf("section too short: %s", got)
	}
	if got != activitySectionGoldenFull {
		t.Fatalf("the snapshot's activity section changed: bump snapshotVersion and update this golden\n got: %s\nwant: %s", got, activitySectionGoldenFull)
	}
}

// activityHarness: trader 1 leading BTC, copiers 10 (large allocation), 11
// (allocation too small for any order), 12 (paused).
func activityHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: fixed.MustParse("0.001"), TickSize: fixed.MustParse("0.5"),
		MinQty: fixed.MustParse("0.001"), MaxLeverage: 100}})
	h.apply(&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One}})
	for c, alloc := range map[AccountID]string{10: "100000", 11: "1", 12: "100000"} {
		if r := h.apply(&Follow{Copier: c, Trader: 1, Settings: FollowSettings{Mode: Multiplier, Multiplier: fixed.One,
			Allocation: fixed.MustParse(alloc), LeveragePolicy: LeverageFollowTrader, MarginPolicy: MarginFollowTrader, PositionMode: Hedge}}); r.Refusal != nil {
			t.Fatal(r.Refusal)
		}
	}
	h.apply(&FollowPause{Copier: 12, Trader: 1})
	return h
}

func activityFill(h *harness, id int64, side Side, qty string) *Result {
	return h.apply(&TradeFill{Trader: 1, TradeID: id, Instrument: "BTC", Side: side, PosSide: Long, Qty: fixed.MustParse(qty),
		Price: 50_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One})
}

func TestActivityRecordsDecisions(t *testing.T) {
	h := activityHarness(t)
	activityFill(h, 1, Buy, "1")
	recs := func(copier AccountID) []Activity {
		out, _ := h.m.Activity(ActivityQuery{Copier: copier})
		return out
	}
	if r := recs(10); len(r) != 1 || r[0].Kind != ActivityOrder || r[0].Status != ActPending || r[0].TradeID != 1 ||
		r[0].Qty != fixed.One || r[0].Side != Buy || r[0].Effect != EffectOpen || r[0].SignalPrice != 50_000*fixed.One {
		t.Fatalf("copier 10: %+v", r)
	}
	if r := recs(11); len(r) != 1 || r[0].Kind != ActivitySkip || r[0].Skip != SkipAllocationExhausted || r[0].Cap != CapAllocation {
		t.Fatalf("copier 11: %+v", r)
	}
	if r := recs(12); len(r) != 1 || r[0].Skip != SkipPaused || r[0].Cap != CapNone {
		t.Fatalf("copier 12: %+v", r)
	}
	h.apply(&OrderResults{Results: []OrderResult{{ClientOrderID: recs(10)[0].ClientOrderID, Status: OrderFilled,
		FilledQty: fixed.One, AvgPrice: 50_010 * fixed.One, Fee: fixed.MustParse("0.5")}}})
	if r := recs(10); r[0].Status != ActFilled || r[0].FilledQty != fixed.One || r[0].AvgPrice != 50_010*fixed.One ||
		r[0].Fee != fixed.MustParse("0.5") || r[0].ResultTime != h.now {
		t.Fatalf("after the result: %+v", r[0])
	}
	// A close with nothing attributed (copier 11) is a skip with NO_POSITION; copier 10's close is an order.
	activityFill(h, 2, Sell, "1")
	if r := recs(11); len(r) != 2 || r[1].Skip != SkipNoPosition || r[1].Effect != EffectClose || r[1].Side != Sell {
		t.Fatalf("copier 11 after the close: %+v", r)
	}
	// By trader (admin): every copier, in (time, trader, ID) order.
	all, _ := h.m.Activity(ActivityQuery{Trader: 1})
	if len(all) != 6 {
		t.Fatalf("by trader: %d records", len(all))
	}
	// Paging: 4 then the rest, no duplicates.
	p1, more := h.m.Activity(ActivityQuery{Trader: 1, Limit: 4})
	p2, more2 := h.m.Activity(ActivityQuery{Trader: 1, Limit: 4, After: p1[3].Cursor()})
	if !more || more2 || len(p1)+len(p2) != 6 || p2[0].ID == p1[3].ID {
		t.Fatalf("pages: %d (more %v), %d (more %v)", len(p1), more, len(p2), more2)
	}
	// Replicas agree: a restored machine answers the same.
	m2 := New()
	if err := m2.Restore(h.m.Snapshot()); err != nil {
		t.Fatal(err)
	}
	again, _ := m2.Activity(ActivityQuery{Trader: 1})
	if !reflect.DeepEqual(again, all) {
		t.Fatal("a restored machine answers differently")
	}
}

func TestActivityRetention(t *testing.T) {
	h := activityHarness(t)
	h.apply(&ActivityConfig{KeepPerFollow: 3, KeepNanos: 100e9})
	for i := int64(1); i <= 10; i++ {
		activityFill(h, i, Buy, "0.001")
		h.apply(h.fillAll(50_000*fixed.One, 0))
	}
	r, _ := h.m.Activity(ActivityQuery{Copier: 11})
	if len(r) != 3 || r[2].TradeID != 10 || r[0].TradeID != 8 {
		t.Fatalf("count retention: %+v", r)
	}
	if _, n := h.m.ActivityCount(); n > 3*(3+1) {
		t.Fatalf("%d records held for 3 follows kept at 3", n)
	}
	// Age: 200 s later (each entry moves the clock 1 s), nothing is returned, and a Settle drops it.
	for i := 0; i < 200; i++ {
		h.apply(&Noop{})
	}
	if r, _ := h.m.Activity(ActivityQuery{Copier: 11}); len(r) != 0 {
		t.Fatalf("aged records returned: %d", len(r))
	}
	h.apply(&Settle{Period: 1})
	if f, n := h.m.ActivityCount(); f != 0 || n != 0 {
		t.Fatalf("after settle: %d logs, %d records", f, n)
	}
	if r := h.apply(&ActivityConfig{KeepPerFollow: -1}); r.Refusal == nil {
		t.Fatal("a negative count was accepted")
	}
}

// TestConsecutiveFailuresStop: a follow whose opens fill nothing 20 times in
// a row (the default) is paused with CONSECUTIVE_FAILURES; closes are still
// copied; a fill in between resets the count; resume restarts it.
func TestConsecutiveFailuresStop(t *testing.T) {
	h := activityHarness(t)
	id := int64(0)
	openAnd := func(status OrderStatus, reason string) {
		id++
		activityFill(h, id, Buy, "0.01")
		var rs OrderResults
		for _, o := range h.m.PendingOrders() {
			r := OrderResult{ClientOrderID: o.ClientOrderID, Status: status, Reason: reason}
			if status == OrderFilled {
				r.FilledQty, r.AvgPrice = o.Qty, 50_000*fixed.One
			}
			rs.Results = append(rs.Results, r)
		}
		h.apply(&rs)
	}
	openAnd(OrderFilled, "")
	for i := 0; i < 19; i++ {
		openAnd(OrderRejected, "INSUFFICIENT_MARGIN")
	}
	f := h.m.traders[1].findFollow(10)
	if f.Status != FollowActive || f.Failures != 19 {
		t.Fatalf("after 19 failures: status %d, failures %d", f.Status, f.Failures)
	}
	openAnd(OrderFilled, "") // a fill resets the run
	if f.Failures != 0 {
		t.Fatalf("a fill left failures at %d", f.Failures)
	}
	for i := 0; i < 20; i++ {
		openAnd(OrderRejected, "PRICE_OUTSIDE_BAND")
	}
	if f.Status != FollowPaused || f.StopReason != "CONSECUTIVE_FAILURES" {
		t.Fatalf("after 20 failures: status %d reason %q", f.Status, f.StopReason)
	}
	// No more opens; the trader's close is still copied.
	r := activityFill(h, 100, Buy, "0.01")
	for _, o := range r.Orders {
		if o.Copier == 10 {
			t.Fatal("a stopped follow got an open")
		}
	}
	r = activityFill(h, 101, Sell, h.m.traders[1].traderQty("BTC", Long).String())
	closed := false
	for _, o := range r.Orders {
		closed = closed || (o.Copier == 10 && o.Effect == EffectClose)
	}
	if !closed {
		t.Fatal("the stopped follow's close was not copied")
	}
	acts, _ := h.m.Activity(ActivityQuery{Copier: 10, Trader: 1})
	last := acts[len(acts)-1]
	if last.Kind != ActivityOrder || last.Effect != EffectClose {
		t.Fatalf("last record %+v", last)
	}
	h.apply(h.fillAll(50_000*fixed.One, 0))
	h.apply(&FollowResume{Copier: 10, Trader: 1})
	if f.Status != FollowActive || f.Failures != 0 || f.StopReason != "" {
		t.Fatalf("after resume: %+v", f)
	}
	// The limit is a group setting.
	h.apply(&ActivityConfig{MaxConsecutiveFailures: 2})
	openAnd(OrderRejected, "VENUE")
	openAnd(OrderRejected, "VENUE")
	if f.Status != FollowPaused {
		t.Fatal("MaxConsecutiveFailures 2 did not stop the follow")
	}
}

// BenchmarkActivityBytesPerFollow reports the activity history's cost at full
// retention (the default 200 decisions per follow): heap and snapshot bytes
// per follow and per record, for 1000 follows (2 traders × 500) whose every
// decision is an order with its result (the largest record).
func BenchmarkActivityBytesPerFollow(b *testing.B) {
	const traders, follows = 2, 500
	keep := int(DefaultActivityKeepPerFollow)
	for range b.N {
		r := newBenchRig(b, traders, follows)
		for i := 0; i < keep/2; i++ {
			for t := 1; t <= traders; t++ {
				r.applyBytes(b, r.fill(AccountID(t), Buy))
				r.applyBytes(b, r.fillAll())
				r.applyBytes(b, r.fill(AccountID(t), Sell))
				r.applyBytes(b, r.fillAll())
			}
		}
		nf, nr := r.m.ActivityCount()
		if nf != traders*follows || nr < traders*follows*keep {
			b.Fatalf("%d logs, %d records", nf, nr)
		}
		snapWith := len(r.m.Snapshot())
		var with, without runtime.MemStats
		runtime.GC()
		gcWith := timeGC()
		runtime.ReadMemStats(&with)
		r.m.activity, r.m.actStr = nil, actStrings{}
		snapWithout := len(r.m.Snapshot())
		runtime.GC()
		gcWithout := timeGC()
		runtime.ReadMemStats(&without)
		heap := float64(with.HeapAlloc) - float64(without.HeapAlloc)
		b.ReportMetric(float64(gcWith-gcWithout)/float64(nr), "gc-ns/record")
		b.ReportMetric(heap/float64(nf), "heap-bytes/follow")
		b.ReportMetric(heap/float64(nr), "heap-bytes/record")
		b.ReportMetric(float64(snapWith-snapWithout)/float64(nf), "snapshot-bytes/follow")
		b.ReportMetric(float64(snapWith-snapWithout)/float64(nr), "snapshot-bytes/record")
		runtime.KeepAlive(r)
	}
}

// timeGC is the wall time of a full collection (the least of five): what the
// history costs the collector, which marks every pointer it holds.
func timeGC() time.Duration {
	best := time.Duration(1 << 62)
	for range 5 {
		t0 := time.Now()
		runtime.GC()
		best = min(best, time.Since(t0))
	}
	return best
}

// TestRestoresSnapshotVersion3: a snapshot written by the build before version 4
// (testdata/golden/snapshot_v3.hex: a trader, two follows with a filled open) restores
// with the fields added since at zero, and the next snapshot is version 4.
func TestRestoresSnapshotVersion3(t *testing.T) {
	b, err := os.ReadFile("testdata/golden/snapshot_v3.hex")
	if err != nil {
		t.Fatal(err)
	}
	data, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || data[0] != 3 {
		t.Fatalf("golden: %v, version %d", err, data[0])
	}
	m := New()
	if err := m.Restore(data); err != nil {
		t.Fatal(err)
	}
	tr := m.traders[1]
	if tr == nil || len(tr.Follows) != 2 || tr.Follows[0].Positions[0].Qty != fixed.One || tr.InviteOnly || tr.Follows[1].Failures != 0 || m.activity != nil {
		t.Fatalf("restored %+v", tr)
	}
	now := m.Snapshot()
	if now[0] != snapshotVersion {
		t.Fatalf("re-snapshot is version %d", now[0])
	}
	m2 := New()
	if err := m2.Restore(now); err != nil || m2.Hash() != m.Hash() {
		t.Fatalf("version 4 round trip: %v", err)
	}
}

// TestActivityLogRing: the ring holds exactly what the plain slice it replaced held
// (appends, retention by age and count, growth while wrapped), record for record, and
// a dropped record's odd strings go with it.
func TestActivityLogRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 50 {
		keep := 1 + rng.IntN(40)
		slack := max(keep/16, 1)
		var l activityLog
		var st actStrings
		var ref []ActivityRecord
		now := int64(0)
		for i := range 400 {
			now += int64(rng.IntN(5))
			floor := now - int64(rng.IntN(60))
			v := ActivityRecord{ID: uint64(i + 1), Time: now, Kind: ActivityOrder, Instrument: "BTC", ClientOrderID: "c1-" + strconv.FormatUint(uint64(i+1), 36)}
			if i%3 == 0 {
				v.Reason = "REJECTED_" + strconv.Itoa(i)
			}
			if i%5 == 0 {
				v.ClientOrderID = "ext-" + strconv.Itoa(i) // not of the machine's form: kept as a string
			}
			r := st.pack(1, &v)
			l.add(&r, keep, floor, &st)
			ref = append(ref, v)
			drop := 0
			for drop < len(ref) && ref[drop].Time < floor {
				drop++
			}
			if len(ref)-drop > keep+slack {
				drop = len(ref) - keep
			}
			ref = ref[drop:]
			if l.len() != len(ref) {
				t.Fatalf("round %d add %d: %d records, want %d", round, i, l.len(), len(ref))
			}
			odd := 0
			for j := range ref {
				if got := st.view(1, l.at(j)); got != ref[j] {
					t.Fatalf("round %d add %d: record %d is %+v, want %+v", round, i, j, got, ref[j])
				}
				if l.at(j).Odd {
					odd++
				}
			}
			if l.odd != odd || l.n > 0 && l.oldest != l.at(0).Time {
				t.Fatalf("round %d add %d: header odd=%d oldest=%d, records say %d and %d", round, i, l.odd, l.oldest, odd, l.at(0).Time)
			}
			if len(st.odd) != odd {
				t.Fatalf("round %d add %d: %d odd strings held for %d records that have them", round, i, len(st.odd), odd)
			}
			if len(l.buf) > keep+slack+1 {
				t.Fatalf("round %d: ring of %d for keep %d", round, len(l.buf), keep)
			}
		}
	}
}

// TestActivityRecordHoldsNoPointer: the GC skips a log's records only while the
// in-memory record has no pointer in it.
func TestActivityRecordHoldsNoPointer(t *testing.T) {
	var walk func(reflect.Type) bool
	walk = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return true
		case reflect.Struct:
			for i := range ty.NumField() {
				if walk(ty.Field(i).Type) {
					return true
				}
			}
		case reflect.Array:
			return walk(ty.Elem())
		}
		return false
	}
	if walk(reflect.TypeFor[actRec]()) {
		t.Fatal("actRec holds a pointer: the GC would scan every record of the history")
	}
}

// BenchmarkNoteDecisions500: recording one 500-copier fan-out's decisions in the
// activity history, alone (the logs stay in cache here; inside Apply, between
// fan-outs, they do not, and BenchmarkApplyOpen500 pays about twice this).
func BenchmarkNoteDecisions500(b *testing.B) {
	r := newBenchRig(b, 1, 500)
	for range 60 { // past the retention count: steady state
		r.applyBytes(b, r.fill(1, Buy))
		r.applyBytes(b, r.fillAll())
	}
	res := r.applyBytes(b, r.fill(1, Buy))
	cmd := &TradeFill{Trader: 1, TradeID: 1, Instrument: "BTC-USDT"}
	b.ResetTimer()
	for i := range b.N {
		r.m.noteDecisions(uint64(1<<30+i), cmd, res)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(res.Orders)), "ns/record")
}

// TestOrderRecordFoundAfterRestore: the machine that planned an order notes
// where its record is; a machine restored from a snapshot has no such note and
// scans the log. Both must give a result to the same record, and drop it the
// same way when retention took the record while the order was pending.
func TestOrderRecordFoundAfterRestore(t *testing.T) {
	h := activityHarness(t)
	h.apply(&ActivityConfig{KeepPerFollow: 2}) // slack 1: a fourth record drops down to 2
	activityFill(h, 1, Buy, "1")               // copier 10's first order, pending
	h2 := &harness{tb: t, m: New(), index: h.index, now: h.now, venue: maps.Clone(h.venue), check: true}
	if err := h2.m.Restore(h.m.Snapshot()); err != nil {
		t.Fatal(err)
	}
	first := h.m.PendingOrders()[0].ClientOrderID
	for _, hh := range []*harness{h, h2} {
		if o := hh.m.orders[first]; (o.act != nil) != (hh == h) {
			t.Fatalf("planned here %v, noted %v", hh == h, o.act != nil)
		}
	}
	both := func(cmd func(*harness) Command) {
		t.Helper()
		c := cmd(h)
		h.apply(c)
		h2.apply(c)
		if h.m.Hash() != h2.m.Hash() {
			t.Fatalf("after %T the restored machine differs", c)
		}
	}
	for id := int64(2); id <= 5; id++ { // four more pending orders: the first's record is dropped
		both(func(*harness) Command {
			return &TradeFill{Trader: 1, TradeID: id, Instrument: "BTC", Side: Buy, PosSide: Long, Qty: fixed.One,
				Price: 50_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One}
		})
	}
	if l, rec := h.m.findOrderRecord(h.m.orders[first]); l != nil || rec != nil {
		t.Fatal("a dropped record was found through the note")
	}
	both(func(hh *harness) Command { return hh.fillAll(50_000*fixed.One, 0) })
	recs, _ := h.m.Activity(ActivityQuery{Copier: 10})
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	for _, r := range recs {
		if r.Kind == ActivityOrder && r.Status != ActFilled {
			t.Fatalf("record %d of trade %d: %v, want filled", r.ID, r.TradeID, r.Status)
		}
	}
}

// TestFollowLogCachedAcrossPrune: a follow remembers its activity log; once
// retention empties and removes that log, the follow's next record goes to a
// new log the queries (and a restored machine) see, not to the removed one.
func TestFollowLogCachedAcrossPrune(t *testing.T) {
	h := activityHarness(t)
	h.apply(&ActivityConfig{KeepNanos: 10e9})
	activityFill(h, 1, Buy, "1")
	h.apply(h.fillAll(50_000*fixed.One, 0))
	for range 20 { // past the age limit (each entry moves the clock 1 s)
		h.apply(&Noop{})
	}
	h.apply(&Settle{Period: 1})
	if f, n := h.m.ActivityCount(); f != 0 || n != 0 {
		t.Fatalf("after the prune: %d logs, %d records", f, n)
	}
	activityFill(h, 2, Buy, "1")
	recs, _ := h.m.Activity(ActivityQuery{Copier: 10})
	if len(recs) != 1 || recs[0].TradeID != 2 || recs[0].Kind != ActivityOrder {
		t.Fatalf("copier 10 after the prune: %+v", recs)
	}
	m2 := New()
	if err := m2.Restore(h.m.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if again, _ := m2.Activity(ActivityQuery{Copier: 10}); !reflect.DeepEqual(again, recs) {
		t.Fatalf("restored: %+v", again)
	}
}

// TestBeginSnapshotCopyOnWrite: a snapshot begun at one index gives that
// index's bytes however the machine changes before and while they are
// encoded — results written on frozen records, retention dropping frozen
// records with reject reasons, new records wrapping the rings, logs removed,
// a second snapshot begun meanwhile — and encoding on another goroutine
// while entries apply is race-free (make test runs -race).
func TestBeginSnapshotCopyOnWrite(t *testing.T) {
	h := activityHarness(t)
	h.apply(&ActivityConfig{KeepPerFollow: 3, KeepNanos: 60e9})
	reject := func() {
		var rs OrderResults
		for _, o := range h.m.PendingOrders() {
			rs.Results = append(rs.Results, OrderResult{ClientOrderID: o.ClientOrderID, Status: OrderRejected, Reason: "MARGIN_INSUFFICIENT"})
		}
		h.apply(&rs)
	}
	activityFill(h, 1, Buy, "0.001")
	reject() // a frozen record with a reason (odd strings), dropped by retention later
	activityFill(h, 2, Buy, "0.001")
	h.apply(h.fillAll(50_000*fixed.One, 0))
	activityFill(h, 3, Buy, "0.001") // pending at the freeze
	want1, p1 := h.m.Snapshot(), h.m.BeginSnapshot()
	done := make(chan []byte)
	go func() { done <- p1.Bytes() }()

	reject()                          // results on frozen records
	for i := int64(4); i <= 10; i++ { // retention drops the frozen records, the rings wrap
		activityFill(h, i, Buy, "0.001")
		h.apply(h.fillAll(50_000*fixed.One, 0))
	}
	want2, p2 := h.m.Snapshot(), h.m.BeginSnapshot()
	for i := int64(11); i <= 14; i++ { // new records only: over the second snapshot's rings
		activityFill(h, i, Buy, "0.001")
	}
	h.apply(h.fillAll(50_000*fixed.One, 0))
	for range 70 { // past the age limit, then Settle removes every log
		h.apply(&Noop{})
	}
	h.apply(&Settle{Period: 1})
	if f, _ := h.m.ActivityCount(); f != 0 {
		t.Fatalf("%d logs left after the prune", f)
	}

	if got := <-done; !bytes.Equal(got, want1) {
		t.Fatalf("first snapshot: %d bytes, want the %d taken at its index", len(got), len(want1))
	}
	if got := p2.Bytes(); !bytes.Equal(got, want2) {
		t.Fatalf("second snapshot: %d bytes, want the %d taken at its index", len(got), len(want2))
	}
	m2 := New()
	if err := m2.Restore(want1); err != nil {
		t.Fatal(err)
	}
	if r, _ := m2.Activity(ActivityQuery{Copier: 10}); len(r) == 0 || r[0].Reason != "MARGIN_INSUFFICIENT" {
		t.Fatalf("the first snapshot's oldest record of copier 10: %+v", r)
	}
}
