package exchsim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Mode selects how the venue treats a repeated client order ID.
type Mode int8

// Modes.
const (
	// Strict: a repeated client order ID returns the original order's result
	// (Duplicate=true) and never creates a second order. Venues behave like this
	// inside their dedup window.
	Strict Mode = 1
	// NoDedup: a repeated client order ID creates a second order, as real venues do
	// once their dedup window has passed. Only the caller's own exactly-once logic
	// (query before re-placing) keeps orders single.
	NoDedup Mode = 2
)

func (m Mode) String() string {
	switch m {
	case Strict:
		return "strict"
	case NoDedup:
		return "nodedup"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads "strict" or "nodedup".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "strict":
		return Strict, nil
	case "nodedup", "no-dedup":
		return NoDedup, nil
	}
	return 0, fmt.Errorf("%w: mode %q is neither strict nor nodedup", ErrInvalidArgument, s)
}

// InstrumentSpec describes one perpetual contract.
type InstrumentSpec struct {
	// Symbol names the instrument, 1..32 chars, e.g. "BTCUSDT".
	Symbol string
	// LotStep is the quantity grid: every order qty is a multiple of it (> 0).
	LotStep fixed.Dec
	// TickSize is the price grid: marks, fill prices and limit prices lie on it (> 0).
	TickSize fixed.Dec
	// MinQty is the smallest opening order qty (>= 0, on the lot step).
	// Reduce-only orders are exempt, so residues can always be closed.
	MinQty fixed.Dec
	// MinNotional is the smallest qty × price of an opening order (>= 0).
	// Reduce-only orders are exempt.
	MinNotional fixed.Dec
	// MaxLeverage is the highest leverage an order may ask for (>= 1).
	MaxLeverage int32
	// MarkPrice is the initial mark price (> 0); rounded to the tick grid.
	MarkPrice fixed.Dec
}

// Validate returns nil or an error wrapping ErrInvalidConfig that says what is wrong.
func (s InstrumentSpec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: instrument %q: "+format, append([]any{ErrInvalidConfig, s.Symbol}, args...)...))
	}
	if s.Symbol == "" || len(s.Symbol) > 32 {
		bad("Symbol must have 1 to 32 characters.")
	}
	if s.LotStep <= 0 {
		bad("LotStep must be positive, got %s.", s.LotStep)
	}
	if s.TickSize <= 0 {
		bad("TickSize must be positive, got %s.", s.TickSize)
	}
	if s.MinQty < 0 || (s.LotStep > 0 && s.MinQty%s.LotStep != 0) {
		bad("MinQty must be zero or a positive multiple of LotStep, got %s.", s.MinQty)
	}
	if s.MinNotional < 0 {
		bad("MinNotional must not be negative, got %s.", s.MinNotional)
	}
	if s.MaxLeverage < 1 || s.MaxLeverage > 1000 {
		bad("MaxLeverage must be between 1 and 1000, got %d.", s.MaxLeverage)
	}
	if s.MarkPrice <= 0 {
		bad("MarkPrice must be positive, got %s.", s.MarkPrice)
	}
	return errors.Join(errs...)
}

// Config configures a Sim and its server. Start from DefaultConfig.
type Config struct {
	// ListenAddr is the host:port the Kitex server listens on; port 0 picks a free port.
	// Only Serve uses it.
	ListenAddr string
	// Mode is Strict (dedup by client order ID) or NoDedup (a repeated ID is a new order).
	Mode Mode
	// Seed seeds the mark-price random walks; the same seed and number of steps give
	// the same marks.
	Seed uint64
	// SpreadBps is the full bid/ask spread around the mark, in basis points: a buy fills
	// at mark + SpreadBps/2, a sell at mark - SpreadBps/2 (rounded to the tick, against
	// the taker). 0..1000.
	SpreadBps int64
	// TakerFeeBps is the fee on every fill's notional, in basis points, rounded up. 0..1000.
	TakerFeeBps int64
	// MarkStepInterval is how often the background ticker steps every instrument's
	// random walk once; 0 disables the ticker (marks move only through StepMarks and
	// SetMark).
	MarkStepInterval time.Duration
	// MarkVolatilityBps is the standard deviation of one random-walk step, in basis
	// points of the current mark. 0..1000.
	MarkVolatilityBps int64
	// AutoCreateAccounts creates an unknown account on its first order, with
	// DefaultBalance and DefaultPositionMode. When false such an order is rejected
	// with UNKNOWN_ACCOUNT.
	AutoCreateAccounts bool
	// DefaultBalance is the wallet balance of an auto-created account (>= 0).
	DefaultBalance fixed.Dec
	// DefaultPositionMode is the position mode of an auto-created account.
	DefaultPositionMode PositionMode
	// PartialFillEveryN makes every Nth order the venue executes fill only half its
	// qty (rounded down to the lot step), so callers can exercise PARTIALLY_FILLED.
	// 0 disables partial fills.
	PartialFillEveryN int64
	// MaxBatch is the largest number of entries one request may carry (1..100000).
	MaxBatch int
	// Instruments are listed at start; SetInstrument adds more later.
	Instruments []InstrumentSpec
	// LeadTraders are accounts created at start (DefaultBalance, DefaultPositionMode),
	// so lead traders exist before their first order and profit-share payouts to them
	// never fail as UNKNOWN_ACCOUNT. With AutoCreateAccounts a transfer to an unknown
	// account also creates it (with a zero balance).
	LeadTraders []int64
	// StateFile, when set, keeps the venue's accounts, orders, transfers and marks on
	// disk: New loads it if it exists, Save (and Close) write it atomically. A restart
	// is then an outage, not amnesia.
	StateFile string
	// Faults makes the venue hostile; the zero value keeps the contract.
	Faults Faults
	// Clock, when set, is the venue's time for executing orders (their expiry check
	// and report times): a simulation's virtual clock. nil means time.Now.
	Clock func() time.Time
	// Logger receives the simulator's structured logs; nil means slog.Default().
	Logger *slog.Logger
	// OnPlace, when set, sees every copier order the venue answered (executed,
	// rejected or expired) with the request's expiry and sender term: a test's
	// account of who placed what when (exactly-once diagnostics). It must not block.
	OnPlace func(o *Order, r *OrderResult)
}

