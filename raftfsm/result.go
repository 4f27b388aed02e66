package raftfsm

import (
	"fmt"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Code is a deterministic refusal: every replica refuses the same command the
// same way, so a refusal is a result value, never an error or a panic.
// Codes are stable (they cross the RPC edge): ONLY ADD TO THE END.
type Code uint16

const (
	CodeOK                Code = 0
	CodeInvalidArgument   Code = 1  // a field is out of range; Refusal.Msg names it
	CodeUnknownInstrument Code = 2  //
	CodeUnknownTrader     Code = 3  // no such trader in this group
	CodeNotLeadTrader     Code = 4  // trader exists but does not lead (exited, rejected)
	CodeTraderExists      Code = 5  // apply for an account that already leads
	CodeIneligible        Code = 6  // applicant fails the rules; Msg says which
	CodeUnknownFollow     Code = 7  //
	CodeFollowExists      Code = 8  //
	CodeSelfFollow        Code = 9  // an account never follows itself
	CodeCopierCapReached  Code = 10 // trader has MaxCopiers follows
	CodeTraderPaused      Code = 11 // no new follows while paused
	CodeDuplicateFill     Code = 12 // (trader, trade ID) already applied
	CodeFillTooOld        Code = 13 // STALE: venue time older than the dedup window (dedup.go): cannot tell if seen
	CodeNotOwned          Code = 14 // slot not owned and no known destination
	CodeMoved             Code = 15 // slot moved: Refusal.Group, Refusal.Epoch
	CodeMoving            Code = 16 // slot frozen for a migration: retry later
	CodePeriodSettled     Code = 17 // settle for a period already settled
	CodePeriodOutOfOrder  Code = 18 // settle for a period before the last settled one
	CodeMigrationState    Code = 19 // migration command in the wrong state (Msg says which)
	CodeMigrationAborted  Code = 20 // import of an aborted migration
	CodeStaleEpoch        Code = 21 // import at an epoch not above the one owned
	CodeChecksum          Code = 22 // import data does not match its checksum
	CodeOverflow          Code = 23 // fixed-point overflow in the command's arithmetic
	CodeBootstrapped      Code = 24 // bootstrap of a group that already has one
	CodeAllocationRange   Code = 25 // allocation outside the trader's min/max copy amount
	CodeCopiedOrder       Code = 26 // the fill's client order ID is one copytrade generated: never a signal
	CodeImplausibleFill   Code = 27 // price outside the band around the mark, qty above the maximum, an overflowing figure; Msg names the field
	CodeInviteRequired    Code = 28 // the trader is invite-only and the follow carries no invite code
	CodeInviteInvalid     Code = 29 // the invite code is unknown, revoked, expired or used up
)

var codeNames = [...]string{
	"OK", "INVALID_ARGUMENT", "UNKNOWN_INSTRUMENT", "UNKNOWN_TRADER", "NOT_LEAD_TRADER",
	"TRADER_EXISTS", "INELIGIBLE", "UNKNOWN_FOLLOW", "FOLLOW_EXISTS", "SELF_FOLLOW",
	"COPIER_CAP_REACHED", "TRADER_PAUSED", "DUPLICATE_FILL", "FILL_TOO_OLD", "NOT_OWNED",
	"MOVED", "MOVING", "PERIOD_SETTLED", "PERIOD_OUT_OF_ORDER", "MIGRATION_STATE",
	"MIGRATION_ABORTED", "STALE_EPOCH", "CHECKSUM", "OVERFLOW", "BOOTSTRAPPED",
	"ALLOCATION_RANGE", "COPIED_ORDER", "IMPLAUSIBLE_FILL", "INVITE_REQUIRED", "INVITE_INVALID",
}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("CODE_%d", uint16(c))
}

// Refusal explains why a command changed nothing. It implements error so the
// shard can return it, but it is a value every replica computes alike.
type Refusal struct {
	Code  Code
	Msg   string
	Group GroupID // CodeMoved: the slot's owner
	Epoch uint64  // CodeMoved: the owner's epoch
}

func (r *Refusal) Error() string {
	if r.Code == CodeMoved {
		return fmt.Sprintf("%s: %s (group %d, epoch %d)", r.Code, r.Msg, r.Group, r.Epoch)
	}
	return r.Code.String() + ": " + r.Msg
}

// SkipReason says why a follow got no order for a signal. Stable codes:
// ONLY ADD TO THE END.
type SkipReason uint8

const (
	SkipNone                  SkipReason = iota
	SkipPaused                           // follow paused or stopped: no new exposure
	SkipInstrumentNotFollowed            // instrument outside the follow's filter
	SkipBelowMinQty                      // sized below the instrument's min qty / lot step
	SkipBelowMinNotional                 // sized below the instrument's min notional
	SkipAllocationExhausted              // no margin left in the follow's allocation
	SkipNotionalCap                      // per-follow notional cap reached
	SkipNoPosition                       // a shrink, but nothing attributed to close
	SkipOverflow                         // sizing overflowed int64: refused for this copier only
	SkipDetached                         // liquidation/exit with the detach policy: positions left open
	SkipInvalidPrice                     // no usable price (zero price, zero equity for Proportional)
	SkipSignalStale                      // the fill's venue time is older than the trader's signal age limit: no open
	SkipCloseOwed                        // a shrink while the copier's open is pending: closed when its result arrives (owed.go)
	SkipLeftToCopier                     // the follow leaves the trader's closes to the copier (ClosePolicy)
)

