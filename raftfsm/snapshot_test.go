package raftfsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fillMachine returns a machine in which every field of the Machine and of
// every state struct reachable from it is non-zero somewhere
// (TestSnapshotCoversEveryField checks that with reflection, so a new field
// fails until the filler and the snapshot encoder both cover it).
func fillMachine(seed int64) *Machine {
	m := New()
	n := func(i int64) int64 { return seed*1000 + i }
	m.group = GroupID(3 + seed)
	m.applied = uint64(n(77))
	m.now = 1704164645_000000006 + seed
	m.rules = EligibilityRules{MinWinRateBps: 5000, MinROIBps: -50, MinClosedTrades: 20, MinEquity: gdec(n(1e9))}
	m.members["n1"] = &GroupMember{ID: "n1", RaftAddr: "10.0.0.1:7001", RPCAddr: "10.0.0.1:7101", Drained: true}
	m.members["n2"] = &GroupMember{ID: "n2", RaftAddr: "10.0.0.2:7001", RPCAddr: "10.0.0.2:7101"}
	for _, sym := range []string{"ETH-USDT", "BTC-USDT"} {
		m.instruments[sym] = &Instrument{Symbol: sym, LotStep: gdec(1e5), TickSize: gdec(1e6), MinQty: gdec(1e5), MinNotional: gdec(5e8), MaxLeverage: 100,
			PriceBandBps: 500, MaxOrderQty: gdec(n(1e12))}
		m.marks[sym] = gdec(n(64_000_00000000))
	}
	settings := goldenFollowSettings
	for ti := int64(0); ti < 3; ti++ {
		id := AccountID(n(100 + ti))
		t := &TraderState{
			ID: id, Parent: AccountID(n(99)), Slot: SlotOf(id), Status: TraderPaused, Reason: "paused by admin",
			Config: goldenTraderConfig, ShareBps: 800 + ti,
			Positions: []TraderPosition{{Instrument: "BTC-USDT", Side: Long, Qty: gdec(n(3e7)), AvgEntry: gdec(64_000_00000000), Realized: gdec(-n(4e8)), Cost: gdec(n(19_200_00000000))}},
			Equity:    gdec(n(25_000_00000000)),
			Dedup: DedupWindow{Syms: []string{"BTC-USDT", "ETH-USDT"}, IDs: []int64{n(9_000_000_005), n(9_000_000_003), -4, n(9_000_000_010)},
				Times: []int64{n(1e15), n(1e15) + 7, n(1e15) + 7, n(2e15)}, SymOf: []uint16{0, 1, 0, 0}, Floor: n(1e15) - 3},
			Mismatches: uint64(n(3)), InviteOnly: true,
			Invites:  []Invite{{Code: "ab12", ExpiresAt: n(2e18), MaxUses: 3, Used: 1}, {Code: "zz-top", Revoked: true}},
			OrderSeq: uint64(n(41)), SignalSeq: uint64(n(12)),
			Stats: TraderStats{
				Days: []DayStat{{Day: 19723, RealizedPnL: gdec(-n(5e8)), Equity: gdec(n(2e12))}, {Day: 19724, RealizedPnL: gdec(7e8), Equity: gdec(2e12)}},
				Wins: 11, Losses: 4, PeakEquity: gdec(n(3e12)), MaxDrawdownBps: 1250, CopierPnL: gdec(-n(123456)),
			},
		}
		for ci := int64(0); ci < 2; ci++ {
			t.Follows = append(t.Follows, &FollowState{
				Copier: AccountID(n(2000 + ci)), CopierParent: AccountID(n(1999)), Trader: id,
				Status: FollowStopped, StopReason: "stop-loss", Settings: settings,
				Positions: []Position{
					{Instrument: "BTC-USDT", Side: Long, Qty: gdec(n(1e6)), AvgEntry: gdec(64_000_00000000), Margin: gdec(n(64e8)), PendingClose: gdec(5e5), PendingOpen: gdec(2e5), Leverage: 10,
						MarginMode: Isolated, Cost: gdec(n(64e10)), OpenKeep: gdec(5e7), OpenGen: 3, Target: gdec(n(9e5))},
					{Instrument: "ETH-USDT", Side: Short, Qty: gdec(3e7), AvgEntry: gdec(3_000_00000000), Leverage: 5},
				},
				Detached:    []Position{{Instrument: "ETH-USDT", Side: Long, Qty: gdec(1e7), AvgEntry: gdec(2_900_00000000), Margin: gdec(58e8), Leverage: 5}},
				MarginInUse: gdec(n(70e8)), RealizedPnL: gdec(-n(12e8)), Fees: gdec(n(3e6)), Pending: 1,
				Share:         ProfitShare{CumNetPnL: gdec(n(5e9)), HWM: gdec(4e9), Accrued: gdec(n(4e8)), Settled: gdec(3e8)},
				UnrealizedPnL: gdec(-n(2e8)), Failures: int32(3 + ci), ClosePolicy: CloseLeaveToCopier,
			})
		}
		m.traders[id] = t
		o := &OrderState{
			OrderIntent: OrderIntent{
				ClientOrderID: fmt.Sprintf("ct-%d-%010d-%d", id, 41, n(2000)), Copier: AccountID(n(2000)), Trader: id,
				Instrument: "BTC-USDT", Side: Sell, PosSide: Long, Qty: gdec(5e5), LimitPrice: gdec(63_000_00000000),
				ReduceOnly: true, Leverage: 10, MarginMode: Isolated, AccountMode: AccountModePortfolio, Effect: EffectClose, AttrSide: Long,
			},
			Signal: n(9_000_000_010), ReservedMargin: gdec(n(1e8)), Keep: gdec(7e7), Gen: 2, Retry: 1,
		}
		m.orders[o.ClientOrderID] = o
		m.slots[t.Slot] = Slot{State: SlotOwned, Epoch: 2}
	}
	m.slots[5] = Slot{State: SlotReleased, Epoch: uint64(n(4)), Migration: MigrationID(n(7)), MovedTo: 9}
	m.slots[16383] = Slot{State: SlotFrozen, Epoch: 3, Migration: MigrationID(n(8))}
	m.migrations[MigrationID(n(7))] = &Migration{ID: MigrationID(n(7)), Slots: []uint16{5}, Source: m.group, Target: 9, Epoch: uint64(n(4)), Role: 1, Phase: 3, FrozenAt: n(5)}
	m.migrations[MigrationID(n(8))] = &Migration{ID: MigrationID(n(8)), Slots: []uint16{16383}, Source: m.group, Target: 9, Epoch: 3, Role: 1, Phase: 1}
	m.lastSettled = uint64(n(19724))
	for i, paid := range []bool{true, false} {
		r := &SettlementRecord{
			SettlementEntry: SettlementEntry{SettlementID: fmt.Sprintf("st-%d-%d", n(19724), i), Period: uint64(n(19724)), Trader: AccountID(n(100)), Copier: AccountID(n(2000)), Amount: gdec(n(4e8))},
			Paid:            paid, Attempts: 2, Reason: "ACCOUNT_FROZEN",
		}
		m.settlements[r.SettlementID] = r
	}
	m.quarantine = map[string]string{sortedKeys(m.orders)[0]: "fee -0.01 is negative"}
	m.actCfg = ActivityConfig{KeepNanos: n(86400e9), KeepPerFollow: 50, MaxConsecutiveFailures: 7}
	setActivity(m, map[AccountID]map[AccountID][]ActivityRecord{
		AccountID(n(2000)): {
			AccountID(n(100)): {
				{ID: uint64(n(70))<<20 | 3, Time: m.now - 5e9, Kind: ActivityOrder, Origin: OpTradeFill, Instrument: "BTC-USDT",
					Effect: EffectOpen, Side: Buy, TradeID: n(9_000_000_010), SignalTime: m.now - 6e9, SignalPrice: gdec(64_000_00000000),
					ClientOrderID: "c1-2", Qty: gdec(5e5), LimitPrice: gdec(64_100_00000000), Status: ActRejected,
					FilledQty: gdec(1e5), AvgPrice: gdec(64_050_00000000), Fee: gdec(3e5), Reason: "INSUFFICIENT_MARGIN", ResultTime: m.now - 4e9, VenueTime: m.now - 4e9 - 5e6},
				{ID: uint64(n(71)) << 20, Time: m.now - 3e9, Kind: ActivitySkip, Origin: OpTradeFill, Instrument: "ETH-USDT",
					Effect: EffectOpen, Side: Sell, TradeID: n(9_000_000_011), SignalTime: m.now - 3e9 - 7, SignalPrice: gdec(3_000_00000000),
					Skip: SkipAllocationExhausted, Cap: CapAllocation},
			},
			AccountID(n(101)): {{ID: uint64(n(72)) << 20, Time: m.now, Kind: ActivityOrder, Origin: OpMarkPrices,
				Instrument: "BTC-USDT", Effect: EffectClose, Side: Sell, ClientOrderID: "c2-9", Qty: gdec(1e5), Status: ActPending}},
		},
		AccountID(n(2001)): {AccountID(n(100)): {{ID: uint64(n(70))<<20 | 4, Time: m.now - 5e9, Kind: ActivitySkip,
			Origin: OpTradeFill, Instrument: "BTC-USDT", Effect: EffectClose, Side: Sell, TradeID: n(9_000_000_010), Skip: SkipNoPosition}}},
	})
	return m
}

