package raftfsm

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc64"
	"math"
	"slices"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Snapshot format (DESIGN.md, "Log format"):
//
//	[snapshotVersion byte]
//	[group uvarint][applied uvarint][now zigzag]
//	[instruments: count, Instrument...]   ascending Symbol
//	[rules]
//	[traders: count, trader...]           ascending ID (appendTrader)
//	[orders: count, order...]             ascending ClientOrderID (appendOrder)
//	[slots: count, (slot, Slot)...]       ascending slot, non-zero entries only
//	[migrations: count, Migration...]     ascending ID (FrozenAt: version 2 on)
//	[marks: count, (symbol, price)...]    ascending symbol
//	[lastSettled uvarint]
//	[settlements: count, record...]       ascending SettlementID
//	[quarantine: count, (id, reason)...]  ascending ClientOrderID (count may be 0)
//	[members: count, member...]           ascending ID (members.go)
//	[activity: settings, logs...]         copier, trader ascending (activity.go; version 4 on)
//	[checksum: 8 bytes big-endian, hashBytes of everything before]
//
// Primitives and struct layouts are the log codec's (codec.go); a state
// struct's fields are written in declaration order. Maps are written as
// their values, sorted; each key is its value's own ID field (Invariant:
// m.traders[k].ID == k, and likewise for every map), rebuilt by Restore.
// Like the log, the encoding is canonical: Restore rejects unsorted or
// duplicate keys and anything else Snapshot cannot produce, so equal states
// and only equal states have equal bytes, and Hash compares replicas.

// snapshotVersion is the first byte of a snapshot. Any change to the layout
// of a state struct needs a new version.
//
// Version 2: fill contract v2 (instrument band and maximum, trader signal
// age, cost basis, positions' margin mode and owed-close state, orders'
// owed-close state, the time-bounded dedup window, position mismatches).
// Version 3: the quarantine section (always present, possibly empty), stored
// membership and migrations' freeze time.
// Version 4: follows' consecutive-failure count and the activity section
// (activity.go). Restore also reads version 3 (no count, no activity), so a
// node upgraded in place restores what the older build wrote.
const snapshotVersion byte = 4

// oldestSnapshotVersion is the oldest version Restore reads.
const oldestSnapshotVersion byte = 3

// checksumLen is the snapshot trailer's length.
const checksumLen = 8

// unbounded is the length limit of state strings and slices whose only bound
// is the input's size.
const unbounded = math.MaxInt32

var crc64Table = crc64.MakeTable(crc64.ECMA)

// hashBytes is the 64-bit checksum of snapshots and slot exports:
// CRC-64 with the ECMA-182 polynomial as hash/crc64 computes it (reflected,
// init and final XOR all ones: the CRC-64/XZ variant). Fixed: changing it
// invalidates every stored snapshot and every in-flight export.
func hashBytes(data []byte) uint64 { return crc64.Checksum(data, crc64Table) }

// Snapshot returns the canonical bytes of the machine's whole state.
func (m *Machine) Snapshot() []byte {
	e := encoder{buf: make([]byte, 0, m.snapshotSizeHint())}
	m.appendSnapshotHead(&e)
	m.appendActivity(&e)
	return appendChecksum(e.buf)
}

// appendChecksum appends the snapshot trailer: the checksum of buf.
func appendChecksum(buf []byte) []byte {
	return binary.BigEndian.AppendUint64(buf, hashBytes(buf))
}

