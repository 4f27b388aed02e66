package raftfsm

import (
	"fmt"
	"slices"
	"strings"
)

// Slot moves (design §5; DESIGN.md "Slot moves" says why it is built this
// way). A migration moves a set of slots from a source group to a target
// group at a new epoch:
//
//	source: SlotFreeze → (order results drain) → SlotExport ─┐
//	target:                                   SlotImport ◀───┘  (the commit point)
//	source: SlotRelease                       (after the import committed)
//	or, before the import: target SlotAbort, then source SlotUnfreeze.
//
// Every command here is idempotent for a replay of itself, and refuses
// anything that could let two groups serve one slot.

// Migration.Role values.
const (
	roleSource uint8 = 1
	roleTarget uint8 = 2
)

// Migration.Phase values. Source phases only move forward along
// frozen → exported → released, or frozen|exported → unfrozen; target
// phases are final once set: imported or aborted.
const (
	phaseFrozen   uint8 = 1 // source: slots Frozen, pending orders draining
	phaseExported uint8 = 2 // source: state exported at some index; still Frozen
	phaseReleased uint8 = 3 // source: slots Released to the target, traders dropped
	phaseUnfrozen uint8 = 4 // source: slots Owned again after the target's abort
	phaseImported uint8 = 5 // target: slots Owned at the migration's epoch
	phaseAborted  uint8 = 6 // target: the migration will never import here
)

var phaseNames = [...]string{"none", "frozen", "exported", "released", "unfrozen", "imported", "aborted"}

func phaseName(p uint8) string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", p)
}

// exportVersion is the first byte of SlotExportData.Data.
// 2: fill contract v2 (the trader and order layouts of snapshot version 2);
// 3: follows' consecutive-failure count (snapshot version 4).
const exportVersion byte = 3

// slotSet is a set of slots: 2 KiB, no allocation per lookup.
type slotSet [NumSlots / 64]uint64

func (s *slotSet) add(slot uint16)      { s[slot/64] |= 1 << (slot % 64) }
func (s *slotSet) has(slot uint16) bool { return s[slot/64]&(1<<(slot%64)) != 0 }

func newSlotSet(slots []uint16) *slotSet {
	s := new(slotSet)
	for _, x := range slots {
		s.add(x)
	}
	return s
}

// checkSlotList says what is wrong with a migration's slot list, or "".
func checkSlotList(slots []uint16) string {
	if len(slots) == 0 {
		return "Slots: empty"
	}
	if len(slots) > NumSlots {
		return fmt.Sprintf("Slots: %d over %d", len(slots), NumSlots)
	}
	for i, x := range slots {
		if x >= NumSlots {
			return fmt.Sprintf("Slots: %d out of range", x)
		}
		if i > 0 && x <= slots[i-1] {
			return "Slots: not sorted and unique"
		}
	}
	return ""
}

