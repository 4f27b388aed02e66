// gateway.thrift — the TradingGateway service: the trading system's order API as copytrade
// sees it. `copytrade exchsim` (tools/exchsim) implements it for development, tests and
// benchmarks; a production adapter to the real trading system implements the same service.
//
// Conventions
//   - Every price, quantity and amount is a decimal string ("12.5", "0.001"), at most 8
//     fractional digits; never a float.
//   - Enum value 0 is never a valid value: an unset enum field is a request error.
//   - Every order is IOC or MARKET, so every OrderReport is final: FILLED, PARTIALLY_FILLED
//     (the rest expired) or REJECTED. There is no resting order and no cancel.
//   - Per-order refusals are results (status REJECTED with a RejectReason), never errors.
//     Request-level failures are Kitex business status errors (kerrors.BizStatusError,
//     carried in TTHeader) with these stable codes:
//        4000 INVALID_REQUEST     malformed request (empty batch, bad decimal, empty ID, ...)
//        4001 BATCH_TOO_LARGE     more than 5000 entries in one request
//        4004 UNKNOWN_ACCOUNT     AccountSnapshot of an account that does not exist
//        4005 UNKNOWN_INSTRUMENT  MarkPrices named an instrument the gateway does not list
//        4009 CONFLICT            CreateAccount for an existing account with another mode
//        5000 INTERNAL            the gateway failed; the request may be retried
//   - Methods marked SIMULATOR-ONLY exist on exchsim for setup and for proofs in tests; a
//     production adapter answers them with INTERNAL (or does not expose them at all).
//
// ONLY ADD TO THE END of enums and structs: field IDs and enum values are the wire format.

namespace go gateway

enum Side {
    BUY  = 1
    SELL = 2
}

// Position side. HEDGE-mode accounts trade LONG and SHORT; ONE_WAY accounts trade BOTH.
enum PositionSide {
    LONG  = 1
    SHORT = 2
    BOTH  = 3
}

enum OrderType {
    MARKET    = 1  // fills at once at the mark price plus/minus half the spread
    IOC_LIMIT = 2  // fills at that price only if it is within limit_price, else REJECTED
}

enum MarginMode {
    CROSS    = 1
    ISOLATED = 2
}

enum PositionMode {
    HEDGE   = 1
    ONE_WAY = 2
}

enum OrderStatus {
    FILLED           = 1
    PARTIALLY_FILLED = 2  // filled_qty < qty; the rest expired (IOC)
    REJECTED         = 3  // nothing filled; see reject_reason
}

// Why an order or a transfer was refused. Stable codes.
enum RejectReason {
    NONE                  = 0
    INSUFFICIENT_MARGIN   = 1   // initial margin + fee of the opening part > available balance
    REDUCE_ONLY_VIOLATION = 2   // would open or increase, or close more than the position
    PRICE_OUT_OF_BAND     = 3   // IOC limit not marketable: expired unfilled
    UNKNOWN_INSTRUMENT    = 4
    INVALID_QTY           = 5   // qty missing, not a decimal or not > 0
    QTY_NOT_ON_LOT_STEP   = 6
    BELOW_MIN_QTY         = 7
    BELOW_MIN_NOTIONAL    = 8   // qty x fill price < min notional (opening orders)
    INVALID_LEVERAGE      = 9   // outside 1..max leverage of the instrument
    INVALID_PRICE         = 10  // IOC limit price missing, not > 0 or off the tick grid
    POSITION_SIDE_MISMATCH = 11 // LONG/SHORT on a ONE_WAY account, BOTH on a HEDGE account
    UNKNOWN_ACCOUNT       = 12  // and auto-creation is off
    INVALID_ORDER         = 13  // bad side, type, margin mode or client order ID
    INSUFFICIENT_BALANCE  = 14  // transfer amount > available balance of the source
    INVALID_AMOUNT        = 15  // transfer amount missing, not a decimal or not > 0
    EXPIRED               = 16  // the request reached the venue after its expiry; nothing executed
}

