package raftfsm

import "github.com/copytrade/copytrade/raftfsm/fixed"

// Op identifies a command in the replicated log.
//
// ONLY ADD TO THE END. The numeric values are the log format: renumbering or
// reusing one breaks every log and snapshot ever written (pinned by the
// golden-bytes test in codec_golden_test.go).
type Op uint8

const (
	OpInvalid           Op = 0
	OpNoop              Op = 1  // measures the Raft floor; changes nothing but the applied index
	OpBootstrap         Op = 2  // first entry of a new group: its ID and the slots it owns
	OpInstrumentUpsert  Op = 3  // admin
	OpRulesSet          Op = 4  // admin: eligibility rules
	OpTraderApply       Op = 5  // account applies to lead
	OpTraderUpdate      Op = 6  // trader changes its config
	OpTraderPause       Op = 7  // no new followers
	OpTraderResume      Op = 8  //
	OpTraderExit        Op = 9  // stop leading; follows end by policy
	OpFollow            Op = 10 // copier follows trader
	OpFollowUpdate      Op = 11 //
	OpFollowPause       Op = 12 //
	OpFollowResume      Op = 13 //
	OpUnfollow          Op = 14 //
	OpTradeFill         Op = 15 // the signal: one fill of a lead trader
	OpOrderResults      Op = 16 // batched venue results of copier orders
	OpMarkPrices        Op = 17 // batched mark prices: unrealised PnL, stop-loss / take-profit
	OpSettle            Op = 18 // profit share for one period
	OpSettlementPaid    Op = 19 // outcomes of the transfers that pay settlement entries
	OpSlotFreeze        Op = 20 // source: start a migration; the slot answers Moving
	OpSlotExport        Op = 21 // source: the slots' whole state at this index, with a checksum
	OpSlotImport        Op = 22 // target: the commit point of a migration
	OpSlotRelease       Op = 23 // source: slots now answer Moved{target, epoch}
	OpSlotAbort         Op = 24 // target: the migration is abandoned, forever
	OpSlotUnfreeze      Op = 25 // source: serve the slots again after the target's abort
	OpOrderResolve      Op = 26 // admin: a corrected result for a quarantined order
	OpMemberUpdate      Op = 27 // stored membership: a member's addresses, removal, drain (members.go)
	OpActivityConfig    Op = 28 // admin: activity history retention and the consecutive-failure stop (activity.go)
	OpFollowEx          Op = 29 // Follow with an invite code, a close policy, copy of open positions (follow_options.go)
	OpTraderInvite      Op = 30 // a trader's invite-only setting and invite codes (follow_options.go)
	OpOrderResultsTimed Op = 31 // OrderResults with each result's venue time (copy quality, quality.go)
	OpFollowClosePolicy Op = 32 // a follow's close policy, changed after the follow (follow_options.go)
	opEnd               Op = 33 // one past the last valid op; keep last
)

// LogVersion is the first byte of every encoded command.
//
// Version 2 is fill contract v2 (TradeFill's venue fields, Instrument's
// price band and maximum quantity, TraderConfig's signal age limit).
// Version 1 is not read: there is no deployment with a version-1 log, and a
// version-1 fill lacks the venue position the machine now requires.
const LogVersion byte = 2

// Command is one decoded log entry body. Time is not part of the command: it
// is in the Envelope, stamped by the leader.
type Command interface {
	Op() Op
}

// Envelope is what one log entry carries: the leader's timestamp and a command.
// The machine never reads a clock: TimeUnixNano is its only notion of time.
type Envelope struct {
	TimeUnixNano int64
	Cmd          Command
}

// SlotRange is an inclusive range of slots [From, To].
type SlotRange struct {
	From, To uint16
}

// Noop changes nothing but the applied index.
type Noop struct{}

// Bootstrap is the first entry of a new group's log.
type Bootstrap struct {
	Group GroupID
	Slots []SlotRange // owned from the start, at Epoch
	Epoch uint64      // >= 1
}

// Instrument is a perpetual contract's trading rules.
type Instrument struct {
	Symbol      string    // e.g. "BTC-USDT"; 1..MaxSymbolLen bytes
	LotStep     fixed.Dec // quantities are multiples of it; > 0
	TickSize    fixed.Dec // prices are multiples of it; > 0
	MinQty      fixed.Dec // >= LotStep
	MinNotional fixed.Dec // qty × price must reach it; >= 0
	MaxLeverage int32     // 1..MaxLeverage
	// PriceBandBps: a fill priced further than this from the mark is
	// implausible and refused; 0 = no band. At most MaxPriceBandBps.
	PriceBandBps int64
	// MaxOrderQty: a fill above it is implausible and refused; 0 = no maximum.
	MaxOrderQty fixed.Dec
}

// InstrumentUpsert creates or replaces an instrument.
type InstrumentUpsert struct{ Instrument Instrument }