// appendSnapshotHead writes every section before the activity section.
func (m *Machine) appendSnapshotHead(e *encoder) {
	e.u8(snapshotVersion)
	e.uvarint(uint64(m.group))
	e.uvarint(m.applied)
	e.varint(m.now)

	syms := sortedKeys(m.instruments)
	e.uvarint(uint64(len(syms)))
	for _, s := range syms {
		e.instrument(m.instruments[s])
	}
	e.rules(&m.rules)

	ids := sortedKeys(m.traders)
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		appendTrader(e, m.traders[id])
	}

	coids := sortedKeys(m.orders)
	e.uvarint(uint64(len(coids)))
	for _, id := range coids {
		appendOrder(e, m.orders[id])
	}

	n := 0
	for i := range m.slots {
		if m.slots[i] != (Slot{}) {
			n++
		}
	}
	e.uvarint(uint64(n))
	for i := range m.slots {
		if s := &m.slots[i]; *s != (Slot{}) {
			e.uvarint(uint64(i))
			e.u8(uint8(s.State))
			e.uvarint(s.Epoch)
			e.uvarint(uint64(s.Migration))
			e.uvarint(uint64(s.MovedTo))
		}
	}

	migs := sortedKeys(m.migrations)
	e.uvarint(uint64(len(migs)))
	for _, id := range migs {
		g := m.migrations[id]
		e.uvarint(uint64(g.ID))
		e.u16s(g.Slots)
		e.uvarint(uint64(g.Source))
		e.uvarint(uint64(g.Target))
		e.uvarint(g.Epoch)
		e.u8(g.Role)
		e.u8(g.Phase)
		e.varint(g.FrozenAt) // version 2 on
	}

	marks := sortedKeys(m.marks)
	e.uvarint(uint64(len(marks)))
	for _, s := range marks {
		e.str(s)
		e.dec(m.marks[s])
	}

	e.uvarint(m.lastSettled)

	sids := sortedKeys(m.settlements)
	e.uvarint(uint64(len(sids)))
	for _, id := range sids {
		appendSettlement(e, m.settlements[id])
	}
	m.appendQuarantine(e)

	appendMembers(e, m.members)
}

// Hash is the SHA-256 of Snapshot(): equal on every replica at the same
// applied index.
func (m *Machine) Hash() [32]byte { return sha256.Sum256(m.Snapshot()) }

// Restore replaces the machine's whole state with the snapshot's. It checks
// the version and checksum and decodes into fresh state first: on any error
// the machine is unchanged; on success nothing of the old state remains.
// It never panics.
func (m *Machine) Restore(data []byte) error {
	if len(data) < 1+checksumLen {
		return fmt.Errorf("%w: snapshot: %d bytes, too short", ErrDecode, len(data))
	}
	if data[0] != snapshotVersion && data[0] != oldestSnapshotVersion {
		return fmt.Errorf("%w: %w: snapshot version %d, this build reads %d", ErrDecode, ErrVersion, data[0], snapshotVersion)
	}
	body := data[:len(data)-checksumLen]
	if want, got := binary.BigEndian.Uint64(data[len(body):]), hashBytes(body); want != got {
		return fmt.Errorf("%w: snapshot: checksum %016x, data hashes to %016x", ErrDecode, want, got)
	}
	f, err := decodeSnapshot(body)
	if err != nil {
		return err
	}
	// Every check passed: replace the whole state. Every field of Machine
	// is assigned (TestSnapshotRoundTrip restores into a full machine).
	m.group, m.applied, m.now = f.group, f.applied, f.now
	m.instruments, m.rules, m.traders, m.orders = f.instruments, f.rules, f.traders, f.orders
	m.slots = [NumSlots]Slot{}
	for _, s := range f.slotList {
		m.slots[s.slot] = s.Slot
	}
	m.migrations, m.marks, m.lastSettled, m.settlements = f.migrations, f.marks, f.lastSettled, f.settlements
	m.quarantine = f.quarantine
	m.members = f.members
	m.actCfg, m.activity, m.actStr = f.actCfg, f.activity, f.actStr
	return nil
}

// restored is a decoded snapshot: the Machine's fields, except that the
// slot array is a list of its non-zero entries (a failed Restore allocates
// little; a successful one copies only what is set).
type restored struct {
	group       GroupID
	applied     uint64
	now         int64
	instruments map[string]*Instrument
	rules       EligibilityRules
	traders     map[AccountID]*TraderState
	orders      map[string]*OrderState
	slotList    []slotEntry
	migrations  map[MigrationID]*Migration
	marks       map[string]fixed.Dec
	lastSettled uint64
	settlements map[string]*SettlementRecord
	quarantine  map[string]string
	members     map[string]*GroupMember
	actCfg      ActivityConfig
	activity    map[AccountID]map[AccountID]*activityLog
	actStr      actStrings
}