// setActivity replaces m's history with logs (copier → trader → records), packed in
// the order Restore reads them (copiers, then traders, ascending), so a restored
// machine interns the same symbols in the same order.
func setActivity(m *Machine, logs map[AccountID]map[AccountID][]ActivityRecord) {
	m.activity, m.actStr = nil, actStrings{}
	for _, c := range sortedKeys(logs) {
		for _, t := range sortedKeys(logs[c]) {
			rs := logs[c][t]
			l := m.actLog(c, t)
			for i := range rs {
				r := m.actStr.pack(t, &rs[i])
				l.push(&r, len(rs))
			}
		}
	}
}

// zeroFields walks v and returns "Type.Field" for every field of a struct
// type of this package that is zero in every instance reached.
func zeroFields(v reflect.Value) []string {
	seen := map[string]bool{} // "Type.Field" -> non-zero somewhere
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value())
			}
		case reflect.Struct:
			t := v.Type()
			if !strings.HasSuffix(t.PkgPath(), "/raftfsm") {
				return
			}
			for i := range t.NumField() {
				key := t.Name() + "." + t.Field(i).Name
				seen[key] = seen[key] || !v.Field(i).IsZero()
				walk(v.Field(i))
			}
		}
	}
	walk(v)
	var zero []string
	for k, ok := range seen {
		if !ok {
			zero = append(zero, k)
		}
	}
	slices.Sort(zero)
	return zero
}

