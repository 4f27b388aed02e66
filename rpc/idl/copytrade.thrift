// copytrade.thrift — the CopyTrade service: what the trading system, the admin tools and the
// exchange UI call. Served by every shard-group node (the leader answers writes) and, with the
// same IDL, by the stateless router, which forwards to the group that owns the trader's slot.
//
// Conventions
//   - Every price, quantity and amount is a decimal string ("12.5", "0.001"), at most 8
//     fractional digits; never a float. Accounts are i64 (> 0).
//   - Enum values mirror raftfsm's numeric values. 0 is invalid unless the enum names it.
//   - Field 1 of every request about one trader is `i64 trader`: the routing key. A router
//     reads field 1 to pick the slot's group (slot = raftfsm.SlotOf(trader)) and forwards the
//     request struct unchanged (same IDL on both sides: no re-encoding of the payload).
//     Copier-wide queries (ListCopierFollows, GetPositions without a trader) and group calls
//     (slots, status, no-op, membership) carry no trader and are scatter-gathered or sent to
//     a named group.
//   - Errors are Kitex business status errors (kerrors.BizStatusError, carried in TTHeader)
//     with a stable ErrorCode and, for some codes, extra key/values (see ErrorCode). Per-fill
//     outcomes inside a SubmitFills batch are values (FillOutcome.code), never a batch error.
//     A caller over plain framed or buffered binary (any Thrift client, no TTHeader) gets
//     the same error as the declared exception CopyTradeError (code, message, extra).
//
// ONLY ADD TO THE END of enums and structs: field IDs and enum values are the wire format.

namespace go copytrade

// ───────────────────────────── common ─────────────────────────────
// Shared by every method; the router depends on these staying stable.

// Stable error codes of BizStatusError.Code().
//
// 1000 + raftfsm.Code: a deterministic refusal of the state machine, 1:1 (1003 is
// raftfsm.CodeUnknownTrader, 1012 CodeDuplicateFill, ...). Two of them carry extras:
//   1015 MOVED   extra: group (the slot's owner), epoch — refresh the slot map, accept only
//                a higher epoch, resend there.
//   1016 MOVING  the slot is frozen for a migration: retry with backoff.
// 2000 and up: the edge and the node, not the machine.
enum ErrorCode {
    OK                      = 0
    REFUSED_INVALID_ARGUMENT = 1001  // the machine refused a field (message names it)
    UNKNOWN_INSTRUMENT      = 1002
    UNKNOWN_TRADER          = 1003
    NOT_LEAD_TRADER         = 1004  // the trader exists but does not lead: fill dropped before Raft
    TRADER_EXISTS           = 1005
    INELIGIBLE              = 1006
    UNKNOWN_FOLLOW          = 1007
    FOLLOW_EXISTS           = 1008
    SELF_FOLLOW             = 1009
    COPIER_CAP_REACHED      = 1010
    TRADER_PAUSED           = 1011
    DUPLICATE_FILL          = 1012
    FILL_TOO_OLD            = 1013
    NOT_OWNED               = 1014
    MOVED                   = 1015  // extra: group, epoch
    MOVING                  = 1016
    PERIOD_SETTLED          = 1017
    PERIOD_OUT_OF_ORDER     = 1018
    MIGRATION_STATE         = 1019
    MIGRATION_ABORTED       = 1020
    STALE_EPOCH             = 1021
    CHECKSUM                = 1022
    OVERFLOW                = 1023
    BOOTSTRAPPED            = 1024
    ALLOCATION_RANGE        = 1025
    COPIED_ORDER            = 1026  // the fill's client order ID is one copytrade generated: never a signal
    IMPLAUSIBLE_FILL        = 1027  // price outside the instrument's band around the mark, qty above its maximum, or a figure that would overflow (message names the field)
    INVITE_REQUIRED         = 1028  // the trader is invite-only: the follow needs an invite code
    INVITE_INVALID          = 1029  // the invite code is unknown, revoked, expired or used up

    NOT_LEADER              = 2001  // extra: leader_addr (the leader's RPC address; empty if unknown), leader_id
    UNAVAILABLE             = 2002  // no quorum, gateway down, shutting down: retry later; message says which
    DEADLINE                = 2003  // the request's deadline passed first; the command may still commit
    INVALID_ARGUMENT        = 2004  // edge validation; the message names the field
    UNAUTHENTICATED         = 2005  // reserved: missing, expired or forged token (router issue)
    FORBIDDEN               = 2006  // reserved: the identity may not do this (router issue)
    RATE_LIMITED            = 2007  // reserved
    INTERNAL                = 2099  // a bug; the message says where
}