type slotEntry struct {
	slot uint16
	Slot
}

// decodeSnapshot parses a snapshot body (version byte included, checksum
// excluded) into fresh state.
func decodeSnapshot(body []byte) (*restored, error) {
	d := decoder{buf: body, where: "Snapshot", syms: make(map[string]string)}
	version := d.u8("Version")
	d.legacy = version < snapshotVersion
	f := &restored{
		instruments: make(map[string]*Instrument),
		traders:     make(map[AccountID]*TraderState),
		orders:      make(map[string]*OrderState),
		migrations:  make(map[MigrationID]*Migration),
		marks:       make(map[string]fixed.Dec),
		settlements: make(map[string]*SettlementRecord),
	}
	f.group = GroupID(d.uint32("group"))
	f.applied = d.uvarint("applied")
	f.now = d.varint("now")

	n := d.count("instruments", unbounded, 8)
	var prevSym string
	for i := 0; i < n && d.err == nil; i++ {
		in := &Instrument{}
		d.instrument(in)
		if i > 0 && d.err == nil && in.Symbol <= prevSym {
			d.fail("instruments", "not in ascending order")
		}
		prevSym = in.Symbol
		f.instruments[in.Symbol] = in
	}
	d.rules(&f.rules)

	n = d.count("traders", unbounded, 1)
	var prevID AccountID
	for i := 0; i < n && d.err == nil; i++ {
		t := decodeTrader(&d)
		if d.err != nil {
			break
		}
		if i > 0 && t.ID <= prevID {
			d.fail("traders", "not in ascending ID order")
		}
		prevID = t.ID
		f.traders[t.ID] = t
	}

	n = d.count("orders", unbounded, 1)
	var prevOrder string
	for i := 0; i < n && d.err == nil; i++ {
		o := decodeOrder(&d)
		if d.err != nil {
			break
		}
		if i > 0 && o.ClientOrderID <= prevOrder {
			d.fail("orders", "not in ascending ClientOrderID order")
		}
		prevOrder = o.ClientOrderID
		f.orders[o.ClientOrderID] = o
	}

	n = d.count("slots", NumSlots, 5)
	prevSlot := -1
	for i := 0; i < n && d.err == nil; i++ {
		x := int(d.uvarint("slots.slot"))
		s := Slot{
			State:     SlotState(d.u8("slots.State")),
			Epoch:     d.uvarint("slots.Epoch"),
			Migration: MigrationID(d.uvarint("slots.Migration")),
			MovedTo:   GroupID(d.uint32("slots.MovedTo")),
		}
		switch {
		case d.err != nil:
		case x >= NumSlots || x <= prevSlot:
			d.fail("slots", fmt.Sprintf("slot %d out of range or order", x))
		case s == Slot{}:
			d.fail("slots", fmt.Sprintf("slot %d: zero entry", x))
		default:
			f.slotList = append(f.slotList, slotEntry{uint16(x), s})
			prevSlot = x
		}
	}

	n = d.count("migrations", unbounded, 7)
	var prevMig MigrationID
	for i := 0; i < n && d.err == nil; i++ {
		g := &Migration{
			ID:     MigrationID(d.uvarint("migrations.ID")),
			Slots:  d.u16s("migrations.Slots", NumSlots),
			Source: GroupID(d.uint32("migrations.Source")),
			Target: GroupID(d.uint32("migrations.Target")),
			Epoch:  d.uvarint("migrations.Epoch"),
			Role:   d.u8("migrations.Role"),
			Phase:  d.u8("migrations.Phase"),
		}
		if version >= 3 {
			g.FrozenAt = d.varint("migrations.FrozenAt")
		}
		if i > 0 && d.err == nil && g.ID <= prevMig {
			d.fail("migrations", "not in ascending ID order")
		}
		prevMig = g.ID
		f.migrations[g.ID] = g
	}

	n = d.count("marks", unbounded, 2)
	var prevMark string
	for i := 0; i < n && d.err == nil; i++ {
		s := d.str("marks.Instrument", MaxSymbolLen)
		p := d.dec("marks.Price")
		if i > 0 && d.err == nil && s <= prevMark {
			d.fail("marks", "not in ascending order")
		}
		prevMark = s
		f.marks[s] = p
	}

	f.lastSettled = d.uvarint("lastSettled")

	n = d.count("settlements", unbounded, 8)
	var prevSID string
	for i := 0; i < n && d.err == nil; i++ {
		r := decodeSettlement(&d)
		if i > 0 && d.err == nil && r.SettlementID <= prevSID {
			d.fail("settlements", "not in ascending SettlementID order")
		}
		prevSID = r.SettlementID
		f.settlements[r.SettlementID] = r
	}
	f.quarantine = decodeQuarantine(&d, f.orders)

	if version >= 3 {
		f.members = decodeMembers(&d)
	} else {
		f.members = make(map[string]*GroupMember)
	}
	if version >= 4 {
		f.actCfg, f.activity, f.actStr = decodeActivity(&d)
	}

	if err := d.finish(); err != nil {
		return nil, err
	}
	return f, nil
}