func TestSnapshotCoversEveryField(t *testing.T) {
	// Representation, not state: activityLog.head is where the ring starts
	// (Snapshot writes the records oldest first, Restore starts at 0), and
	// actRec.Seq is a client order ID of the form c<trader>-<seq> held as its
	// number (fillMachine's IDs are all of another form, kept as strings; the
	// numeric form is TestActivityLogRing's). OrderState.act and actPos
	// cache where a pending order's record is, FollowState.act the follow's
	// log; a restored machine looks them up (TestOrderRecordFoundAfterRestore);
	// activityLog.removed is true only on a log no longer in the machine.
	z := slices.DeleteFunc(zeroFields(reflect.ValueOf(fillMachine(1))), func(f string) bool {
		switch f {
		case "activityLog.head", "actRec.Seq", "OrderState.act", "OrderState.actPos", "FollowState.act", "activityLog.removed",
			"Machine.actGen", "activityLog.gen": // which snapshots share a log's ring (activity_freeze.go)
			return true
		}
		return false
	})
	if len(z) > 0 {
		t.Fatalf("fillMachine leaves these fields zero: %v\n(a new state field must be filled here and encoded in snapshot.go)", z)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	m := fillMachine(1)
	snap := m.Snapshot()
	if !bytes.Equal(snap, m.Snapshot()) {
		t.Fatal("Snapshot is not deterministic")
	}

	// Into an empty machine and into one full of other state: either way
	// the result is exactly m (Restore discards everything first).
	for name, into := range map[string]*Machine{"new": New(), "zero": {}, "other": fillMachine(2)} {
		if err := into.Restore(snap); err != nil {
			t.Fatalf("%s: Restore: %v", name, err)
		}
		if !reflect.DeepEqual(into, m) {
			t.Fatalf("%s: restored machine differs from the original", name)
		}
		if again := into.Snapshot(); !bytes.Equal(again, snap) {
			t.Fatalf("%s: Snapshot after Restore differs (%d vs %d bytes)", name, len(again), len(snap))
		}
		if into.Hash() != m.Hash() {
			t.Fatalf("%s: Hash differs", name)
		}
		for id, tr := range into.traders {
			for i, f := range tr.Follows {
				if f == m.traders[id].Follows[i] {
					t.Fatalf("%s: follow pointer shared with the source machine", name)
				}
			}
		}
	}

	// The empty machine round-trips, and replaces a full one.
	full := fillMachine(3)
	if err := full.Restore(New().Snapshot()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full, New()) {
		t.Fatal("restoring an empty snapshot left state behind")
	}

	// Every field reaches the bytes: changing any one changes the hash.
	h := m.Hash()
	m.traders[AccountID(1100)].Follows[1].Share.Settled++
	if m.Hash() == h {
		t.Fatal("a follow's Settled does not reach the hash")
	}
}

func TestRestoreRejectsCorrupt(t *testing.T) {
	snap := fillMachine(1).Snapshot()
	target := fillMachine(2)
	before := target.Snapshot()
	unchanged := func(what string) {
		t.Helper()
		if !bytes.Equal(target.Snapshot(), before) {
			t.Fatalf("%s: a failed Restore changed the machine", what)
		}
	}
	for i := range snap {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(snap)
			bad[i] ^= bit
			if err := target.Restore(bad); !errors.Is(err, ErrDecode) {
				t.Fatalf("flip %#x at byte %d: Restore = %v", bit, i, err)
			}
		}
	}
	unchanged("bit flips")
	for n := range len(snap) {
		if err := target.Restore(snap[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: Restore succeeded", n)
		}
	}
	unchanged("truncation")
	if err := target.Restore(append(bytes.Clone(snap), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	bad := bytes.Clone(snap)
	bad[0] = snapshotVersion + 1
	if err := target.Restore(bad); !errors.Is(err, ErrVersion) {
		t.Fatalf("version: %v", err)
	}
	// Bodies with a valid checksum that Snapshot cannot produce.
	for name, body := range map[string][]byte{
		"trailing body byte": append(bytes.Clone(snap[:len(snap)-checksumLen]), 0),
		"short body":         snap[:len(snap)-checksumLen-1],
	} {
		data := binary.BigEndian.AppendUint64(bytes.Clone(body), hashBytes(body))
		if err := target.Restore(data); !errors.Is(err, ErrDecode) {
			t.Fatalf("%s: Restore = %v", name, err)
		}
	}
	unchanged("bad bodies")
}

// withChecksum appends the trailer Restore expects.
func withChecksum(body []byte) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(body), hashBytes(body))
}

// FuzzRestore: Restore never panics, and a snapshot it accepts is the
// canonical encoding of the state it restored. The fuzzer mutates the body;
// the checksum is recomputed so the decoder itself is exercised.
func FuzzRestore(f *testing.F) {
	f.Add(fillMachine(1).Snapshot())
	f.Add(New().Snapshot())
	m := New() // Restore replaces everything: one machine serves every input
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = m.Restore(data) // raw: almost always a checksum error
		if len(data) < checksumLen {
			return
		}
		body := data[:len(data)-checksumLen]
		in := withChecksum(body)
		if err := m.Restore(in); err != nil {
			return
		}
		if out := m.Snapshot(); !bytes.Equal(out, in) {
			t.Fatalf("accepted a non-canonical snapshot:\n  in: %x\n out: %x", in, out)
		}
	})
}