// Extra keys of BizStatusError.BizExtra().
const string EXTRA_LEADER_ADDR = "leader_addr"
const string EXTRA_LEADER_ID   = "leader_id"
const string EXTRA_GROUP       = "group"
const string EXTRA_EPOCH       = "epoch"

// How long SubmitFill(s) and fan-out commands wait before answering.
enum WaitFor {
    COMMIT = 1  // the command is committed and applied: orders are planned (and being dispatched)
    ACKED  = 2  // and every copier order it planned has a final result from the gateway
}

// Read options of every query.
struct ReadOptions {
    1: bool allow_stale   // answer from any replica's applied state, without confirming leadership
}

// Stage timings of one command, in microseconds, measured on the leader.
struct Timings {
    1: i64 queue_us     // received → proposed (validation, leader checks, stamping)
    2: i64 commit_us    // proposed → committed by a quorum and applied on the leader
    3: i64 dispatch_us  // applied → every planned order answered by the gateway (0 with COMMIT)
    4: i64 total_us     // received → answered
}

// Where a command landed in the log and what it set in motion.
struct CommandResponse {
    1: i64 index            // raft log index it was applied at
    2: i32 orders_planned   // copier orders it produced (exit, unfollow with close, ...)
    3: i32 placed           // of them, FILLED or PARTIALLY_FILLED at the gateway (ACKED only)
    4: i32 rejected         // REJECTED by the gateway (ACKED only)
    5: i32 pending          // not answered before the deadline; the node keeps retrying them
    6: Timings timings
}

// ───────────────────────────── enums ─────────────────────────────

enum Side { BUY = 1, SELL = 2 }
enum PositionSide { LONG = 1, SHORT = 2, BOTH = 3 }
enum MarginMode { CROSS = 1, ISOLATED = 2 }
enum PositionMode { HEDGE = 1, ONE_WAY = 2 }
enum AccountMode { DEFAULT = 0, CLASSIC = 1, UNIFIED = 2, PORTFOLIO = 3 }
enum CopyMode { FIXED_AMOUNT = 1, MULTIPLIER = 2, PROPORTIONAL = 3 }
enum LeveragePolicy { FOLLOW_TRADER = 1, FIXED = 2 }
enum MarginPolicy { FOLLOW_TRADER = 1, FORCE_CROSS = 2, FORCE_ISOLATED = 3 }
enum LiqPolicy { INHERIT = 0, CLOSE = 1, DETACH = 2 }
enum TraderStatus { NONE = 0, ACTIVE = 1, PAUSED = 2, EXITED = 3, REJECTED = 4 }
enum FollowStatus { NONE = 0, ACTIVE = 1, PAUSED = 2, STOPPED = 3, ENDED = 4 }
// How a follow copies the trader's closes (unfollow with close, stop-loss and liquidation close in both).
enum ClosePolicy { COPY_CLOSES = 0, LEAVE_TO_COPIER = 1 }
enum OrderStatus { PENDING = 1, FILLED = 2, PARTIALLY_FILLED = 3, REJECTED = 4, QUARANTINED = 5 }
enum OrderEffect { OPEN = 1, CLOSE = 2 }
enum SlotState { NOT_OWNED = 0, OWNED = 1, FROZEN = 2, RELEASED = 3 }

// ───────────────────────────── fills ─────────────────────────────

// One fill of a lead trader's own order: the signal.
struct Fill {
    1: i64 trader
    2: i64 trade_id             // > 0; dedup key with trader
    3: string instrument
    4: Side side
    5: PositionSide position_side
    6: string qty               // > 0
    7: string price             // > 0
    8: i32 leverage             // 1..200
    9: MarginMode margin_mode
    10: string equity           // the trader's equity after the fill, >= 0
    11: bool liquidation        // the trader was liquidated
    // Fill contract v2 (design §3, "What the machine trusts from the venue").
    12: string position_after   // required: the trader's position on instrument and position_side after the fill; >= 0 for LONG/SHORT, signed net for BOTH (long > 0, short < 0)
    13: string fee              // the trader's fee for the fill, >= 0; "" = 0
    14: string venue_order_id   // the venue's ID of the trader's order; <= 64 bytes
    15: string client_order_id  // the trader's order's client ID; one copytrade generated is refused (COPIED_ORDER); <= 36 bytes
    16: i64 event_time_ns       // required: the venue's event time of the fill, Unix nanoseconds
}

struct SubmitFillRequest {
    1: i64 trader               // routing key: must equal fill.trader
    2: Fill fill
    3: WaitFor wait
    4: i32 timeout_ms           // the caller's budget; 0 = the node's default. Capped by the RPC deadline
}

struct SubmitFillsRequest {
    1: list<Fill> fills         // 1..1000; may span traders (a router splits by group)
    2: WaitFor wait
    3: i32 timeout_ms
}