// appendTrader appends a trader and everything it owns (config, positions,
// follows with their ledgers, dedup window, stats) in declaration order.
// Slot exports use it too, so it is also part of the export format.
func appendTrader(e *encoder, t *TraderState) {
	e.account(t.ID)
	e.account(t.Parent)
	e.uvarint(uint64(t.Slot))
	e.u8(uint8(t.Status))
	e.str(t.Reason)
	e.traderConfig(&t.Config)
	e.varint(t.ShareBps)
	e.uvarint(uint64(len(t.Positions)))
	for i := range t.Positions {
		p := &t.Positions[i]
		e.str(p.Instrument)
		e.u8(uint8(p.Side))
		e.dec(p.Qty)
		e.dec(p.AvgEntry)
		e.dec(p.Realized)
		e.dec(p.Cost)
	}
	e.dec(t.Equity)
	e.uvarint(uint64(len(t.Follows)))
	for _, f := range t.Follows {
		appendFollow(e, f)
	}
	// Dedup: the symbols, then per entry the symbol index, and trade ID and
	// venue time as zigzag deltas from the previous entry's (from 0 for the
	// first): both mostly grow, so most take a few bytes. Wrapping arithmetic
	// makes every int64 sequence representable.
	e.strs(t.Dedup.Syms)
	e.uvarint(uint64(len(t.Dedup.IDs)))
	var prevID, prevT int64
	for i, id := range t.Dedup.IDs {
		e.uvarint(uint64(t.Dedup.SymOf[i]))
		e.varint(id - prevID)
		e.varint(t.Dedup.Times[i] - prevT)
		prevID, prevT = id, t.Dedup.Times[i]
	}
	e.varint(t.Dedup.Floor)
	e.uvarint(t.OrderSeq)
	e.uvarint(t.SignalSeq)
	s := &t.Stats
	e.uvarint(uint64(len(s.Days)))
	for _, ds := range s.Days {
		e.varint(ds.Day)
		e.dec(ds.RealizedPnL)
		e.dec(ds.Equity)
	}
	e.varint(s.Wins)
	e.varint(s.Losses)
	e.dec(s.PeakEquity)
	e.varint(s.MaxDrawdownBps)
	e.dec(s.CopierPnL)
	e.uvarint(t.Mismatches)
	e.bool(t.InviteOnly) // snapshot version 4, export version 3
	e.uvarint(uint64(len(t.Invites)))
	for _, v := range t.Invites {
		e.str(v.Code)
		e.varint(v.ExpiresAt)
		e.varint(int64(v.MaxUses))
		e.varint(int64(v.Used))
		e.bool(v.Revoked)
	}
}