struct OrderRequest {
    1: string client_order_id      // 1..36 chars; the venue's idempotency key
    2: i64 account
    3: string instrument
    4: Side side
    5: PositionSide position_side
    6: string qty                  // > 0, a multiple of the instrument's lot step
    7: OrderType order_type
    8: string limit_price          // IOC_LIMIT only: on the tick grid, > 0
    9: bool reduce_only
    10: i32 leverage               // 1..max leverage; may be 0 on reduce-only orders
    11: MarginMode margin_mode
    12: i64 expiry_unix_nano       // 0: none; else the venue refuses (EXPIRED) an order that
                                   // would execute after this instant, and records nothing
    13: i64 sender_term            // the sender's leadership term (diagnostic; 0: unknown)
}

struct OrderReport {
    1: string client_order_id
    2: i64 order_id                // the venue's ID of the order this result describes
    3: OrderStatus status
    4: string filled_qty           // "0" when rejected
    5: string avg_price            // "0" when rejected
    6: string fee                  // taker fee charged, >= 0
    7: string realized_pnl         // PnL realised by the reducing part, before the fee
    8: RejectReason reject_reason  // NONE unless REJECTED
    9: string message              // human-readable detail of a rejection
    10: bool duplicate             // strict mode: this ID was seen; this is the original order
    11: i64 account
    12: string instrument
    13: Side side
    14: PositionSide position_side
    15: i64 time_unix_nano          // when the venue decided the order
}

struct PlaceOrdersRequest {
    1: list<OrderRequest> orders   // 1..5000
}

struct PlaceOrdersResponse {
    1: list<OrderReport> results   // one per order, in input order
}

enum LookupStatus {
    FOUND     = 1
    NOT_FOUND = 2
}

struct QueryOrdersRequest {
    1: list<string> client_order_ids  // 1..5000
}

struct OrderLookup {
    1: string client_order_id
    2: LookupStatus status
    3: optional OrderReport order   // set when FOUND: the first order created for the ID
}

struct QueryOrdersResponse {
    1: list<OrderLookup> orders     // one per ID, in input order
}

struct MarkPricesRequest {
    1: list<string> instruments     // empty: all instruments, sorted by symbol
}

struct MarkPrice {
    1: string instrument
    2: string price
    3: i64 time_unix_nano           // when this mark was set
}

struct MarkPricesResponse {
    1: list<MarkPrice> marks
}

enum TransferStatus {
    TRANSFER_DONE     = 1
    TRANSFER_REJECTED = 2
}

// Transfers are idempotent by transfer_id: a repeated ID returns the original result with
// duplicate=true and moves nothing. A REJECTED transfer does not consume its ID, so the
// same transfer may be retried once the source is funded.
struct TransferRequest {
    1: string transfer_id           // 1..64 chars
    2: i64 from_account
    3: i64 to_account               // != from_account
    4: string amount                // > 0
    5: string memo                  // free text, <= 256 chars
}

struct TransferResponse {
    1: string transfer_id
    2: TransferStatus status
    3: RejectReason reject_reason
    4: string message
    5: bool duplicate
    6: i64 time_unix_nano
}

struct AccountSnapshotRequest {
    1: i64 account
}

struct Position {
    1: string instrument
    2: PositionSide position_side
    3: string qty                   // LONG/SHORT: >= 0; BOTH: signed, negative = net short
    4: string entry_price           // average entry price
    5: string margin                // initial margin held by this position
    6: i32 leverage
    7: MarginMode margin_mode
    8: string mark_price
    9: string unrealized_pnl        // at mark_price
}

struct AccountSnapshotResponse {
    1: i64 account
    2: PositionMode position_mode
    3: string balance               // wallet: deposits + transfers + realised PnL - fees
    4: string equity                // balance + unrealised PnL at the marks
    5: string margin_used           // sum of position margins
    6: string available             // balance - margin_used: what opens may use
    7: string realized_pnl          // cumulative
    8: string fees_paid             // cumulative
    9: list<Position> positions     // non-zero positions, sorted by instrument then side
}

// SIMULATOR-ONLY
struct CreateAccountRequest {
    1: i64 account
    2: string balance               // initial wallet balance, >= 0
    3: PositionMode position_mode
}