// The outcome of one fill.
struct FillOutcome {
    1: i64 trader
    2: i64 trade_id
    3: ErrorCode code           // OK, or why this fill was not applied (DUPLICATE_FILL, NOT_LEADER, ...)
    4: string message
    5: i64 index                // raft log index (0 if not applied)
    6: i32 orders_planned
    7: i32 placed               // ACKED: filled or partially filled at the gateway
    8: i32 rejected             // ACKED: rejected by the gateway
    9: i32 skipped              // follows that got no order (below minimum, paused, ...)
    10: i32 pending             // ACKED: not answered before the deadline (kept pending, retried)
    11: Timings timings
    12: string leader_addr      // NOT_LEADER: the leader's RPC address
    13: i32 group               // MOVED
    14: i64 epoch               // MOVED
}

struct SubmitFillResponse {
    1: FillOutcome outcome
}

struct SubmitFillsResponse {
    1: list<FillOutcome> outcomes // one per fill, in input order
}

// ───────────────────────────── admin: instruments, rules ─────────────────────────────

struct Instrument {
    1: string symbol            // 1..32 bytes
    2: string lot_step          // > 0
    3: string tick_size         // > 0
    4: string min_qty           // >= lot_step
    5: string min_notional      // >= 0
    6: i32 max_leverage         // 1..200
    7: i64 price_band_bps       // fills priced further than this from the mark are refused; 0 = no band
    8: string max_order_qty     // fills above it are refused; "" = no maximum
}

struct UpsertInstrumentRequest {
    1: Instrument instrument
}

struct EligibilityRules {
    1: i64 min_win_rate_bps     // 0..10000
    2: i64 min_roi_bps
    3: i64 min_closed_trades    // >= 0
    4: string min_equity        // >= 0
}

struct SetRulesRequest {
    1: EligibilityRules rules
}

// ───────────────────────────── traders ─────────────────────────────

struct TraderConfig {
    1: list<string> instruments // led instruments; empty = every instrument; <= 64
    2: i64 profit_share_bps     // 0..3000
    3: i32 max_copiers          // 0 = default (500); <= 20000
    4: string min_copy_amount   // >= 0; "" = 0
    5: string max_copy_amount   // >= 0; "" = 0 (none)
    6: LiqPolicy liquidation_policy
    7: i64 signal_max_age_ms    // a fill whose venue time is older than this when stamped opens nothing (SIGNAL_STALE); 0 = 2000
}

struct ApplicantStats {
    1: i64 win_rate_bps
    2: i64 roi_bps
    3: i64 closed_trades
    4: string equity
}

struct ApplyTraderRequest {
    1: i64 trader
    2: i64 parent               // main account of a sub account; 0 for a main account
    3: ApplicantStats stats
    4: TraderConfig config
}

struct UpdateTraderRequest {
    1: i64 trader
    2: TraderConfig config
}

struct PauseTraderRequest { 1: i64 trader }
struct ResumeTraderRequest { 1: i64 trader }

struct ExitTraderRequest {
    1: i64 trader
    2: LiqPolicy policy         // INHERIT = the trader's configured policy
    3: WaitFor wait             // 0 = COMMIT
    4: i32 timeout_ms
}

// ───────────────────────────── follows ─────────────────────────────

struct FollowSettings {
    1: CopyMode mode
    2: string fixed_margin          // FIXED_AMOUNT: > 0
    3: string multiplier            // MULTIPLIER: > 0
    4: string allocation            // > 0
    5: LeveragePolicy leverage_policy
    6: i32 leverage                 // FIXED: 1..200
    7: MarginPolicy margin_policy
    8: PositionMode position_mode
    9: AccountMode account_mode
    10: list<string> instruments    // filter; empty = all the trader leads; <= 64
    11: string max_order_notional   // >= 0; "" = no cap
    12: string max_follow_notional  // >= 0; "" = no cap
    13: i64 slippage_bps            // 0..10000; 0 = market
    14: i64 stop_loss_bps           // 0..10000; 0 = off
    15: i64 take_profit_bps         // >= 0; 0 = off
    16: LiqPolicy liquidation_policy
}

struct FollowRequest {
    1: i64 trader
    2: i64 copier
    3: i64 copier_parent            // 0 for a main account
    4: FollowSettings settings
    5: string invite_code           // required when the trader is invite-only (one use is consumed)
    6: ClosePolicy close_policy     // how the trader's closes are followed; COPY_CLOSES by default
    7: bool copy_open_positions     // open the follow's share of the trader's current positions at the mark (slippage band applied)
}

struct UpdateFollowRequest {
    1: i64 trader
    2: i64 copier
    3: FollowSettings settings
}

