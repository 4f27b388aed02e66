package raftfsm

import "github.com/copytrade/copytrade/raftfsm/fixed"

// The machine's state. Every field that is replicated is in the snapshot
// (snapshot.go) and in the state hash; whoever adds a field adds it there in
// the same change. Maps are never iterated where order could leak into a
// result, a snapshot or a hash: iterate sorted keys instead.

// TraderPosition is a lead trader's own position on one instrument and side
// (one-way traders' net position is kept as Long or Short).
type TraderPosition struct {
	Instrument string
	Side       PosSide   // Long or Short
	Qty        fixed.Dec // Invariant: Qty >= 0
	AvgEntry   fixed.Dec // Cost / Qty, half-even (display and marks; PnL uses Cost)
	Realized   fixed.Dec // realised by partial closes so far, net of fees: decides win or loss when it closes (stats.go)
	// Cost is the entry cost of Qty: Σ qty × price of the opening fills less
	// what closes released (costbasis.go). Closing everything releases all
	// of it, so a round trip realises exactly exit value − entry cost.
	Cost fixed.Dec
}

// Position is the part of a copier's venue position attributed to one follow.
type Position struct {
	Instrument   string
	Side         PosSide    // Long or Short (the attribution side, whatever the venue mode)
	MarginMode   MarginMode // of the last open: every close of this position uses it
	Qty          fixed.Dec  // filled, attributed. Invariant: Qty >= 0
	AvgEntry     fixed.Dec
	Margin       fixed.Dec // margin held by the filled Qty
	PendingClose fixed.Dec // qty in pending close orders. Invariant: 0 <= PendingClose <= Qty
	PendingOpen  fixed.Dec // qty in pending open orders
	Leverage     int32     // of the last open
	// OpenGen counts the times the trader went flat on this side while opens
	// were pending: an open planned in an older generation is owed in full.
	OpenGen uint32
	Cost    fixed.Dec // entry cost of Qty (costbasis.go)
	// OpenKeep is the fraction (fixed.One = all) of what the pending opens
	// will fill that the copy still wants: every shrink of the trader while
	// opens are pending multiplies it by the venue's after/before, and an
	// open's result closes the rest (owed.go). Reset to One when an open is
	// planned with none pending. Invariant: 0 < OpenKeep <= One while
	// PendingOpen > 0.
	OpenKeep fixed.Dec
	// Target is the exact quantity the copy should hold (owed.go): fills of
	// opens, scaled by every later shrink of the trader. Closes bring Qty to
	// it rounded to the lot step. Invariant: Target >= 0.
	Target fixed.Dec
}

// ProfitShare is a follow's profit-share account (issue 3 fills it in).
type ProfitShare struct {
	CumNetPnL fixed.Dec // realised PnL net of fees, since the follow started
	HWM       fixed.Dec // high-water mark. Invariant: never falls
	Accrued   fixed.Dec // share owed to the trader, total ever
	Settled   fixed.Dec // share paid. Invariant: Settled <= Accrued
}

// FollowState is one copier → trader follow and its ledger.
type FollowState struct {
	Copier       AccountID
	CopierParent AccountID
	Trader       AccountID
	Status       FollowStatus
	StopReason   string // why Stopped/Ended (stop-loss, take-profit, liquidation, exit, unfollow)
	Settings     FollowSettings
	Positions    []Position // sorted by (Instrument, Side); entries with all-zero quantities are removed
	Detached     []Position // positions left open by a detach policy: no longer managed, still the copier's
	// MarginInUse is the margin held by filled positions plus the margin
	// reserved by pending opens.
	// Invariant: MarginInUse <= Settings.Allocation at the moment an order is planned.
	MarginInUse   fixed.Dec
	RealizedPnL   fixed.Dec // gross, since the follow started
	Fees          fixed.Dec // paid on copied orders
	Pending       int32     // pending orders of this follow. Invariant: matches Machine.orders
	Share         ProfitShare
	UnrealizedPnL fixed.Dec // at the latest mark prices (issue 3)
	// Failures counts the follow's opens in a row that filled nothing
	// (rejected by the venue, or an IOC outside the band); a fill resets it.
	// At the group's MaxConsecutiveFailures the follow is paused with
	// StopReason CONSECUTIVE_FAILURES (activity.go).
	Failures int32
	// ClosePolicy: whether the trader's closes are copied (follow_options.go).
	ClosePolicy ClosePolicy

	// act is this follow's activity log (activity.go): a cache, not state,
	// saving the two map lookups per record; nil until the first record, after
	// a Restore, or once pruneActivity removed the log.
	act *activityLog
}