// EligibilityRules decide whether an applicant may lead.
type EligibilityRules struct {
	MinWinRateBps   int64     // of closed trades, in basis points
	MinROIBps       int64     // may be negative
	MinClosedTrades int64     //
	MinEquity       fixed.Dec //
}

// RulesSet replaces the eligibility rules.
type RulesSet struct{ Rules EligibilityRules }

// ApplicantStats are the applicant's trading history, supplied by the
// exchange in the command (the machine cannot look them up).
type ApplicantStats struct {
	WinRateBps   int64
	ROIBps       int64
	ClosedTrades int64
	Equity       fixed.Dec
}

// TraderConfig is what a lead trader sets.
type TraderConfig struct {
	Instruments       []string  // led instruments, sorted, unique; empty = every instrument
	ProfitShareBps    int64     // 0..MaxProfitShareBps; a change applies from the next settlement period
	MaxCopiers        int32     // 0 = DefaultMaxCopiers; at most MaxCopiersLimit
	MinCopyAmount     fixed.Dec // smallest allocation a follow may set; 0 = none
	MaxCopyAmount     fixed.Dec // largest allocation; 0 = none
	LiquidationPolicy LiqPolicy // what happens to copier positions when the trader is liquidated
	// SignalMaxAgeMs: a fill whose venue event time is older than this at the
	// leader's stamp opens nothing (SkipSignalStale); closes are still copied.
	// 0 = DefaultSignalMaxAgeMs; at most MaxSignalMaxAgeMs.
	SignalMaxAgeMs int64
}

// TraderApply asks to make an account a lead trader.
type TraderApply struct {
	Trader AccountID
	Parent AccountID // main account of a sub account; 0 for a main account
	Stats  ApplicantStats
	Config TraderConfig
}

// TraderUpdate replaces a trader's config.
type TraderUpdate struct {
	Trader AccountID
	Config TraderConfig
}

// TraderPause stops new follows; existing ones keep copying.
type TraderPause struct{ Trader AccountID }

// TraderResume undoes TraderPause.
type TraderResume struct{ Trader AccountID }

// TraderExit ends leading. Every follow ends; copier positions are closed at
// market or detached according to Policy (LiqInherit: the trader's
// LiquidationPolicy).
type TraderExit struct {
	Trader AccountID
	Policy LiqPolicy
}

// FollowSettings are what a copier sets for one trader.
type FollowSettings struct {
	Mode              CopyMode
	FixedMargin       fixed.Dec      // FixedAmount: margin per copied order; > 0 in that mode
	Multiplier        fixed.Dec      // Multiplier: k; > 0 in that mode
	Allocation        fixed.Dec      // margin budget of the follow; > 0; Proportional's base; SL/TP base
	LeveragePolicy    LeveragePolicy //
	Leverage          int32          // LeverageFixed: the leverage; always capped by the instrument
	MarginPolicy      MarginPolicy   //
	PositionMode      PositionMode   // the copier account's mode on the venue
	AccountMode       AccountMode    // carried through to orders
	Instruments       []string       // filter, sorted, unique; empty = all the trader leads
	MaxOrderNotional  fixed.Dec      // per copied order; 0 = no cap
	MaxFollowNotional fixed.Dec      // open notional of the follow; 0 = no cap
	SlippageBps       int64          // opens become IOC limits within this band of the trader's price; 0 = market
	StopLossBps       int64          // of Allocation, on realised + unrealised PnL; 0 = off
	TakeProfitBps     int64          // likewise; 0 = off
	LiquidationPolicy LiqPolicy      // LiqInherit = the trader's
}

// Follow starts copying a trader.
type Follow struct {
	Copier       AccountID
	CopierParent AccountID // 0 for a main account
	Trader       AccountID
	Settings     FollowSettings
}

// FollowUpdate replaces a follow's settings; attributed positions stay.
type FollowUpdate struct {
	Copier, Trader AccountID
	Settings       FollowSettings
}

// FollowPause stops new exposure; closes are still copied.
type FollowPause struct{ Copier, Trader AccountID }

// FollowResume undoes FollowPause (and restarts a stopped follow).
type FollowResume struct{ Copier, Trader AccountID }

// Unfollow ends a follow. With ClosePositions its attributed positions are
// closed at market; without, they are detached (left open, unmanaged).
type Unfollow struct {
	Copier, Trader AccountID
	ClosePositions bool
}