struct PauseFollowRequest { 1: i64 trader, 2: i64 copier }
struct ResumeFollowRequest { 1: i64 trader, 2: i64 copier }

struct UnfollowRequest {
    1: i64 trader
    2: i64 copier
    3: bool close_positions         // close attributed positions at market; else detach them
    4: WaitFor wait
    5: i32 timeout_ms
}

// ───────────────────────────── settlement ─────────────────────────────

struct SettleRequest {
    1: i64 period                   // days (daily) or weeks (weekly) since the Unix epoch, UTC; > 0
}

struct SettlementEntry {
    1: string settlement_id
    2: i64 period
    3: i64 trader
    4: i64 copier                   // 0 on the per-trader total
    5: string amount
    6: bool paid
    7: i32 attempts                 // unpaid outcomes recorded so far
    8: string reason                // last failure
}

struct SettleResponse {
    1: i64 index
    2: list<SettlementEntry> entries  // created for the period; the leader pays them by transfer
}

// ───────────────────────────── slot migration (admin, group leader) ─────────────────────────────

struct SlotFreezeRequest {
    1: i64 migration                // > 0
    2: list<i32> slots              // sorted, unique, 0..16383; 1..16384 of them
    3: i32 target_group             // > 0
    4: i64 epoch                    // > every current epoch of the slots
}

struct SlotExportRequest { 1: i64 migration }

struct SlotExportResponse {
    1: i64 index
    2: i64 migration
    3: list<i32> slots
    4: i64 epoch
    5: binary data                  // the slots' whole state at index
    6: i64 checksum                 // of data (uint64 bits)
}

struct SlotImportRequest {
    1: i64 migration
    2: i32 source_group
    3: list<i32> slots
    4: i64 epoch
    5: binary data
    6: i64 checksum
}

struct SlotReleaseRequest { 1: i64 migration }
struct SlotAbortRequest { 1: i64 migration }
struct SlotUnfreezeRequest { 1: i64 migration }

// ───────────────────────────── views (queries) ─────────────────────────────

struct TraderPosition {
    1: string instrument
    2: PositionSide side            // LONG or SHORT
    3: string qty
    4: string avg_entry
}

struct Position {
    1: string instrument
    2: PositionSide side            // LONG or SHORT: the attribution side
    3: string qty
    4: string avg_entry
    5: string margin
    6: string pending_close
    7: string pending_open
    8: i32 leverage
}

struct ProfitShare {
    1: string cum_net_pnl
    2: string hwm
    3: string accrued
    4: string settled
}

struct DayStat {
    1: i64 day                      // days since the Unix epoch, UTC
    2: string realized_pnl
    3: string equity
}

struct TraderStats {
    1: list<DayStat> days
    2: i64 wins
    3: i64 losses
    4: string peak_equity
    5: i64 max_drawdown_bps
    6: string copier_pnl
}

struct Trader {
    1: i64 trader
    2: i64 parent
    3: i32 slot
    4: TraderStatus status
    5: string reason
    6: TraderConfig config
    7: i64 share_bps                // in force for the current period
    8: list<TraderPosition> positions
    9: string equity
    10: i32 followers               // follows kept (any status)
    11: i64 signals                 // fills applied
    12: TraderStats stats
    13: bool invite_only            // new follows need an invite code
}

struct FollowView {
    1: i64 trader
    2: i64 copier
    3: i64 copier_parent
    4: FollowStatus status
    5: string stop_reason
    6: FollowSettings settings
    7: list<Position> positions
    8: list<Position> detached
    9: string margin_in_use
    10: string realized_pnl
    11: string fees
    12: i32 pending_orders
    13: ProfitShare share
    14: string unrealized_pnl
    15: i32 consecutive_failures    // opens in a row that filled nothing; at the group's limit the follow pauses (CONSECUTIVE_FAILURES)
    16: ClosePolicy close_policy
}

struct Order {
    1: string client_order_id
    2: i64 copier
    3: i64 trader
    4: string instrument
    5: Side side
    6: PositionSide position_side
    7: string qty
    8: string limit_price           // "0" = market
    9: bool reduce_only
    10: i32 leverage
    11: MarginMode margin_mode
    12: AccountMode account_mode
    13: OrderEffect effect
    14: PositionSide attr_side
    15: OrderStatus status
    16: i64 signal                  // trade ID that caused it; 0 for mark-price / unfollow / exit closes
    17: string reserved_margin
    18: string quarantine_reason    // QUARANTINED: why the venue's report was not applied
}

struct GetTraderRequest {
    1: i64 trader
    2: ReadOptions read_opts
}
struct GetTraderResponse { 1: Trader trader }