// TraderState is one lead trader and everything its slot owns about it.
type TraderState struct {
	ID        AccountID
	Parent    AccountID
	Slot      uint16
	Status    TraderStatus
	Reason    string // why Rejected
	Config    TraderConfig
	ShareBps  int64 // profit-share ratio in force for the current period (Config's applies from the next)
	Positions []TraderPosition
	Equity    fixed.Dec // from the latest fill
	// Follows sorted by Copier: the fan-out list. Ended follows are removed
	// once they have no pending orders and no positions.
	Follows   []*FollowState
	Dedup     DedupWindow
	OrderSeq  uint64 // last client order sequence used; IDs are derived from it
	SignalSeq uint64 // fills applied
	Stats     TraderStats
	// Mismatches counts fills whose venue position before the fill
	// (PositionAfter ∓ Qty) differed from the machine's tracked position:
	// the venue's figure was used (design §3).
	Mismatches uint64
	// InviteOnly: new follows need one of Invites (follow_options.go).
	InviteOnly bool
	Invites    []Invite // sorted by Code, at most MaxInvitesPerTrader
}

// TraderStats feed the leaderboard (issue 3 fills them in).
type TraderStats struct {
	Days           []DayStat // daily buckets, ascending Day, at most 90
	Wins, Losses   int64     // closed positions with positive / non-positive realised PnL
	PeakEquity     fixed.Dec
	MaxDrawdownBps int64
	CopierPnL      fixed.Dec // copiers' total realised PnL net of fees
}

// DayStat is one UTC day of a trader's realised PnL.
type DayStat struct {
	Day         int64 // days since the Unix epoch
	RealizedPnL fixed.Dec
	Equity      fixed.Dec // the trader's equity at the day's last fill (ROI base)
}

// OrderState is a copier order the machine planned and has no final result for.
type OrderState struct {
	OrderIntent
	Signal         int64 // trade ID that caused it (0 for mark-price / unfollow / exit closes)
	ReservedMargin fixed.Dec
	// Opens: the position's OpenKeep and OpenGen when the order was planned
	// (owed.go). Closes: Retry is how many rejected closes this one repeats.
	Keep  fixed.Dec
	Gen   uint32
	Retry uint8

	// Where the order's activity record is (activity.go): a cache, not state
	// (not in the snapshot; nil after a Restore, when findOrderRecord scans
	// the log). It saves a result two map lookups and a scan per order.
	act    *activityLog
	actPos uint64 // the record's activityLog.pushed position
}

// Slot is one hash slot's ownership in this group.
type Slot struct {
	State     SlotState
	Epoch     uint64
	Migration MigrationID // the migration freezing or having moved it
	MovedTo   GroupID     // SlotReleased: the new owner
}

// Migration is a slot move this group takes part in.
type Migration struct {
	ID     MigrationID
	Slots  []uint16
	Source GroupID
	Target GroupID
	Epoch  uint64
	Role   uint8 // 1 source, 2 target
	Phase  uint8 // source: frozen, exported, released, unfrozen; target: imported, aborted
	// FrozenAt is the TimeUnixNano of the SlotFreeze (source side; 0 on the target, and
	// for a freeze restored from a version-1 snapshot, which did not record it).
	FrozenAt int64
}

// SettlementRecord is a settlement entry and whether its transfer was paid.
type SettlementRecord struct {
	SettlementEntry
	Paid     bool
	Attempts int32  // outcomes recorded that were not paid
	Reason   string // last failure
}

// Machine is the replicated state of one shard group. It knows nothing of
// hashicorp/raft: the shard package hands it log entries. It is not safe for
// concurrent use: Apply, Snapshot, Restore and the queries must be serialized
// by the caller.
type Machine struct {
	group   GroupID // 0 until Bootstrap
	applied uint64  // index of the last applied entry. Invariant: increases by Apply
	now     int64   // TimeUnixNano of the entry being applied: the machine's only clock

	instruments map[string]*Instrument
	rules       EligibilityRules
	traders     map[AccountID]*TraderState
	orders      map[string]*OrderState // pending copier orders by client order ID

	slots      [NumSlots]Slot
	migrations map[MigrationID]*Migration

	marks       map[string]fixed.Dec         // latest mark price per instrument
	lastSettled uint64                       // highest settled period; 0 = none yet
	settlements map[string]*SettlementRecord // by SettlementID: unpaid, and paid ones of the last periods

	quarantine map[string]string       // pending orders held for an admin, by client order ID → reason (quarantine.go); nil when empty
	members    map[string]*GroupMember // stored membership by member ID (members.go)

	// Activity history (activity.go): a read model derived from applied
	// entries, in the snapshot so every replica and every restart answers
	// alike. copier → trader → records; nil when empty.
	actCfg   ActivityConfig
	activity map[AccountID]map[AccountID]*activityLog
	actStr   actStrings // the records' strings (activity_store.go)
	// actGen counts BeginSnapshot calls: a log whose gen differs may share its
	// ring with an open snapshot and copies it before a write (activity_freeze.go).
	actGen uint64
}
