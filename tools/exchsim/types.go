package exchsim

import (
	"strconv"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The enums below carry the same numeric values as their IDL counterparts in
// rpc/idl/gateway.thrift, so the handler converts them with a cast
// (TestEnumsMatchIDL pins that). Zero is never a valid value.

// Side is the direction of an order.
type Side int8

// Sides.
const (
	Buy  Side = 1
	Sell Side = 2
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "BUY"
	case Sell:
		return "SELL"
	}
	return "Side(" + strconv.Itoa(int(s)) + ")"
}

// Opposite returns the other side.
func (s Side) Opposite() Side {
	if s == Buy {
		return Sell
	}
	return Buy
}

// PositionSide names the position an order acts on: Long or Short on a Hedge
// account, Both on a OneWay account.
type PositionSide int8

// Position sides.
const (
	Long  PositionSide = 1
	Short PositionSide = 2
	Both  PositionSide = 3
)

func (p PositionSide) String() string {
	switch p {
	case Long:
		return "LONG"
	case Short:
		return "SHORT"
	case Both:
		return "BOTH"
	}
	return "PositionSide(" + strconv.Itoa(int(p)) + ")"
}

// OrderType is MARKET or IOC limit; there are no resting orders.
type OrderType int8

// Order types.
const (
	Market   OrderType = 1
	IOCLimit OrderType = 2
)

func (t OrderType) String() string {
	switch t {
	case Market:
		return "MARKET"
	case IOCLimit:
		return "IOC_LIMIT"
	}
	return "OrderType(" + strconv.Itoa(int(t)) + ")"
}

// MarginMode is cross or isolated. The simulator records it on the position;
// margin is checked against the wallet balance either way.
type MarginMode int8

// Margin modes.
const (
	Cross    MarginMode = 1
	Isolated MarginMode = 2
)

func (m MarginMode) String() string {
	switch m {
	case Cross:
		return "CROSS"
	case Isolated:
		return "ISOLATED"
	}
	return "MarginMode(" + strconv.Itoa(int(m)) + ")"
}

// PositionMode is the account's position mode.
type PositionMode int8

// Position modes.
const (
	// Hedge keeps a Long and a Short position per instrument.
	Hedge PositionMode = 1
	// OneWay keeps one signed net position per instrument (PositionSide Both).
	OneWay PositionMode = 2
)

func (m PositionMode) String() string {
	switch m {
	case Hedge:
		return "HEDGE"
	case OneWay:
		return "ONE_WAY"
	}
	return "PositionMode(" + strconv.Itoa(int(m)) + ")"
}

// OrderStatus is the final state of an order (every order is IOC or MARKET).
type OrderStatus int8

// Order statuses.
const (
	Filled          OrderStatus = 1
	PartiallyFilled OrderStatus = 2
	Rejected        OrderStatus = 3
)

func (s OrderStatus) String() string {
	switch s {
	case Filled:
		return "FILLED"
	case PartiallyFilled:
		return "PARTIALLY_FILLED"
	case Rejected:
		return "REJECTED"
	}
	return "OrderStatus(" + strconv.Itoa(int(s)) + ")"
}

// RejectReason says why an order or a transfer was refused. Values match the IDL.
type RejectReason int8

// Reject reasons.
const (
	ReasonNone                 RejectReason = 0
	ReasonInsufficientMargin   RejectReason = 1
	ReasonReduceOnlyViolation  RejectReason = 2
	ReasonPriceOutOfBand       RejectReason = 3
	ReasonUnknownInstrument    RejectReason = 4
	ReasonInvalidQty           RejectReason = 5
	ReasonQtyNotOnLotStep      RejectReason = 6
	ReasonBelowMinQty          RejectReason = 7
	ReasonBelowMinNotional     RejectReason = 8
	ReasonInvalidLeverage      RejectReason = 9
	ReasonInvalidPrice         RejectReason = 10
	ReasonPositionSideMismatch RejectReason = 11
	ReasonUnknownAccount       RejectReason = 12
	ReasonInvalidOrder         RejectReason = 13
	ReasonInsufficientBalance  RejectReason = 14
	ReasonInvalidAmount        RejectReason = 15
	ReasonExpired              RejectReason = 16
)

var reasonNames = [...]string{
	"NONE", "INSUFFICIENT_MARGIN", "REDUCE_ONLY_VIOLATION", "PRICE_OUT_OF_BAND",
	"UNKNOWN_INSTRUMENT", "INVALID_QTY", "QTY_NOT_ON_LOT_STEP", "BELOW_MIN_QTY",
	"BELOW_MIN_NOTIONAL", "INVALID_LEVERAGE", "INVALID_PRICE", "POSITION_SIDE_MISMATCH",
	"UNKNOWN_ACCOUNT", "INVALID_ORDER", "INSUFFICIENT_BALANCE", "INVALID_AMOUNT", "EXPIRED",
}