struct ListFollowersRequest {
    1: i64 trader
    2: i64 after_copier             // page cursor: copiers > this; 0 = from the start
    3: i32 limit                    // 1..1000; 0 = 100
    4: ReadOptions read_opts
}
struct ListFollowersResponse {
    1: list<FollowView> follows     // sorted by copier
    2: i64 next_after_copier        // 0 = no more
}

struct ListCopierFollowsRequest {
    1: i64 copier
    2: ReadOptions read_opts
}
struct ListCopierFollowsResponse {
    1: list<FollowView> follows     // this group's follows of the copier, sorted by trader
}

struct GetPositionsRequest {
    1: i64 trader                   // 0 = every trader in this group the copier follows
    2: i64 copier
    3: ReadOptions read_opts
}
struct CopierPositions {
    1: i64 trader
    2: list<Position> positions
    3: list<Position> detached
}
struct GetPositionsResponse {
    1: i64 copier
    2: list<CopierPositions> by_trader  // sorted by trader
}

// Orders by signal (trader + trade_id) or by copier (copier, optionally one trader).
// The machine keeps pending orders; final ones leave its state once their result is applied.
struct ListOrdersRequest {
    1: i64 trader                   // by signal: required; by copier: optional filter
    2: i64 trade_id                 // > 0: orders of this signal
    3: i64 copier                   // > 0: orders of this copier
    4: i32 limit                    // 1..10000; 0 = 1000
    5: ReadOptions read_opts
    6: bool quarantined_only        // only QUARANTINED orders; trader and copier are then optional filters
}
struct ListOrdersResponse {
    1: list<Order> orders           // sorted by client order ID
}

struct ListSettlementsRequest {
    1: i64 trader                   // 0 = every trader in this group
    2: i64 period                   // 0 = every period kept
    3: bool unpaid_only
    4: ReadOptions read_opts
}
struct ListSettlementsResponse {
    1: list<SettlementEntry> entries  // sorted by settlement ID
    2: i64 last_settled_period
}

struct GetSlotOwnershipRequest { 1: ReadOptions read_opts }

// Consecutive slots that share state, epoch, migration and destination.
struct SlotRange {
    1: i32 first                    // first slot; was "from" (a reserved word of every Apache generator; the wire is the field ID)
    2: i32 to                       // inclusive
    3: SlotState state
    4: i64 epoch
    5: i64 migration
    6: i32 moved_to                 // RELEASED: the new owner
    7: i64 frozen_since_unix_ms     // FROZEN: when the freeze applied (leader clock; 0: unknown)
}
struct GetSlotOwnershipResponse {
    1: i32 group
    2: list<SlotRange> ranges       // every slot not NOT_OWNED-without-history, ascending
    3: i64 applied_index
}

struct GroupStatusRequest { 1: ReadOptions read_opts }

struct Member {
    1: string id
    2: string raft_addr
    3: string rpc_addr
    4: bool voter
    5: bool leader
    6: bool drained                 // keeps out of leadership until undrained (SetDrain)
}
struct GroupStatusResponse {
    1: i32 group
    2: string node_id               // the answering node
    3: string state                 // Leader, Follower, Candidate, Shutdown
    4: list<Member> members
    5: string leader_id
    6: string leader_addr           // RPC address
    7: i64 term
    8: i64 commit_index
    9: i64 applied_index            // the machine's
    10: i64 last_log_index
    11: i32 pending_orders
    12: i64 last_snapshot_index
}

struct NoopRequest {}
struct NoopResponse {
    1: i64 index
    2: Timings timings
}

// Membership (admin, group leader): join a replacement node, remove a dead one, hand off.
struct AddMemberRequest {
    1: string id
    2: string raft_addr
    3: string rpc_addr
}
struct RemoveMemberRequest { 1: string id }
struct TransferLeadershipRequest {
    1: string to_id                 // "" = any up-to-date voter
}
struct MembershipResponse {
    1: i64 index                    // configuration index
}

// ───────────────────────────── service ─────────────────────────────

// ---- Leaderboard (appended; see raftfsm/leaderboard.go) --------------------------

// What the leaderboard ranks by, highest first; ties by trader ID ascending.
enum LeaderMetric {
    ROI               = 1  // realised PnL over the window / equity base, in bps
    PNL               = 2  // realised PnL over the window
    WIN_RATE          = 3  // wins / closed positions, in bps (all time)
    COPIER_PNL        = 4  // copiers' realised PnL net of fees (all time)
    ASSETS_UNDER_COPY = 5  // sum of live follows' allocations
    COPIERS           = 6  // live follows
}