// decodeTrader reads what appendTrader wrote, with fresh pointers for every
// follow. On failure d.err is set and the result must not be used.
func decodeTrader(d *decoder) *TraderState {
	t := &TraderState{}
	t.ID = d.account("trader.ID")
	t.Parent = d.account("trader.Parent")
	slot := d.uvarint("trader.Slot")
	if slot >= NumSlots {
		d.fail("trader.Slot", fmt.Sprintf("slot %d out of range", slot))
	}
	t.Slot = uint16(slot)
	t.Status = TraderStatus(d.u8("trader.Status"))
	t.Reason = d.str("trader.Reason", unbounded)
	d.traderConfig(&t.Config)
	t.ShareBps = d.varint("trader.ShareBps")
	if n := d.count("trader.Positions", unbounded, 4); n > 0 {
		t.Positions = make([]TraderPosition, n)
		for i := range t.Positions {
			p := &t.Positions[i]
			p.Instrument = d.sym("trader.Positions.Instrument", MaxSymbolLen)
			p.Side = PosSide(d.u8("trader.Positions.Side"))
			p.Qty = d.dec("trader.Positions.Qty")
			p.AvgEntry = d.dec("trader.Positions.AvgEntry")
			p.Realized = d.dec("trader.Positions.Realized")
			p.Cost = d.dec("trader.Positions.Cost")
		}
	}
	t.Equity = d.dec("trader.Equity")
	if n := d.count("trader.Follows", unbounded, followMinBytes); n > 0 {
		t.Follows = make([]*FollowState, n)
		for i := range t.Follows {
			t.Follows[i] = decodeFollow(d)
		}
	}
	if n := d.count("trader.Dedup.Syms", maxDedupSyms, 2); n > 0 {
		t.Dedup.Syms = make([]string, n)
		for i := range t.Dedup.Syms {
			t.Dedup.Syms[i] = d.sym("trader.Dedup.Syms", MaxSymbolLen)
			if d.err == nil && t.Dedup.symIndex(t.Dedup.Syms[i]) != i {
				d.fail("trader.Dedup.Syms", "repeated symbol")
			}
		}
	}
	if n := d.count("trader.Dedup.IDs", DedupWindowSize, 3); n > 0 {
		w := &t.Dedup
		w.IDs, w.Times, w.SymOf = make([]int64, n), make([]int64, n), make([]uint16, n)
		var id, ts int64
		for i := 0; i < n && d.err == nil; i++ {
			sym := d.uvarint("trader.Dedup.SymOf")
			if d.err == nil && sym >= uint64(len(w.Syms)) {
				d.fail("trader.Dedup.SymOf", fmt.Sprintf("%d of %d symbols", sym, len(w.Syms)))
			}
			id += d.varint("trader.Dedup.IDs")
			ts += d.varint("trader.Dedup.Times")
			w.SymOf[i], w.IDs[i], w.Times[i] = uint16(sym), id, ts
			if i > 0 && d.err == nil && ts < w.Times[i-1] {
				d.fail("trader.Dedup.Times", "not ascending")
			}
		}
	}
	t.Dedup.Floor = d.varint("trader.Dedup.Floor")
	if len(t.Dedup.Times) > 0 && d.err == nil && t.Dedup.Times[0] < t.Dedup.Floor {
		d.fail("trader.Dedup.Floor", "above a fill's time")
	}
	t.OrderSeq = d.uvarint("trader.OrderSeq")
	t.SignalSeq = d.uvarint("trader.SignalSeq")
	s := &t.Stats
	if n := d.count("trader.Stats.Days", unbounded, 3); n > 0 {
		s.Days = make([]DayStat, n)
		for i := range s.Days {
			s.Days[i] = DayStat{
				Day:         d.varint("trader.Stats.Days.Day"),
				RealizedPnL: d.dec("trader.Stats.Days.RealizedPnL"),
				Equity:      d.dec("trader.Stats.Days.Equity"),
			}
		}
	}
	s.Wins = d.varint("trader.Stats.Wins")
	s.Losses = d.varint("trader.Stats.Losses")
	s.PeakEquity = d.dec("trader.Stats.PeakEquity")
	s.MaxDrawdownBps = d.varint("trader.Stats.MaxDrawdownBps")
	s.CopierPnL = d.dec("trader.Stats.CopierPnL")
	t.Mismatches = d.uvarint("trader.Mismatches")
	if !d.legacy {
		t.InviteOnly = d.bool("trader.InviteOnly")
		n := d.count("trader.Invites", MaxInvitesPerTrader, 5)
		for i := 0; i < n && d.err == nil; i++ {
			v := Invite{Code: d.str("trader.Invites.Code", MaxInviteCodeLen), ExpiresAt: d.varint("trader.Invites.ExpiresAt"),
				MaxUses: d.int32("trader.Invites.MaxUses"), Used: d.int32("trader.Invites.Used"), Revoked: d.bool("trader.Invites.Revoked")}
			if i > 0 && d.err == nil && v.Code <= t.Invites[i-1].Code {
				d.fail("trader.Invites", "not in ascending Code order")
			}
			t.Invites = append(t.Invites, v)
		}
	}
	return t
}