var skipNames = [...]string{
	"NONE", "PAUSED", "INSTRUMENT_NOT_FOLLOWED", "BELOW_MIN_QTY", "BELOW_MIN_NOTIONAL",
	"ALLOCATION_EXHAUSTED", "NOTIONAL_CAP", "NO_POSITION", "OVERFLOW", "DETACHED", "INVALID_PRICE",
	"SIGNAL_STALE", "CLOSE_OWED", "LEFT_TO_COPIER",
}

func (s SkipReason) String() string {
	if int(s) < len(skipNames) {
		return skipNames[s]
	}
	return fmt.Sprintf("SKIP_%d", uint8(s))
}

// OrderIntent is a copier order the leader must place on the venue. It is
// also what the machine records as pending under ClientOrderID.
type OrderIntent struct {
	ClientOrderID string // deterministic, <= MaxClientOrderIDLen
	Copier        AccountID
	Trader        AccountID
	Instrument    string
	Side          Side
	PosSide       PosSide   // Long/Short for a hedge-mode copier, Both for one-way
	Qty           fixed.Dec //
	LimitPrice    fixed.Dec // 0 = market; else IOC limit
	ReduceOnly    bool      // hedge-mode closes
	Leverage      int32
	MarginMode    MarginMode
	AccountMode   AccountMode
	Effect        OrderEffect // open or close of attributed exposure
	AttrSide      PosSide     // Long or Short: the attributed position it changes
}

// Skip is a follow that got no order for a signal, and why.
type Skip struct {
	Copier   AccountID
	Reason   SkipReason
	Effect   OrderEffect // the leg: open (growth) or close (shrink)
	AttrSide PosSide     // the attributed side the leg would have changed
	Cap      Cap         // the cap that bound when one decided the skip
	// Instrument: set by copy-open on follow (the position skipped); a
	// signal's skips are of the signal's instrument.
	Instrument string
}

// Cap names the sizing cap that decided a skip (ActivityRecord.Cap). Stable
// codes: ONLY ADD TO THE END.
type Cap uint8

const (
	CapNone           Cap = iota
	CapOrderNotional      // FollowSettings.MaxOrderNotional
	CapFollowNotional     // FollowSettings.MaxFollowNotional
	CapAllocation         // FollowSettings.Allocation (margin budget)
)

var capNames = [...]string{"NONE", "MAX_ORDER_NOTIONAL", "MAX_FOLLOW_NOTIONAL", "ALLOCATION"}

func (c Cap) String() string {
	if int(c) < len(capNames) {
		return capNames[c]
	}
	return fmt.Sprintf("CAP_%d", uint8(c))
}

// Result is what Apply returns for one log entry. Refusal == nil means the
// command was applied. Slices are freshly allocated per apply; the caller
// owns them.
type Result struct {
	Index   uint64
	Op      Op
	Refusal *Refusal

	// Fan-out (TradeFill, MarkPrices, TraderExit, Unfollow, OrderResults):
	// orders to dispatch, in dispatch order, and follows that got none.
	Orders []OrderIntent
	Skips  []Skip
	// planned are the pending orders behind Orders and their follows,
	// index for index, for the activity history (activity.go).
	planned []plannedOrder

	// TradeFill: the venue's position before the fill differed from the
	// machine's tracked one (counted in TraderState.Mismatches; the venue's
	// figure was used). The shard logs it.
	PositionMismatch bool

	// OrderResults: how many results matched a pending order; the rest were
	// unknown or already final (a repeat after failover) and changed nothing.
	ResultsApplied, ResultsIgnored int

	// TraderApply: the outcome for an applicant who was refused for
	// eligibility is a Refusal with CodeIneligible.

	// Settle: the entries created for the period (to pay by transfer).
	Settlements []SettlementEntry

	// SlotExport: the slots' state and its checksum at Index.
	Export *SlotExportData

	// OrderResults: orders put in quarantine by this batch (a report that
	// breaks the gateway's contract), with the reason.
	Quarantined []Quarantine
}

// SettlementEntry is one payable amount from a copier to a trader for a
// period, or a trader's total (Copier == 0).
type SettlementEntry struct {
	SettlementID string // deterministic; the idempotency key of the transfer that pays it
	Period       uint64
	Trader       AccountID
	Copier       AccountID // 0 on the per-trader total
	Amount       fixed.Dec // > 0
}

// SlotExportData is the exported state of a migration's slots.
type SlotExportData struct {
	Migration MigrationID
	Slots     []uint16
	Epoch     uint64
	Data      []byte
	Checksum  uint64
}

// plannedOrder is a pending order the entry planned and the follow it is for.
type plannedOrder struct {
	o *OrderState
	f *FollowState
}