struct LeaderboardRequest {
    1: LeaderMetric metric
    2: i32 window_days      // 7, 30 or 90 (applies to ROI and PNL)
    3: i32 k                // top k, 1..MAX_LEADERBOARD_K
    4: ReadOptions read_opts
}

struct LeaderRow {
    1: i32 rank             // 1-based, over every group when answered by a router
    2: i64 trader
    3: i32 window_days
    4: i64 roi_bps
    5: string pnl
    6: i64 win_rate_bps
    7: i64 wins
    8: i64 losses
    9: i64 max_drawdown_bps
    10: i32 copiers
    11: string assets_under_copy
    12: string copier_pnl
    13: CopyQuality quality     // how closely copies of this trader tracked it over window_days (at most 30)
}

// Admin: the venue's true result for a QUARANTINED order (see ListOrders quarantined_only),
// applied through the same path as a venue report.
struct ResolveOrderRequest {
    1: i64 trader                   // the order's trader (routes to its group)
    2: string client_order_id
    3: OrderStatus status           // FILLED, PARTIALLY_FILLED or REJECTED
    4: string filled_qty            // "0" when rejected
    5: string avg_price
    6: string fee                   // >= 0
    7: string reason                // rejection reason, free text
}

struct LeaderboardResponse {
    1: list<LeaderRow> rows
}

const i32 MAX_LEADERBOARD_K = 1000

// ───────────────────────────── errors ─────────────────────────────

// Every refusal, as a declared exception, for Thrift clients that do not speak TTHeader
// (Kitex clients over TTHeader get the same as a business status error).
exception CopyTradeError {
    1: ErrorCode code
    2: string message
    3: map<string, string> extra    // see ErrorCode: MOVED's group and epoch, NOT_LEADER's leader_addr
}

// ---- Lead-trader set (appended; see ingest/DESIGN.md) ----------------------------

// The traders this group would not drop before Raft (ACTIVE or PAUSED, in slots it owns
// or holds frozen), ascending, a page at a time: how a Kafka ingest learns which fills to
// forward. A group call (through a router: metainfo COPYTRADE_GROUP names the group).
struct ListLeadTradersRequest {
    1: i64 after_trader     // page cursor: traders > this; 0 = from the start
    2: i32 limit            // 1..MAX_LEAD_TRADERS_PAGE; 0 = MAX_LEAD_TRADERS_PAGE
    3: ReadOptions read_opts
}

struct ListLeadTradersResponse {
    1: i32 group
    2: list<i64> traders    // ascending
    3: i64 next_after_trader // 0 = no more
    4: i64 applied_index    // the answering replica's applied index
}

const i32 MAX_LEAD_TRADERS_PAGE = 10000

// ---- Operations (appended): drain ---------------------------------------------------

// Marks a member drained (it hands leadership over whenever it has it, until undrained)
// or undrained. Admin, the group's leader.
struct SetDrainRequest {
    1: string id
    2: bool drained
}

// ---- Activity history (appended; see raftfsm/activity.go) ---------------------------

// One copy decision for a (copier, trader): an order with its final result, or a skip with
// its reason code and the cap that decided it. Kept per follow, bounded by age and count
// (SetActivityConfig), the same on every replica and across restarts.
struct ActivityRecord {
    1: i64 copier
    2: i64 trader
    3: i64 id                       // unique in the trader's group, ascending in apply order
    4: i64 time_unix_nano           // the deciding entry's stamp (the leader's clock)
    5: string kind                  // ORDER or SKIP
    6: string origin                // the deciding command: TradeFill, MarkPrices (stop-loss), Unfollow, TraderExit, OrderResults (owed, orphan, retry)
    7: string instrument
    8: OrderEffect effect           // OPEN or CLOSE (for a skip: the leg that was skipped)
    9: Side side
    10: i64 trade_id                // the signal; 0 when none caused it
    11: i64 signal_time_unix_nano   // the signal's venue time; 0 when none
    12: string signal_price         // the trader's fill price; "0" when none
    13: string skip_reason          // SKIP: the reason code (ALLOCATION_EXHAUSTED, SIGNAL_STALE, ...)
    14: string cap                  // SKIP: the cap that decided it (MAX_ORDER_NOTIONAL, MAX_FOLLOW_NOTIONAL, ALLOCATION); "" when none did
    15: string client_order_id      // ORDER
    16: string qty
    17: string limit_price          // "0" = market
    18: string status               // ORDER: PENDING, FILLED, PARTIALLY_FILLED, REJECTED, QUARANTINED
    19: string filled_qty
    20: string avg_price
    21: string fee
    22: string reason               // REJECTED: the venue's reason; QUARANTINED: why
    23: i64 result_time_unix_nano   // when the final result applied; 0 while pending
}