// bigMachine has traders × followers follows, each with one position, and
// full dedup windows.
func bigMachine(traders, followers int) *Machine {
	m := New()
	for ti := range traders {
		id := AccountID(100_000 + ti)
		t := &TraderState{ID: id, Slot: SlotOf(id), Status: TraderActive, Config: goldenTraderConfig, ShareBps: 1000,
			Positions: []TraderPosition{{Instrument: "BTC-USDT", Side: Long, Qty: gdec(3e8), AvgEntry: gdec(64_000_00000000)}},
			Equity:    gdec(25_000_00000000), OrderSeq: 1e6, SignalSeq: 5e5}
		for i := range DedupWindowSize {
			t.Dedup.IDs = append(t.Dedup.IDs, 9_000_000_000+int64(ti)*1e6+int64(i)*3)
			t.Dedup.Times = append(t.Dedup.Times, 1704164645_000000000+int64(i)*1e7)
			t.Dedup.SymOf = append(t.Dedup.SymOf, 0)
		}
		t.Dedup.Syms = []string{"BTC-USDT"}
		t.Dedup.Floor = t.Dedup.Times[0]
		t.Follows = make([]*FollowState, followers)
		for ci := range followers {
			s := goldenFollowSettings
			s.Instruments = nil
			t.Follows[ci] = &FollowState{
				Copier: AccountID(1_000_000 + ci), Trader: id, Status: FollowActive, Settings: s,
				Positions: []Position{{Instrument: "BTC-USDT", Side: Long, Qty: gdec(1e6 + int64(ci)), AvgEntry: gdec(64_000_12345678),
					Margin: gdec(64_00000000), Leverage: 10}},
				MarginInUse: gdec(64_00000000), RealizedPnL: gdec(int64(ci) * 1234567), Fees: gdec(3855000),
				Share: ProfitShare{CumNetPnL: gdec(int64(ci) * 1234567), HWM: gdec(int64(ci) * 1000000)},
			}
		}
		m.traders[id] = t
	}
	return m
}

func BenchmarkSnapshot100kFollows(b *testing.B) {
	m := bigMachine(200, 500)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		size = len(m.Snapshot())
	}
	b.ReportMetric(float64(size)/1e6, "MB")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
}

func BenchmarkRestore100kFollows(b *testing.B) {
	snap := bigMachine(200, 500).Snapshot()
	m := New()
	b.ReportAllocs()
	b.SetBytes(int64(len(snap)))
	for b.Loop() {
		if err := m.Restore(snap); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/restore")
}