// TradeFill is one fill of a lead trader's own order: the signal.
type TradeFill struct {
	Trader      AccountID
	TradeID     int64 // venue trade ID, > 0; dedup key with Trader
	Instrument  string
	Side        Side
	PosSide     PosSide // Long/Short for a hedge-mode trader, Both for one-way
	Qty         fixed.Dec
	Price       fixed.Dec
	Leverage    int32
	MarginMode  MarginMode
	Equity      fixed.Dec // the trader's equity after the fill (Proportional's denominator)
	Liquidation bool      // the trader was liquidated: copiers follow the liquidation policy
	MarkPrice   fixed.Dec // stamped by the leader; 0 if unknown

	// Fill contract v2 (design §3, "What the machine trusts from the venue").

	// PositionAfter is the venue's figure for the trader's position on
	// (Instrument, PosSide) after the fill: >= 0 for Long/Short, the signed
	// net (long > 0, short < 0) for Both. The close fraction comes from it.
	PositionAfter fixed.Dec
	Fee           fixed.Dec // the trader's fee for the fill, >= 0: trader-side PnL is net of it
	VenueOrderID  string    // the venue's ID of the trader's order (audit); <= MaxVenueOrderIDLen
	// ClientOrderID of the trader's order; one copytrade generated
	// (IsCopiedOrderID) is never a signal: CodeCopiedOrder.
	ClientOrderID string
	// EventTimeUnixNano is the venue's time of the fill, > 0: the dedup
	// horizon and the signal age are measured in it.
	EventTimeUnixNano int64
}

// OrderResult is the venue's final answer for one copier order (IOC: every
// answer is final).
type OrderResult struct {
	ClientOrderID string
	Status        OrderStatus // Filled, PartiallyFilled or Rejected
	FilledQty     fixed.Dec
	AvgPrice      fixed.Dec
	Fee           fixed.Dec // >= 0, in the settlement currency
	Reason        string    // venue reason code for rejections
	// VenueTimeUnixNano is when the venue executed the order (copy latency,
	// quality.go). Carried only by OrderResultsTimed: OrderResults' and
	// OrderResolve's encodings leave it out (0 = unknown).
	VenueTimeUnixNano int64
}

// OrderResults is a batch of results (the leader batches ≈1 ms of them).
type OrderResults struct{ Results []OrderResult }

// MarkPrice of one instrument.
type MarkPrice struct {
	Instrument string
	Price      fixed.Dec
}

// MarkPrices is a batch of mark prices.
type MarkPrices struct{ Prices []MarkPrice }

// Settle computes profit share for Period. Periods are numbered by the
// leader (days or weeks since the Unix epoch, UTC) and settled in order.
type Settle struct{ Period uint64 }

// SettlementOutcome records whether the transfer paying one entry succeeded.
type SettlementOutcome struct {
	SettlementID string
	Paid         bool
	Reason       string // when not paid
}

// SettlementPaid is a batch of outcomes.
type SettlementPaid struct{ Outcomes []SettlementOutcome }

// SlotFreeze starts moving Slots to Target at Epoch (source side).
type SlotFreeze struct {
	Migration MigrationID
	Slots     []uint16 // sorted, unique
	Target    GroupID
	Epoch     uint64 // the epoch the target will own them at: > every current epoch of the slots
}

// SlotExport captures the frozen slots' whole state at this log index.
type SlotExport struct{ Migration MigrationID }

// SlotImport installs exported state (target side): the commit point.
type SlotImport struct {
	Migration MigrationID
	Source    GroupID
	Slots     []uint16
	Epoch     uint64
	Data      []byte
	Checksum  uint64 // of Data, as SlotExport returned it
}

// SlotRelease makes the source answer Moved{Target, Epoch} for the slots and
// drops their state.
type SlotRelease struct{ Migration MigrationID }

// SlotAbort abandons a migration on the target; later imports of it are refused.
type SlotAbort struct{ Migration MigrationID }

// SlotUnfreeze serves the slots again on the source after the target aborted.
type SlotUnfreeze struct{ Migration MigrationID }

func (Noop) Op() Op             { return OpNoop }
func (Bootstrap) Op() Op        { return OpBootstrap }
func (InstrumentUpsert) Op() Op { return OpInstrumentUpsert }
func (RulesSet) Op() Op         { return OpRulesSet }
func (TraderApply) Op() Op      { return OpTraderApply }
func (TraderUpdate) Op() Op     { return OpTraderUpdate }
func (TraderPause) Op() Op      { return OpTraderPause }
func (TraderResume) Op() Op     { return OpTraderResume }
func (TraderExit) Op() Op       { return OpTraderExit }
func (Follow) Op() Op           { return OpFollow }
func (FollowUpdate) Op() Op     { return OpFollowUpdate }
func (FollowPause) Op() Op      { return OpFollowPause }
func (FollowResume) Op() Op     { return OpFollowResume }
func (Unfollow) Op() Op         { return OpUnfollow }
func (TradeFill) Op() Op        { return OpTradeFill }
func (OrderResults) Op() Op     { return OpOrderResults }
func (MarkPrices) Op() Op       { return OpMarkPrices }
func (Settle) Op() Op           { return OpSettle }
func (SettlementPaid) Op() Op   { return OpSettlementPaid }
func (SlotFreeze) Op() Op       { return OpSlotFreeze }
func (SlotExport) Op() Op       { return OpSlotExport }
func (SlotImport) Op() Op       { return OpSlotImport }
func (SlotRelease) Op() Op      { return OpSlotRelease }
func (SlotAbort) Op() Op        { return OpSlotAbort }
func (SlotUnfreeze) Op() Op     { return OpSlotUnfreeze }