// A copier's decisions (optionally for one trader), or, admin only, a trader's across its
// copiers. Accounts read only their own copier's records.
struct ListActivityRequest {
    1: i64 trader                   // > 0: this trader only (its group); 0: every trader (copier required)
    2: i64 copier                   // > 0: this copier only; 0: every copier of trader (admin)
    3: i64 since_unix_nano          // records decided at or after this time; 0 = all kept
    4: string after                 // page cursor: next_after of the previous page; "" = from the start
    5: i32 limit                    // 1..MAX_ACTIVITY_PAGE; 0 = 100
    6: ReadOptions read_opts
}
struct ListActivityResponse {
    1: list<ActivityRecord> records // ascending (time, trader, id)
    2: string next_after            // "" = no more
}
const i32 MAX_ACTIVITY_PAGE = 1000

// Admin, every group: activity retention and the consecutive-failure stop. 0 = default.
struct SetActivityConfigRequest {
    1: i64 keep_seconds             // default 30 days, at most 400 days
    2: i32 keep_per_follow          // records kept per (copier, trader); default 200, at most 10000
    3: i32 max_consecutive_failures // failed opens in a row that pause a follow; default 20
}

// ---- Invite-only traders (appended; see raftfsm/follow_options.go) -----------------

enum InviteAction { SET_PRIVATE = 1, SET_PUBLIC = 2, ISSUE = 3, REVOKE = 4 }

// A trader makes itself invite-only (or public again), issues or revokes an invite code.
// The account may act only on its own trader record.
struct TraderInviteRequest {
    1: i64 trader
    2: InviteAction action
    3: string code                  // ISSUE, REVOKE: 4..32 of [A-Za-z0-9_-]
    4: i64 expires_at_unix_nano     // ISSUE: 0 = never
    5: i32 max_uses                 // ISSUE: 0 = unlimited
}

struct Invite {
    1: string code
    2: i64 expires_at_unix_nano
    3: i32 max_uses
    4: i32 used
    5: bool revoked
}

struct ListInvitesRequest {
    1: i64 trader
    2: ReadOptions read_opts
}
struct ListInvitesResponse {
    1: bool invite_only
    2: list<Invite> invites         // sorted by code
}

// ---- Copy quality (appended; see raftfsm/quality.go) --------------------------------

// How closely copies tracked the trader, over copied orders of signals with a final result:
// latency from the trader's venue fill time to the copier order's venue execution time, and
// slippage of the copier's average price against the trader's fill price (signed: worse for
// the copier is positive).
struct CopyQuality {
    1: i32 window_days
    2: i64 copier                   // 0: every copier of the trader
    3: i32 orders                   // copied orders with a final result
    4: i32 filled                   // of which filled something
    5: i32 latency_samples          // of which the venue reported a time
    6: i64 latency_p50_us
    7: i64 latency_p99_us
    8: string slippage_mean_bps     // decimal, 2 places
    9: string slippage_p90_bps
    10: i64 fill_ratio_bps          // filled qty / ordered qty
}

// A trader's copy quality (any caller), or one copier's copies of it (the copier's own).
struct GetCopyQualityRequest {
    1: i64 trader
    2: i64 copier                   // 0: the trader's whole; > 0: this copier's follow
    3: i32 window_days              // 7 or 30; 0 = 30
    4: ReadOptions read_opts
}
struct GetCopyQualityResponse {
    1: i64 trader
    2: CopyQuality quality
}

// ---- Close policy of a live follow (appended) ---------------------------------------

// Changes how a follow copies the trader's closes (the copier's own follow).
struct SetClosePolicyRequest {
    1: i64 trader
    2: i64 copier
    3: ClosePolicy close_policy
}