func (r RejectReason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "RejectReason(" + strconv.Itoa(int(r)) + ")"
}

// MaxClientOrderIDLen is the longest client order ID the venue accepts.
const MaxClientOrderIDLen = 36

// Order is one order as the venue receives it.
type Order struct {
	ClientOrderID string // 1..MaxClientOrderIDLen chars; the idempotency key in strict mode
	Account       int64
	Instrument    string
	Side          Side
	PositionSide  PositionSide
	Qty           fixed.Dec // > 0, on the lot step
	Type          OrderType
	LimitPrice    fixed.Dec // IOCLimit only: > 0, on the tick grid
	ReduceOnly    bool
	Leverage      int32      // 1..max leverage; 0 allowed on reduce-only orders
	MarginMode    MarginMode // 0 allowed on reduce-only orders
	// ExpiryUnixNano: 0 for none; else an order that would execute after this instant
	// is refused EXPIRED and nothing is recorded (unless Faults.IgnoreExpiry).
	ExpiryUnixNano int64
	SenderTerm     int64 // the sender's leadership term; diagnostic only
}

// OrderResult is the final outcome of one order.
type OrderResult struct {
	ClientOrderID string
	OrderID       int64 // the venue's ID; 0 for an order refused before it was recorded
	Account       int64
	Instrument    string
	Side          Side
	PositionSide  PositionSide
	Status        OrderStatus
	FilledQty     fixed.Dec
	AvgPrice      fixed.Dec
	Fee           fixed.Dec // taker fee, >= 0
	RealizedPnL   fixed.Dec // realised by the reducing part, before the fee
	Reason        RejectReason
	Message       string
	// Duplicate is set in strict mode when the ID was seen before: the result is the
	// original order's, and nothing was executed.
	Duplicate    bool
	TimeUnixNano int64
}

// OrderLookup is QueryOrders' answer for one client order ID.
type OrderLookup struct {
	ClientOrderID string
	Found         bool
	Result        OrderResult // the first order created for the ID; zero when !Found
}

// Transfer moves funds between two accounts.
type Transfer struct {
	ID     string // 1..64 chars; the idempotency key
	From   int64
	To     int64
	Amount fixed.Dec // > 0
	Memo   string    // <= 256 chars
}

// TransferStatus is the outcome of a transfer.
type TransferStatus int8

// Transfer statuses.
const (
	TransferDone     TransferStatus = 1
	TransferRejected TransferStatus = 2
)

// TransferResult is the outcome of a transfer.
type TransferResult struct {
	ID           string
	Status       TransferStatus
	Reason       RejectReason
	Message      string
	Duplicate    bool // the ID was seen: the original result, nothing moved
	TimeUnixNano int64
}

// Position is one non-zero position of an account.
type Position struct {
	Instrument   string
	PositionSide PositionSide
	// Qty is >= 0 for Long and Short; signed for Both (negative = net short).
	Qty           fixed.Dec
	EntryPrice    fixed.Dec
	Margin        fixed.Dec // initial margin held
	Leverage      int32
	MarginMode    MarginMode
	MarkPrice     fixed.Dec
	UnrealizedPnL fixed.Dec
}

// AccountSnapshot is an account's state at one instant.
type AccountSnapshot struct {
	Account      int64
	PositionMode PositionMode
	Balance      fixed.Dec // deposits + transfers + realised PnL - fees
	Equity       fixed.Dec // Balance + unrealised PnL at the marks
	MarginUsed   fixed.Dec
	Available    fixed.Dec // Balance - MarginUsed
	RealizedPnL  fixed.Dec
	FeesPaid     fixed.Dec
	Positions    []Position // sorted by instrument, then position side
}

// Mark is an instrument's mark price.
type Mark struct {
	Instrument   string
	Price        fixed.Dec
	TimeUnixNano int64
}

// Stats are the simulator's counters.
type Stats struct {
	Mode                  Mode
	OrdersCreated         int64 // executed orders, rejected ones included; duplicates excluded
	OrdersFilled          int64
	OrdersPartiallyFilled int64
	OrdersRejected        int64
	DuplicatesReturned    int64
	TransfersDone         int64
	Accounts              int64
	Instruments           int64
	MarkSteps             int64
	FaultsInjected        int64 // venue faults injected (Faults): rejects, bad reports, late/reordered/duplicated responses
	OrdersExpired         int64 // orders refused EXPIRED (never executed, never recorded)
	BadReports            int64 // contract-breaking reports sent (Faults.BadReportRate)
}