func refuse(code Code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// sameMigration reports whether a replayed command names the migration rec
// already records (same slots, epoch and peer).
func sameMigration(rec *Migration, slots []uint16, epoch uint64, peer GroupID) bool {
	p := rec.Target
	if rec.Role == roleTarget {
		p = rec.Source
	}
	return rec.Epoch == epoch && p == peer && slices.Equal(rec.Slots, slots)
}

// applySlotFreeze starts a migration on the source: every slot must be
// served here (Owned) at an epoch below c.Epoch. The slots become Frozen:
// fills and config for their traders answer Moving, order results are
// still applied so pending orders drain. A replay of the same freeze while
// the migration is frozen or exported changes nothing and succeeds.
func (m *Machine) applySlotFreeze(c *SlotFreeze) *Refusal {
	switch {
	case c.Migration == 0:
		return refuse(CodeInvalidArgument, "Migration: 0")
	case c.Epoch == 0:
		return refuse(CodeInvalidArgument, "Epoch: 0")
	case c.Target == 0:
		return refuse(CodeInvalidArgument, "Target: 0")
	case m.group == 0:
		return refuse(CodeMigrationState, "group not bootstrapped")
	case c.Target == m.group:
		return refuse(CodeInvalidArgument, "Target: this group")
	}
	if msg := checkSlotList(c.Slots); msg != "" {
		return refuse(CodeInvalidArgument, "%s", msg)
	}
	if rec := m.migrations[c.Migration]; rec != nil {
		if rec.Role != roleSource || !sameMigration(rec, c.Slots, c.Epoch, c.Target) {
			return refuse(CodeMigrationState, "migration %d exists with other parameters", c.Migration)
		}
		if rec.Phase == phaseFrozen || rec.Phase == phaseExported {
			return nil // replay
		}
		return refuse(CodeMigrationState, "migration %d is %s", c.Migration, phaseName(rec.Phase))
	}
	for _, x := range c.Slots {
		s := &m.slots[x]
		switch s.State {
		case SlotOwned:
			if s.Epoch >= c.Epoch {
				return refuse(CodeStaleEpoch, "slot %d owned at epoch %d, not below %d", x, s.Epoch, c.Epoch)
			}
		case SlotFrozen:
			return &Refusal{Code: CodeMoving, Msg: fmt.Sprintf("slot %d frozen by migration %d", x, s.Migration)}
		case SlotReleased:
			return &Refusal{Code: CodeMoved, Msg: fmt.Sprintf("slot %d", x), Group: s.MovedTo, Epoch: s.Epoch}
		default:
			return refuse(CodeNotOwned, "slot %d", x)
		}
	}
	for _, x := range c.Slots {
		m.slots[x].State = SlotFrozen
		m.slots[x].Migration = c.Migration
	}
	m.migrations[c.Migration] = &Migration{
		ID: c.Migration, Slots: slices.Clone(c.Slots), Source: m.group, Target: c.Target,
		Epoch: c.Epoch, Role: roleSource, Phase: phaseFrozen, FrozenAt: m.now,
	}
	return nil
}

// sourceMigration is the source-side record of id, or a refusal.
func (m *Machine) sourceMigration(id MigrationID) (*Migration, *Refusal) {
	rec := m.migrations[id]
	if rec == nil {
		return nil, refuse(CodeMigrationState, "unknown migration %d", id)
	}
	if rec.Role != roleSource {
		return nil, refuse(CodeMigrationState, "migration %d: this group is its target", id)
	}
	return rec, nil
}

// slotTraders are the traders of the slots in set, by ascending ID.
func (m *Machine) slotTraders(set *slotSet) []*TraderState {
	var ts []*TraderState
	for _, t := range m.traders {
		if set.has(t.Slot) {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b *TraderState) int { return cmpAccount(a.ID, b.ID) })
	return ts
}

func cmpAccount(a, b AccountID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// slotPending counts pending orders of traders in set.
func (m *Machine) slotPending(set *slotSet) int {
	n := 0
	for _, o := range m.orders {
		if set.has(SlotOf(o.Trader)) {
			n++
		}
	}
	return n
}

// applySlotExport captures the frozen slots' whole state at this index.
// Refused while any of their orders is pending (the rebalancer retries once
// the results have drained). Repeatable: nothing about a frozen slot's
// traders changes once its orders have drained (fills and config are
// refused, mark prices and settlement skip frozen slots), so a re-export
// returns the same bytes.
func (m *Machine) applySlotExport(c *SlotExport) (*SlotExportData, *Refusal) {
	rec, ref := m.sourceMigration(c.Migration)
	if ref != nil {
		return nil, ref
	}
	if rec.Phase != phaseFrozen && rec.Phase != phaseExported {
		return nil, refuse(CodeMigrationState, "migration %d is %s", c.Migration, phaseName(rec.Phase))
	}
	set := newSlotSet(rec.Slots)
	if n := m.slotPending(set); n > 0 {
		return nil, refuse(CodeMigrationState, "pending orders: %d", n)
	}
	data := m.encodeSlots(rec, set)
	rec.Phase = phaseExported
	return &SlotExportData{
		Migration: rec.ID, Slots: slices.Clone(rec.Slots), Epoch: rec.Epoch,
		Data: data, Checksum: exportChecksum(data),
	}, nil
}

// encodeSlots is the canonical encoding of a migration's slots:
//
//	[exportVersion][Migration][Source][Target][Epoch][Slots]
//	[trader count][trader]...           ascending ID, appendTrader's encoding
//	[settlement count][settlement]...   ascending SettlementID, the snapshot's layout
//
// The header lets the target check the data is for the import naming it.
func (m *Machine) encodeSlots(rec *Migration, set *slotSet) []byte {
	ts := m.slotTraders(set)
	size := 64 + 3*len(rec.Slots)
	for _, t := range ts {
		// Measured: about 80 bytes per follow with one position, ~10 per dedup entry.
		size += 256 + 12*len(t.Dedup.IDs) + 96*len(t.Follows)
	}
	e := encoder{buf: make([]byte, 0, size)}
	e.u8(exportVersion)
	e.uvarint(uint64(rec.ID))
	e.uvarint(uint64(rec.Source))
	e.uvarint(uint64(rec.Target))
	e.uvarint(rec.Epoch)
	e.u16s(rec.Slots)
	e.uvarint(uint64(len(ts)))
	for _, t := range ts {
		appendTrader(&e, t)
	}
	recs := m.slotSettlements(set)
	e.uvarint(uint64(len(recs)))
	for _, r := range recs {
		appendSettlement(&e, r)
	}
	return e.buf
}

// slotSettlements are the settlement records of the slots' traders, by
// ascending SettlementID. They move with their traders: the new owner's
// leader pays the unpaid ones (idempotent by ID) and credits the follow.
func (m *Machine) slotSettlements(set *slotSet) []*SettlementRecord {
	var recs []*SettlementRecord
	for _, r := range m.settlements {
		if set.has(SlotOf(r.Trader)) {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b *SettlementRecord) int { return strings.Compare(a.SettlementID, b.SettlementID) })
	return recs
}

// exportChecksum is the checksum of export data: the state hash's function.
func exportChecksum(data []byte) uint64 { return hashBytes(data) }

// applySlotImport installs exported state on the target: the migration's
// commit point. A replay of an imported migration succeeds and changes
// nothing; an aborted migration is refused forever; a slot this group has
// served or released at an epoch not below the import's is refused.
func (m *Machine) applySlotImport(c *SlotImport) *Refusal {
	switch {
	case c.Migration == 0:
		return refuse(CodeInvalidArgument, "Migration: 0")
	case c.Epoch == 0:
		return refuse(CodeInvalidArgument, "Epoch: 0")
	case c.Source == 0:
		return refuse(CodeInvalidArgument, "Source: 0")
	case m.group == 0:
		return refuse(CodeMigrationState, "group not bootstrapped")
	case c.Source == m.group:
		return refuse(CodeInvalidArgument, "Source: this group")
	}
	if msg := checkSlotList(c.Slots); msg != "" {
		return refuse(CodeInvalidArgument, "%s", msg)
	}
	if rec := m.migrations[c.Migration]; rec != nil {
		switch {
		case rec.Role != roleTarget:
			return refuse(CodeMigrationState, "migration %d: this group is its source", c.Migration)
		case rec.Phase == phaseAborted:
			return refuse(CodeMigrationAborted, "migration %d aborted", c.Migration)
		case !sameMigration(rec, c.Slots, c.Epoch, c.Source):
			return refuse(CodeMigrationState, "migration %d imported with other parameters", c.Migration)
		}
		return nil // replay of the import
	}
	if sum := exportChecksum(c.Data); sum != c.Checksum {
		return refuse(CodeChecksum, "checksum %016x, data hashes to %016x", c.Checksum, sum)
	}
	for _, x := range c.Slots {
		s := &m.slots[x]
		switch s.State {
		case SlotOwned, SlotFrozen:
			if s.Epoch >= c.Epoch {
				return refuse(CodeStaleEpoch, "slot %d served here at epoch %d, not below %d", x, s.Epoch, c.Epoch)
			}
			return refuse(CodeMigrationState, "slot %d already served here at epoch %d", x, s.Epoch)
		case SlotReleased:
			if s.Epoch >= c.Epoch {
				return refuse(CodeStaleEpoch, "slot %d moved away at epoch %d, not below %d", x, s.Epoch, c.Epoch)
			}
		}
	}
	traders, recs, msg := m.decodeSlots(c)
	if msg != "" {
		return refuse(CodeInvalidArgument, "Data: %s", msg)
	}
	if !m.importSound(c.Slots, c.Epoch, traders, recs) {
		// A fixed message: which violation is found first may depend on
		// map order, and every replica must refuse alike.
		return refuse(CodeInvalidArgument, "Data: the traders fail the state invariants")
	}
	// Every check is done: from here the import cannot be refused.
	for _, t := range traders {
		m.traders[t.ID] = t
	}
	for _, r := range recs {
		m.settlements[r.SettlementID] = r
	}
	for _, x := range c.Slots {
		m.slots[x] = Slot{State: SlotOwned, Epoch: c.Epoch}
	}
	m.migrations[c.Migration] = &Migration{
		ID: c.Migration, Slots: slices.Clone(c.Slots), Source: c.Source, Target: m.group,
		Epoch: c.Epoch, Role: roleTarget, Phase: phaseImported,
	}
	return nil
}

// decodeSlots parses and checks import data without touching the machine:
// the header must name this import, every trader must belong to one of its
// slots, be new here and have no pending orders.
func (m *Machine) decodeSlots(c *SlotImport) ([]*TraderState, []*SettlementRecord, string) {
	d := decoder{buf: c.Data, where: "SlotExport"}
	if v := d.u8("Version"); d.err == nil && v != exportVersion {
		return nil, nil, fmt.Sprintf("version %d, this build reads %d", v, exportVersion)
	}
	id := MigrationID(d.uvarint("Migration"))
	src := GroupID(d.uint32("Source"))
	dst := GroupID(d.uint32("Target"))
	epoch := d.uvarint("Epoch")
	slots := d.u16s("Slots", NumSlots)
	n := d.count("Traders", len(c.Data), 1)
	if d.err != nil {
		return nil, nil, d.err.Error()
	}
	switch {
	case id != c.Migration:
		return nil, nil, fmt.Sprintf("for migration %d", id)
	case src != c.Source || dst != m.group:
		return nil, nil, fmt.Sprintf("from group %d to group %d", src, dst)
	case epoch != c.Epoch:
		return nil, nil, fmt.Sprintf("at epoch %d", epoch)
	case !slices.Equal(slots, c.Slots):
		return nil, nil, "for other slots"
	}
	set := newSlotSet(c.Slots)
	traders := make([]*TraderState, 0, n)
	for i := 0; i < n; i++ {
		t := decodeTrader(&d)
		if d.err != nil {
			return nil, nil, d.err.Error()
		}
		switch {
		case i > 0 && t.ID <= traders[i-1].ID:
			return nil, nil, "traders not in ascending ID order"
		case t.Slot != SlotOf(t.ID) || !set.has(t.Slot):
			return nil, nil, fmt.Sprintf("trader %d: slot %d not in the migration", t.ID, t.Slot)
		case m.traders[t.ID] != nil:
			return nil, nil, fmt.Sprintf("trader %d exists here", t.ID)
		}
		for _, f := range t.Follows {
			if f.Pending != 0 {
				return nil, nil, fmt.Sprintf("trader %d: follow of %d has %d pending orders", t.ID, f.Copier, f.Pending)
			}
		}
		traders = append(traders, t)
	}
	n = d.count("Settlements", len(c.Data), 8)
	recs := make([]*SettlementRecord, 0, n)
	for i := 0; i < n; i++ {
		r := decodeSettlement(&d)
		if d.err != nil {
			return nil, nil, d.err.Error()
		}
		switch {
		case i > 0 && r.SettlementID <= recs[i-1].SettlementID:
			return nil, nil, "settlements not in ascending ID order"
		case !set.has(SlotOf(r.Trader)):
			return nil, nil, fmt.Sprintf("settlement %s: trader %d not in the migration", r.SettlementID, r.Trader)
		case m.settlements[r.SettlementID] != nil:
			return nil, nil, fmt.Sprintf("settlement %s exists here", r.SettlementID)
		}
		recs = append(recs, r)
	}
	if err := d.finish(); err != nil {
		return nil, nil, err.Error()
	}
	return traders, recs, ""
}

// importSound reports whether the imported traders and records, on their
// own, keep every state invariant (CheckInvariants and the slot ones). The
// checksum catches corruption in transit; this catches an exporter that
// produced a state no machine may hold, before it is installed here. The
// trial machine shares the group-wide state read-only.
func (m *Machine) importSound(slots []uint16, epoch uint64, traders []*TraderState, recs []*SettlementRecord) bool {
	trial := New()
	trial.group = m.group
	trial.instruments, trial.rules, trial.marks, trial.lastSettled = m.instruments, m.rules, m.marks, m.lastSettled
	for _, t := range traders {
		trial.traders[t.ID] = t
	}
	for _, r := range recs {
		trial.settlements[r.SettlementID] = r
	}
	for _, x := range slots {
		trial.slots[x] = Slot{State: SlotOwned, Epoch: epoch}
	}
	return trial.CheckInvariants() == nil
}

// applySlotRelease ends a migration on the source once its import has
// committed on the target: the slots' traders are dropped and the slots
// answer Moved{Target, Epoch}. Only after an export; a replay succeeds.
func (m *Machine) applySlotRelease(c *SlotRelease) *Refusal {
	rec, ref := m.sourceMigration(c.Migration)
	if ref != nil {
		return ref
	}
	switch rec.Phase {
	case phaseReleased:
		return nil // replay
	case phaseExported:
	default:
		return refuse(CodeMigrationState, "migration %d is %s, not exported", c.Migration, phaseName(rec.Phase))
	}
	set := newSlotSet(rec.Slots)
	if n := m.slotPending(set); n > 0 {
		// Export saw none and a frozen slot plans no order: a broken invariant.
		panic(fmt.Sprintf("raftfsm: release of migration %d with %d pending orders", rec.ID, n))
	}
	for _, t := range m.slotTraders(set) {
		delete(m.traders, t.ID)
	}
	for _, r := range m.slotSettlements(set) {
		delete(m.settlements, r.SettlementID)
	}
	for _, x := range rec.Slots {
		m.slots[x] = Slot{State: SlotReleased, Epoch: rec.Epoch, Migration: rec.ID, MovedTo: rec.Target}
	}
	rec.Phase = phaseReleased
	return nil
}

// applySlotAbort abandons a migration on the target, forever: a later
// import of it is refused. Refused once imported (the commit point has
// passed: the move must go forward). A migration never seen here is
// recorded as aborted; a replay succeeds.
func (m *Machine) applySlotAbort(c *SlotAbort) *Refusal {
	if c.Migration == 0 {
		return refuse(CodeInvalidArgument, "Migration: 0")
	}
	rec := m.migrations[c.Migration]
	switch {
	case rec == nil:
		m.migrations[c.Migration] = &Migration{ID: c.Migration, Target: m.group, Role: roleTarget, Phase: phaseAborted}
		return nil
	case rec.Role != roleTarget:
		return refuse(CodeMigrationState, "migration %d: this group is its source", c.Migration)
	case rec.Phase == phaseImported:
		return refuse(CodeMigrationState, "migration %d imported: it must go forward", c.Migration)
	}
	return nil // replay
}

// applySlotUnfreeze serves a frozen migration's slots again on the source at
// their old epoch. The machine cannot see the target: the rebalancer must
// send it only after SlotAbort succeeded there. Refused once released; a
// replay succeeds.
func (m *Machine) applySlotUnfreeze(c *SlotUnfreeze) *Refusal {
	rec, ref := m.sourceMigration(c.Migration)
	if ref != nil {
		return ref
	}
	switch rec.Phase {
	case phaseUnfrozen:
		return nil // replay
	case phaseFrozen, phaseExported:
	default:
		return refuse(CodeMigrationState, "migration %d is %s", c.Migration, phaseName(rec.Phase))
	}
	for _, x := range rec.Slots {
		s := &m.slots[x]
		if s.State != SlotFrozen || s.Migration != rec.ID {
			panic(fmt.Sprintf("raftfsm: migration %d %s but slot %d is %d/%d", rec.ID, phaseName(rec.Phase), x, s.State, s.Migration))
		}
		s.State, s.Migration = SlotOwned, 0
	}
	rec.Phase = phaseUnfrozen
	return nil
}

// SlotInfo is slot's ownership in this group.
func (m *Machine) SlotInfo(slot uint16) Slot {
	if slot >= NumSlots {
		return Slot{}
	}
	return m.slots[slot]
}

// MigrationInfo is this group's record of migration id, if it has one.
func (m *Machine) MigrationInfo(id MigrationID) (Migration, bool) {
	rec := m.migrations[id]
	if rec == nil {
		return Migration{}, false
	}
	g := *rec
	g.Slots = slices.Clone(rec.Slots)
	return g, true
}

// checkSlotInvariants verifies slot ownership and migration records
// (O(slots + traders + orders)); CheckInvariants' slot half.
//
//   - a trader, and its settlement records, live only in a slot served
//     here (Owned or Frozen);
//   - Owned: epoch >= 1, no migration, no destination; NotOwned: zero entry;
//   - Frozen: by a source migration, frozen or exported, naming the slot,
//     at an epoch below the migration's;
//   - Released: by the released source migration naming it, at its epoch,
//     to its target;
//   - a frozen or exported migration's slots are all Frozen by it, and an
//     exported one's traders have no pending order (its export is final).
func (m *Machine) checkSlotInvariants() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvariant, fmt.Sprintf(format, args...))
	}
	for id, t := range m.traders {
		if st := m.slots[t.Slot].State; st != SlotOwned && st != SlotFrozen {
			return bad("trader %d in slot %d, which is not served here (state %d)", id, t.Slot, st)
		}
	}
	for id, r := range m.settlements {
		if st := m.slots[SlotOf(r.Trader)].State; st != SlotOwned && st != SlotFrozen {
			return bad("settlement %s of trader %d, whose slot is not served here (state %d)", id, r.Trader, st)
		}
	}
	for x := range m.slots {
		s := &m.slots[x]
		switch s.State {
		case SlotNotOwned:
			if *s != (Slot{}) {
				return bad("slot %d not owned but %+v", x, *s)
			}
		case SlotOwned:
			if s.Epoch == 0 || s.Migration != 0 || s.MovedTo != 0 {
				return bad("slot %d owned as %+v", x, *s)
			}
		case SlotFrozen, SlotReleased:
			rec := m.migrations[s.Migration]
			switch {
			case rec == nil || rec.Role != roleSource:
				return bad("slot %d %+v: no source migration", x, *s)
			case !slices.Contains(rec.Slots, uint16(x)):
				return bad("slot %d: migration %d does not name it", x, rec.ID)
			case s.State == SlotFrozen && (rec.Phase != phaseFrozen && rec.Phase != phaseExported || s.Epoch >= rec.Epoch || s.Epoch == 0 || s.MovedTo != 0):
				return bad("slot %d %+v: migration %d %s at epoch %d", x, *s, rec.ID, phaseName(rec.Phase), rec.Epoch)
			case s.State == SlotReleased && (rec.Phase != phaseReleased || s.Epoch != rec.Epoch || s.MovedTo != rec.Target):
				return bad("slot %d %+v: migration %d %s to %d at epoch %d", x, *s, rec.ID, phaseName(rec.Phase), rec.Target, rec.Epoch)
			}
		default:
			return bad("slot %d: state %d", x, s.State)
		}
	}
	exported := new(slotSet)
	anyExported := false
	for id, rec := range m.migrations {
		if rec.ID != id {
			return bad("migration key %d, ID %d", id, rec.ID)
		}
		switch {
		case rec.Role == roleSource && rec.Phase >= phaseFrozen && rec.Phase <= phaseUnfrozen:
			if rec.Source != m.group || checkSlotList(rec.Slots) != "" || rec.Epoch == 0 {
				return bad("source migration %d: %+v", id, *rec)
			}
		case rec.Role == roleTarget && rec.Phase == phaseImported:
			if rec.Target != m.group || checkSlotList(rec.Slots) != "" || rec.Epoch == 0 {
				return bad("imported migration %d: %+v", id, *rec)
			}
		case rec.Role == roleTarget && rec.Phase == phaseAborted:
		default:
			return bad("migration %d: role %d phase %d", id, rec.Role, rec.Phase)
		}
		if rec.Phase != phaseFrozen && rec.Phase != phaseExported {
			continue
		}
		for _, x := range rec.Slots {
			if s := m.slots[x]; s.State != SlotFrozen || s.Migration != id {
				return bad("migration %d %s: slot %d is %+v", id, phaseName(rec.Phase), x, s)
			}
			if rec.Phase == phaseExported {
				exported.add(x)
				anyExported = true
			}
		}
	}
	if anyExported {
		if n := m.slotPending(exported); n > 0 {
			return bad("%d pending orders in exported slots", n)
		}
	}
	return nil
}