service CopyTrade {
    // Signals.
    SubmitFillResponse SubmitFill(1: SubmitFillRequest req) throws (1: CopyTradeError err)
    SubmitFillsResponse SubmitFills(1: SubmitFillsRequest req) throws (1: CopyTradeError err)

    // Admin: instruments and eligibility.
    CommandResponse UpsertInstrument(1: UpsertInstrumentRequest req) throws (1: CopyTradeError err)
    CommandResponse SetRules(1: SetRulesRequest req) throws (1: CopyTradeError err)

    // Traders.
    CommandResponse ApplyTrader(1: ApplyTraderRequest req) throws (1: CopyTradeError err)
    CommandResponse UpdateTrader(1: UpdateTraderRequest req) throws (1: CopyTradeError err)
    CommandResponse PauseTrader(1: PauseTraderRequest req) throws (1: CopyTradeError err)
    CommandResponse ResumeTrader(1: ResumeTraderRequest req) throws (1: CopyTradeError err)
    CommandResponse ExitTrader(1: ExitTraderRequest req) throws (1: CopyTradeError err)

    // Follows.
    CommandResponse Follow(1: FollowRequest req) throws (1: CopyTradeError err)
    CommandResponse UpdateFollow(1: UpdateFollowRequest req) throws (1: CopyTradeError err)
    CommandResponse PauseFollow(1: PauseFollowRequest req) throws (1: CopyTradeError err)
    CommandResponse ResumeFollow(1: ResumeFollowRequest req) throws (1: CopyTradeError err)
    CommandResponse Unfollow(1: UnfollowRequest req) throws (1: CopyTradeError err)

    // Settlement (admin): the leader also settles by itself at each period boundary.
    SettleResponse Settle(1: SettleRequest req) throws (1: CopyTradeError err)

    // Slot migration (admin, the group's leader).
    CommandResponse SlotFreeze(1: SlotFreezeRequest req) throws (1: CopyTradeError err)
    SlotExportResponse SlotExport(1: SlotExportRequest req) throws (1: CopyTradeError err)
    CommandResponse SlotImport(1: SlotImportRequest req) throws (1: CopyTradeError err)
    CommandResponse SlotRelease(1: SlotReleaseRequest req) throws (1: CopyTradeError err)
    CommandResponse SlotAbort(1: SlotAbortRequest req) throws (1: CopyTradeError err)
    CommandResponse SlotUnfreeze(1: SlotUnfreezeRequest req) throws (1: CopyTradeError err)

    // Queries.
    GetTraderResponse GetTrader(1: GetTraderRequest req) throws (1: CopyTradeError err)
    ListFollowersResponse ListFollowers(1: ListFollowersRequest req) throws (1: CopyTradeError err)
    ListCopierFollowsResponse ListCopierFollows(1: ListCopierFollowsRequest req) throws (1: CopyTradeError err)
    GetPositionsResponse GetPositions(1: GetPositionsRequest req) throws (1: CopyTradeError err)
    ListOrdersResponse ListOrders(1: ListOrdersRequest req) throws (1: CopyTradeError err)
    ListSettlementsResponse ListSettlements(1: ListSettlementsRequest req) throws (1: CopyTradeError err)
    GetSlotOwnershipResponse GetSlotOwnership(1: GetSlotOwnershipRequest req) throws (1: CopyTradeError err)
    GroupStatusResponse GroupStatus(1: GroupStatusRequest req) throws (1: CopyTradeError err)

    // Admin: commits a no-op and returns its timings (the Raft floor).
    NoopResponse Noop(1: NoopRequest req) throws (1: CopyTradeError err)

    // Admin: membership of the group.
    MembershipResponse AddMember(1: AddMemberRequest req) throws (1: CopyTradeError err)
    MembershipResponse RemoveMember(1: RemoveMemberRequest req) throws (1: CopyTradeError err)
    MembershipResponse TransferLeadership(1: TransferLeadershipRequest req) throws (1: CopyTradeError err)

    // Top K lead traders by a metric: a node answers for its group, a router merges
    // every group's answer. Any authenticated caller.
    LeaderboardResponse Leaderboard(1: LeaderboardRequest req) throws (1: CopyTradeError err)

    // Admin: resolve a QUARANTINED order with the venue's true result.
    CommandResponse ResolveOrder(1: ResolveOrderRequest req) throws (1: CopyTradeError err)

    // The group's lead traders (ingest's filter). Trading-system or router role, or admin.
    ListLeadTradersResponse ListLeadTraders(1: ListLeadTradersRequest req) throws (1: CopyTradeError err)

    // Admin: drain or undrain a member (leadership moves away and is not retaken).
    MembershipResponse SetDrain(1: SetDrainRequest req) throws (1: CopyTradeError err)

    // A copier's copy decisions (account: its own), or a trader's (admin).
    ListActivityResponse ListActivity(1: ListActivityRequest req) throws (1: CopyTradeError err)

    // Admin: activity retention and the consecutive-failure stop, on every group.
    CommandResponse SetActivityConfig(1: SetActivityConfigRequest req) throws (1: CopyTradeError err)

    // A trader's invite-only setting and invite codes (account: its own trader record).
    CommandResponse TraderInvite(1: TraderInviteRequest req) throws (1: CopyTradeError err)
    ListInvitesResponse ListInvites(1: ListInvitesRequest req) throws (1: CopyTradeError err)

    // How closely copies of a trader track it (any caller), or one copier's (its own).
    GetCopyQualityResponse GetCopyQuality(1: GetCopyQualityRequest req) throws (1: CopyTradeError err)

    // A follow's close policy, after the follow (the copier's own).
    CommandResponse SetClosePolicy(1: SetClosePolicyRequest req) throws (1: CopyTradeError err)
}