// followMinBytes is the smallest encoded FollowState.
const followMinBytes = 3 + 1 + 1 + 16 + 2 + 3 + 1 + 1 + 4 + 1

func appendFollow(e *encoder, f *FollowState) {
	e.account(f.Copier)
	e.account(f.CopierParent)
	e.account(f.Trader)
	e.u8(uint8(f.Status))
	e.str(f.StopReason)
	e.followSettings(&f.Settings)
	appendPositions(e, f.Positions)
	appendPositions(e, f.Detached)
	e.dec(f.MarginInUse)
	e.dec(f.RealizedPnL)
	e.dec(f.Fees)
	e.varint(int64(f.Pending))
	e.dec(f.Share.CumNetPnL)
	e.dec(f.Share.HWM)
	e.dec(f.Share.Accrued)
	e.dec(f.Share.Settled)
	e.dec(f.UnrealizedPnL)
	e.varint(int64(f.Failures)) // snapshot version 4, export version 3
	e.u8(uint8(f.ClosePolicy))
}

func decodeFollow(d *decoder) *FollowState {
	f := &FollowState{}
	f.Copier = d.account("follow.Copier")
	f.CopierParent = d.account("follow.CopierParent")
	f.Trader = d.account("follow.Trader")
	f.Status = FollowStatus(d.u8("follow.Status"))
	f.StopReason = d.str("follow.StopReason", unbounded)
	d.followSettings(&f.Settings)
	f.Positions = decodePositions(d, "follow.Positions")
	f.Detached = decodePositions(d, "follow.Detached")
	f.MarginInUse = d.dec("follow.MarginInUse")
	f.RealizedPnL = d.dec("follow.RealizedPnL")
	f.Fees = d.dec("follow.Fees")
	f.Pending = d.int32("follow.Pending")
	f.Share.CumNetPnL = d.dec("follow.Share.CumNetPnL")
	f.Share.HWM = d.dec("follow.Share.HWM")
	f.Share.Accrued = d.dec("follow.Share.Accrued")
	f.Share.Settled = d.dec("follow.Share.Settled")
	f.UnrealizedPnL = d.dec("follow.UnrealizedPnL")
	if !d.legacy {
		f.Failures = d.int32("follow.Failures")
		f.ClosePolicy = ClosePolicy(d.u8("follow.ClosePolicy"))
	}
	return f
}

func appendPositions(e *encoder, ps []Position) {
	e.uvarint(uint64(len(ps)))
	for i := range ps {
		p := &ps[i]
		e.str(p.Instrument)
		e.u8(uint8(p.Side))
		e.u8(uint8(p.MarginMode))
		e.dec(p.Qty)
		e.dec(p.AvgEntry)
		e.dec(p.Margin)
		e.dec(p.PendingClose)
		e.dec(p.PendingOpen)
		e.varint(int64(p.Leverage))
		e.uvarint(uint64(p.OpenGen))
		e.dec(p.Cost)
		e.dec(p.OpenKeep)
		e.dec(p.Target)
	}
}

func decodePositions(d *decoder, field string) []Position {
	n := d.count(field, unbounded, 12)
	if n == 0 {
		return nil
	}
	ps := make([]Position, n)
	for i := range ps {
		p := &ps[i]
		p.Instrument = d.sym("position.Instrument", MaxSymbolLen)
		p.Side = PosSide(d.u8("position.Side"))
		p.MarginMode = MarginMode(d.u8("position.MarginMode"))
		p.Qty = d.dec("position.Qty")
		p.AvgEntry = d.dec("position.AvgEntry")
		p.Margin = d.dec("position.Margin")
		p.PendingClose = d.dec("position.PendingClose")
		p.PendingOpen = d.dec("position.PendingOpen")
		p.Leverage = d.int32("position.Leverage")
		p.OpenGen = d.uint32("position.OpenGen")
		p.Cost = d.dec("position.Cost")
		p.OpenKeep = d.dec("position.OpenKeep")
		p.Target = d.dec("position.Target")
	}
	return ps
}

