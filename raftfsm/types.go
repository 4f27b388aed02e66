package raftfsm

// Identifiers and small enums shared by commands, results and state.
// Every enum is encoded as its numeric value in the log: values are
// append-only, never renumbered.

// AccountID is an exchange account (main or sub account). Always > 0.
type AccountID int64

// GroupID names a shard group. Always > 0 once bootstrapped.
type GroupID uint32

// MigrationID names one slot move, chosen by the rebalancing tool. Always > 0.
type MigrationID uint64

// NumSlots is the number of hash slots traders are partitioned into.
const NumSlots = 16384

// Limits on everything (TigerBeetle style): each is checked where the value enters.
const (
	MaxSymbolLen         = 32     // instrument symbol bytes
	MaxClientOrderIDLen  = 36     // venue limit on client order IDs
	MaxInstrumentsLed    = 64     // instruments a trader may lead / a follow may filter
	MaxCopiersLimit      = 20000  // the highest MaxCopiers a trader may configure
	DefaultMaxCopiers    = 500    // MaxCopiers when the trader config leaves it 0
	MaxProfitShareBps    = 3000   // 30 %
	MaxLeverage          = 200    // absolute ceiling on any leverage value
	MaxBatch             = 20000  // items in one batched command (results, marks, slots)
	MaxReasonLen         = 128    // venue reject reason bytes kept in state
	DedupWindowSize      = 4096   // fills remembered per trader (dedup.go)
	MaxPositionsPerTrade = 2 * 64 // instrument × side entries per trader or follow
	MaxVenueOrderIDLen   = 64     // TradeFill.VenueOrderID bytes
	MaxPriceBandBps      = 10000  // Instrument.PriceBandBps: 100 % around the mark
	// Signal age (TraderConfig.SignalMaxAgeMs): the default and the ceiling.
	DefaultSignalMaxAgeMs = 2000
	MaxSignalMaxAgeMs     = 3_600_000
)

// Side of an order or a fill.
type Side uint8

const (
	SideInvalid Side = iota
	Buy
	Sell
)

// PosSide is the position side of an order or a fill on the venue.
// Hedge-mode accounts use Long and Short; one-way accounts use Both.
type PosSide uint8

const (
	PosSideInvalid PosSide = iota
	Long
	Short
	Both
)

// MarginMode of a position on the venue.
type MarginMode uint8

const (
	MarginInvalid MarginMode = iota
	Cross
	Isolated
)

// PositionMode of an account on the venue.
type PositionMode uint8

const (
	PositionModeInvalid PositionMode = iota
	Hedge
	OneWay
)

// AccountMode is the copier's venue account mode, carried through to its
// orders unchanged (the venue interprets it).
type AccountMode uint8

const (
	AccountModeDefault AccountMode = iota
	AccountModeClassic
	AccountModeUnified
	AccountModePortfolio
)

// CopyMode sizes a copier's order from the trader's fill.
type CopyMode uint8

const (
	CopyModeInvalid CopyMode = iota
	FixedAmount              // margin M per copied order: qty = M × leverage / price
	Multiplier               // qty = k × trader qty
	Proportional             // qty = trader qty × allocation / trader equity
)

// LeveragePolicy picks a copied order's leverage.
type LeveragePolicy uint8

const (
	LeverageInvalid      LeveragePolicy = iota
	LeverageFollowTrader                // the trader's fill leverage
	LeverageFixed                       // FollowSettings.Leverage
)

// MarginPolicy picks a copied order's margin mode.
type MarginPolicy uint8

const (
	MarginPolicyInvalid MarginPolicy = iota
	MarginFollowTrader
	MarginForceCross
	MarginForceIsolated
)

// LiqPolicy says what happens to copier positions when the trader is
// liquidated or exits.
type LiqPolicy uint8

const (
	LiqInherit LiqPolicy = iota // follow: use the trader's policy; trader: means LiqClose
	LiqClose                    // close copier positions at market
	LiqDetach                   // leave them open, no longer managed by the copy
)

// TraderStatus of a lead trader.
type TraderStatus uint8

const (
	TraderNone     TraderStatus = iota
	TraderActive                // leads: fills are copied, new followers accepted
	TraderPaused                // fills still copied; no new followers
	TraderExited                // no longer leads; follows ended
	TraderRejected              // applied and was not eligible (kept for the reason)
)

// FollowStatus of a copier → trader follow.
type FollowStatus uint8

const (
	FollowNone    FollowStatus = iota
	FollowActive               // copies opens and closes
	FollowPaused               // copies closes only: no new exposure
	FollowStopped              // stopped by stop-loss / take-profit / liquidation; closes only while positions remain
	FollowEnded                // unfollowed or trader exited; kept until its last order settles
)

// OrderStatus of a copier order.
type OrderStatus uint8

const (
	OrderInvalid OrderStatus = iota
	OrderPending             // planned and dispatched, no final result yet
	OrderFilled
	OrderPartiallyFilled // IOC: final with filled < qty
	OrderRejected
)

// OrderEffect says whether a copier order opens or closes attributed exposure.
type OrderEffect uint8

const (
	EffectInvalid OrderEffect = iota
	EffectOpen
	EffectClose
)

// SlotState of one hash slot in this group.
type SlotState uint8

const (
	SlotNotOwned SlotState = iota // never owned here: refuse with Moved if a destination is known, else NotOwned
	SlotOwned
	SlotFrozen   // migration under way: fills and config refused with Moving, results accepted
	SlotReleased // moved away: refuse with Moved{MovedTo, Epoch}
)