// SIMULATOR-ONLY
struct CreateAccountResponse {
    1: bool created                 // false: the account existed and is unchanged
    2: AccountSnapshotResponse snapshot
}

// SIMULATOR-ONLY
struct Instrument {
    1: string symbol                // 1..32 chars
    2: string lot_step              // > 0
    3: string tick_size             // > 0
    4: string min_qty               // >= 0, on the lot step
    5: string min_notional          // >= 0
    6: i32 max_leverage             // >= 1
    7: string mark_price            // > 0; on create the initial mark, on update a new mark
}

// SIMULATOR-ONLY
struct SetInstrumentRequest {
    1: Instrument instrument
}

// SIMULATOR-ONLY
struct SetInstrumentResponse {
    1: bool created                 // false: an existing instrument was updated
}

// SIMULATOR-ONLY
struct StatsRequest {
}

// SIMULATOR-ONLY
struct StatsResponse {
    1: string mode                  // "strict" or "nodedup"
    2: i64 orders_created           // orders actually executed (duplicates excluded)
    3: i64 orders_filled
    4: i64 orders_partially_filled
    5: i64 orders_rejected
    6: i64 duplicates_returned      // strict mode: repeated IDs answered from the record
    7: i64 transfers_done
    8: i64 accounts
    9: i64 instruments
    10: i64 mark_steps              // random-walk steps taken per instrument
}

// SIMULATOR-ONLY
struct OrderCountsRequest {
    1: list<string> client_order_ids  // 1..5000
}

// SIMULATOR-ONLY
struct OrderCountsResponse {
    1: list<i64> counts             // orders created per ID, in input order (0 = never seen)
}

// SIMULATOR-ONLY
struct TransferCountsRequest {
    1: list<string> transfer_ids    // 1..5000
}

// SIMULATOR-ONLY
struct TransferCountsResponse {
    1: list<i64> counts             // transfers executed per ID, in input order
}

// An account's track record on the venue, for a lead-trader application: the shard
// leader asks the venue, never the applicant, and stamps the answer into the command.
struct ApplicantStatsRequest {
    1: i64 account
}

struct ApplicantStatsResponse {
    1: i64 account
    2: i64 win_rate_bps             // winning closed trades (net PnL after fee > 0) / closed trades; 0 with none
    3: i64 roi_bps                  // (equity - net deposits) / net deposits, clamped to +-10^7 bps
    4: i64 closed_trades            // executed orders that realised PnL (reduced or closed a position)
    5: string equity                // balance + unrealised PnL at the marks
    6: i64 time_unix_nano           // when the venue computed this
}

service TradingGateway {
    // Places a batch of IOC/MARKET orders; one final result per order, in input order.
    PlaceOrdersResponse PlaceOrders(1: PlaceOrdersRequest req)
    // Looks orders up by client order ID (the recovery path of a new leader).
    QueryOrdersResponse QueryOrders(1: QueryOrdersRequest req)
    // Current mark prices.
    MarkPricesResponse MarkPrices(1: MarkPricesRequest req)
    // Moves funds between accounts, idempotent by transfer_id (profit-share payouts).
    TransferResponse Transfer(1: TransferRequest req)
    // Balance, equity and positions of one account.
    AccountSnapshotResponse AccountSnapshot(1: AccountSnapshotRequest req)

    // SIMULATOR-ONLY: creates an account; idempotent (an existing account is returned as is).
    CreateAccountResponse CreateAccount(1: CreateAccountRequest req)
    // SIMULATOR-ONLY: creates or updates an instrument.
    SetInstrumentResponse SetInstrument(1: SetInstrumentRequest req)
    // SIMULATOR-ONLY: counters of the simulator.
    StatsResponse Stats(1: StatsRequest req)
    // SIMULATOR-ONLY: how many orders were created per client order ID (exactly-once proof).
    OrderCountsResponse OrderCounts(1: OrderCountsRequest req)
    // SIMULATOR-ONLY: how many transfers were executed per transfer ID.
    TransferCountsResponse TransferCounts(1: TransferCountsRequest req)
    // An account's track record (closed trades, win rate, ROI, equity) for eligibility.
    ApplicantStatsResponse ApplicantStats(1: ApplicantStatsRequest req)
}