// appendOrder appends a pending order (its intent, signal and reserved margin).
func appendOrder(e *encoder, o *OrderState) {
	e.str(o.ClientOrderID)
	e.account(o.Copier)
	e.account(o.Trader)
	e.str(o.Instrument)
	e.u8(uint8(o.Side))
	e.u8(uint8(o.PosSide))
	e.dec(o.Qty)
	e.dec(o.LimitPrice)
	e.bool(o.ReduceOnly)
	e.varint(int64(o.Leverage))
	e.u8(uint8(o.MarginMode))
	e.u8(uint8(o.AccountMode))
	e.u8(uint8(o.Effect))
	e.u8(uint8(o.AttrSide))
	e.varint(o.Signal)
	e.dec(o.ReservedMargin)
	e.dec(o.Keep)
	e.uvarint(uint64(o.Gen))
	e.u8(o.Retry)
}

// decodeOrder reads what appendOrder wrote. On failure d.err is set and the
// result must not be used.
func decodeOrder(d *decoder) *OrderState {
	o := &OrderState{}
	o.ClientOrderID = d.str("order.ClientOrderID", MaxClientOrderIDLen)
	o.Copier = d.account("order.Copier")
	o.Trader = d.account("order.Trader")
	o.Instrument = d.sym("order.Instrument", MaxSymbolLen)
	o.Side = Side(d.u8("order.Side"))
	o.PosSide = PosSide(d.u8("order.PosSide"))
	o.Qty = d.dec("order.Qty")
	o.LimitPrice = d.dec("order.LimitPrice")
	o.ReduceOnly = d.bool("order.ReduceOnly")
	o.Leverage = d.int32("order.Leverage")
	o.MarginMode = MarginMode(d.u8("order.MarginMode"))
	o.AccountMode = AccountMode(d.u8("order.AccountMode"))
	o.Effect = OrderEffect(d.u8("order.Effect"))
	o.AttrSide = PosSide(d.u8("order.AttrSide"))
	o.Signal = d.varint("order.Signal")
	o.ReservedMargin = d.dec("order.ReservedMargin")
	o.Keep = d.dec("order.Keep")
	o.Gen = d.uint32("order.Gen")
	o.Retry = d.u8("order.Retry")
	return o
}

// snapshotSizeHint estimates the snapshot's size so it is built with few
// regrowths: measured sizes per follow, order and trader, rounded up.
func (m *Machine) snapshotSizeHint() int {
	n := 1024 + 64*len(m.instruments) + 128*len(m.orders) + 96*len(m.settlements)
	for _, t := range m.traders {
		n += 256 + 12*len(t.Dedup.IDs) + 160*len(t.Follows)
	}
	return n
}

// sortedKeys returns m's keys in ascending order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendSettlement appends a settlement record in the snapshot's layout.
func appendSettlement(e *encoder, r *SettlementRecord) {
	e.str(r.SettlementID)
	e.uvarint(r.Period)
	e.account(r.Trader)
	e.account(r.Copier)
	e.dec(r.Amount)
	e.bool(r.Paid)
	e.varint(int64(r.Attempts))
	e.str(r.Reason)
}

// decodeSettlement reads what appendSettlement wrote.
func decodeSettlement(d *decoder) *SettlementRecord {
	r := &SettlementRecord{}
	r.SettlementID = d.str("settlement.SettlementID", maxSettlementIDLen)
	r.Period = d.uvarint("settlement.Period")
	r.Trader = d.account("settlement.Trader")
	r.Copier = d.account("settlement.Copier")
	r.Amount = d.dec("settlement.Amount")
	r.Paid = d.bool("settlement.Paid")
	r.Attempts = d.int32("settlement.Attempts")
	r.Reason = d.str("settlement.Reason", unbounded)
	return r
}