// DefaultBatchLimit is DefaultConfig's MaxBatch, the limit the IDL documents.
const DefaultBatchLimit = 5000

// DefaultInstruments are three USDT-margined perpetuals with venue-like grids.
func DefaultInstruments() []InstrumentSpec {
	return []InstrumentSpec{
		{Symbol: "BTCUSDT", LotStep: fixed.MustParse("0.001"), TickSize: fixed.MustParse("0.1"),
			MinQty: fixed.MustParse("0.001"), MinNotional: fixed.MustParse("5"), MaxLeverage: 125,
			MarkPrice: fixed.MustParse("60000")},
		{Symbol: "ETHUSDT", LotStep: fixed.MustParse("0.001"), TickSize: fixed.MustParse("0.01"),
			MinQty: fixed.MustParse("0.001"), MinNotional: fixed.MustParse("5"), MaxLeverage: 100,
			MarkPrice: fixed.MustParse("3000")},
		{Symbol: "SOLUSDT", LotStep: fixed.MustParse("0.01"), TickSize: fixed.MustParse("0.001"),
			MinQty: fixed.MustParse("0.01"), MinNotional: fixed.MustParse("5"), MaxLeverage: 50,
			MarkPrice: fixed.MustParse("150")},
	}
}

// DefaultConfig returns a strict-mode venue on 127.0.0.1:7400 with the default
// instruments, a 2 bps spread, a 5 bps taker fee, marks stepping 1 bp every 100 ms and
// auto-created hedge-mode accounts holding 1,000,000.
func DefaultConfig() Config {
	return Config{
		ListenAddr:          "127.0.0.1:7400",
		Mode:                Strict,
		Seed:                1,
		SpreadBps:           2,
		TakerFeeBps:         5,
		MarkStepInterval:    100 * time.Millisecond,
		MarkVolatilityBps:   1,
		AutoCreateAccounts:  true,
		DefaultBalance:      fixed.MustParse("1000000"),
		DefaultPositionMode: Hedge,
		PartialFillEveryN:   0,
		MaxBatch:            DefaultBatchLimit,
		Instruments:         DefaultInstruments(),
	}
}

// Validate returns nil or an error wrapping ErrInvalidConfig listing every problem.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.ListenAddr != "" {
		if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
			bad("ListenAddr must be host:port, got %q.", c.ListenAddr)
		}
	}
	if c.Mode != Strict && c.Mode != NoDedup {
		bad("Mode must be Strict or NoDedup, got %d.", c.Mode)
	}
	if c.SpreadBps < 0 || c.SpreadBps > 1000 {
		bad("SpreadBps must be between 0 and 1000, got %d.", c.SpreadBps)
	}
	if c.TakerFeeBps < 0 || c.TakerFeeBps > 1000 {
		bad("TakerFeeBps must be between 0 and 1000, got %d.", c.TakerFeeBps)
	}
	if c.MarkStepInterval < 0 {
		bad("MarkStepInterval must not be negative, got %s.", c.MarkStepInterval)
	}
	if c.MarkVolatilityBps < 0 || c.MarkVolatilityBps > 1000 {
		bad("MarkVolatilityBps must be between 0 and 1000, got %d.", c.MarkVolatilityBps)
	}
	if c.DefaultBalance < 0 {
		bad("DefaultBalance must not be negative, got %s.", c.DefaultBalance)
	}
	if c.DefaultPositionMode != Hedge && c.DefaultPositionMode != OneWay {
		bad("DefaultPositionMode must be Hedge or OneWay, got %d.", c.DefaultPositionMode)
	}
	if c.PartialFillEveryN < 0 {
		bad("PartialFillEveryN must not be negative, got %d.", c.PartialFillEveryN)
	}
	if c.MaxBatch < 1 || c.MaxBatch > 100_000 {
		bad("MaxBatch must be between 1 and 100000, got %d.", c.MaxBatch)
	}
	if err := c.Faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	seen := make(map[string]bool, len(c.Instruments))
	for _, in := range c.Instruments {
		if err := in.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[in.Symbol] {
			bad("instrument %q is listed twice.", in.Symbol)
		}
		seen[in.Symbol] = true
	}
	return errors.Join(errs...)
}
