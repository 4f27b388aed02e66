package exchsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// TradeIDScheme is how the venue numbers lead traders' fills.
type TradeIDScheme int8

// Trade ID schemes.
const (
	// TradeIDsGlobal: one counter for every fill, increasing (the friendly default).
	TradeIDsGlobal TradeIDScheme = 0
	// TradeIDsPerInstrument: one increasing counter per instrument, so two traders'
	// (or one trader's) fills on different instruments reuse the same numbers.
	TradeIDsPerInstrument TradeIDScheme = 1
	// TradeIDsScrambled: unique but not monotonic: a later fill may carry a smaller ID.
	TradeIDsScrambled TradeIDScheme = 2
)

// ParseTradeIDScheme reads "global", "per-instrument" or "scrambled".
func ParseTradeIDScheme(s string) (TradeIDScheme, error) {
	switch strings.ToLower(s) {
	case "", "global":
		return TradeIDsGlobal, nil
	case "per-instrument", "perinstrument":
		return TradeIDsPerInstrument, nil
	case "scrambled", "non-monotonic":
		return TradeIDsScrambled, nil
	}
	return 0, fmt.Errorf("%w: trade ID scheme %q is not global, per-instrument or scrambled", ErrInvalidArgument, s)
}

// Faults makes the venue hostile, as real venues are. The zero value is a venue that
// keeps its contract. Every decision is a pure function of (Seed, what is decided, the
// client order ID, the attempt), so a run with the same seed and the same orders sees
// the same faults whatever the goroutine interleaving; latency is drawn per request
// from (Seed, the request's first client order ID, its attempt).
type Faults struct {
	// Seed seeds every fault decision (independent of Config.Seed, which drives marks).
	Seed uint64
	// TradeIDs numbers lead fills globally (default), per instrument, or scrambled.
	TradeIDs TradeIDScheme
	// LatencyMean > 0: each PlaceOrders request waits an exponentially distributed
	// time with this mean before it executes. The wait ignores the caller's deadline:
	// a request the caller gave up on still executes (unless it expired).
	LatencyMean time.Duration
	// LatencyTailRate of requests wait LatencyTail more (0..1): past any expiry.
	LatencyTailRate float64
	LatencyTail     time.Duration
	// PartialRate of executed orders fill half (lot-rounded) (0..1).
	PartialRate float64
	// RejectRate of orders are refused as the venue's own risk checks would: an
	// opening order INSUFFICIENT_MARGIN, a reduce-only order REDUCE_ONLY_VIOLATION, an
	// IOC limit PRICE_OUT_OF_BAND (0..1). Nothing changes on the account.
	RejectRate float64
	// RejectOpensOnly limits RejectRate to orders that are not reduce-only.
	RejectOpensOnly bool
	// Spare, when set, exempts the orders it returns true for from injected rejects
	// and partial fills (a simulation isolating one rule); nil spares none.
	Spare func(o *Order) bool
	// LateRate of requests are answered LateBy after they executed (0..1): the caller
	// has usually timed out, so the order executed but its report was lost.
	LateRate float64
	LateBy   time.Duration
	// ReorderRate of multi-order responses list the reports out of input order (0..1).
	ReorderRate float64
	// DuplicateRate of responses repeat one report (one entry too many) (0..1).
	DuplicateRate float64
	// BadReportRate of executed orders are reported in breach of the contract (0..1):
	// a fee of -0.01, or (for a filled order) a filled qty one lot above the order's.
	// The account moves by the true figures; the venue's record keeps the bad report,
	// so QueryOrders answers it too.
	BadReportRate float64
	// IgnoreExpiry makes the venue execute an order after its request's expiry: a
	// venue that breaks design §4.6 (tests show what that costs).
	IgnoreExpiry bool

	keep func(OrderResult) // records the true result before corrupt rewrites it (Sim.TrueResult)
}

// Enabled reports whether any fault is on.
func (f Faults) Enabled() bool {
	return f.TradeIDs != TradeIDsGlobal || f.LatencyMean > 0 || f.LatencyTailRate > 0 || f.PartialRate > 0 ||
		f.RejectRate > 0 || f.LateRate > 0 || f.ReorderRate > 0 || f.DuplicateRate > 0 || f.BadReportRate > 0 || f.IgnoreExpiry
}

// Validate returns nil or an error wrapping ErrInvalidConfig naming each bad field.
func (f Faults) Validate() error {
	var errs []error
	rate := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("%w: Faults.%s must be between 0 and 1, got %v", ErrInvalidConfig, name, v))
		}
	}
	rate("LatencyTailRate", f.LatencyTailRate)
	rate("PartialRate", f.PartialRate)
	rate("RejectRate", f.RejectRate)
	rate("LateRate", f.LateRate)
	rate("ReorderRate", f.ReorderRate)
	rate("DuplicateRate", f.DuplicateRate)
	rate("BadReportRate", f.BadReportRate)
	for name, d := range map[string]time.Duration{"LatencyMean": f.LatencyMean, "LatencyTail": f.LatencyTail, "LateBy": f.LateBy} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%w: Faults.%s must not be negative, got %s", ErrInvalidConfig, name, d))
		}
	}
	if f.TradeIDs < TradeIDsGlobal || f.TradeIDs > TradeIDsScrambled {
		errs = append(errs, fmt.Errorf("%w: Faults.TradeIDs must be global, per-instrument or scrambled, got %d", ErrInvalidConfig, f.TradeIDs))
	}
	return errors.Join(errs...)
}

// What a fault decision is about; part of the hash, so decisions are independent.
const (
	rollLatency uint64 = iota + 1
	rollTail
	rollPartial
	rollReject
	rollLate
	rollReorder
	rollDuplicate
	rollBad
	rollBadKind
	rollPick
)

// roll is a uniform number in [0, 1) from (seed, kind, key, attempt): splitmix64 over
// an FNV-1a hash of the key.
func (f *Faults) roll(kind uint64, key string, attempt uint32) float64 {
	return float64(f.draw(kind, key, attempt)>>11) / (1 << 53)
}

func (f *Faults) draw(kind uint64, key string, attempt uint32) uint64 {
	h := uint64(14695981039346656037)
	var b [20]byte
	binary.LittleEndian.PutUint64(b[:8], f.Seed)
	binary.LittleEndian.PutUint64(b[8:16], kind)
	binary.LittleEndian.PutUint32(b[16:], attempt)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * 1099511628211
	}
	h += 0x9E3779B97F4A7C15
	h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9
	h = (h ^ (h >> 27)) * 0x94D049BB133111EB
	return h ^ (h >> 31)
}

// latency is how long a request whose first order is key waits before it executes.
func (f *Faults) latency(key string, attempt uint32) time.Duration {
	var d time.Duration
	if f.LatencyMean > 0 {
		u := f.roll(rollLatency, key, attempt)
		d = time.Duration(-math.Log(1-u) * float64(f.LatencyMean))
	}
	if f.LatencyTailRate > 0 && f.roll(rollTail, key, attempt) < f.LatencyTailRate {
		d += f.LatencyTail
	}
	return d
}

// injectedReject is the venue-side refusal an order draws, or ReasonNone.
func (f *Faults) injectedReject(o *Order, attempt uint32) (RejectReason, string) {
	if f.RejectRate <= 0 || (f.RejectOpensOnly && o.ReduceOnly) || (f.Spare != nil && f.Spare(o)) ||
		f.roll(rollReject, o.ClientOrderID, attempt) >= f.RejectRate {
		return ReasonNone, ""
	}
	switch {
	case o.Type == IOCLimit:
		return ReasonPriceOutOfBand, "injected: IOC limit not marketable"
	case o.ReduceOnly:
		return ReasonReduceOnlyViolation, "injected: reduce-only refused by the venue's position check"
	}
	return ReasonInsufficientMargin, "injected: the venue's margin check refused the order"
}

// corrupt rewrites an executed order's report in breach of the contract.
func (f *Faults) corrupt(r *OrderResult, qty, lot fixed.Dec, attempt uint32) bool {
	if f.BadReportRate <= 0 || r.Status == Rejected || f.roll(rollBad, r.ClientOrderID, attempt) >= f.BadReportRate {
		return false
	}
	if f.keep != nil {
		f.keep(*r)
	}
	if r.Status == Filled && f.roll(rollBadKind, r.ClientOrderID, attempt) < 0.5 {
		r.FilledQty = qty + lot
		return true
	}
	r.Fee = -fixed.MustParse("0.01")
	return true
}

// shapeResponse applies the response-level faults (reorder, duplicate) to a batch's
// results; key and attempt identify the request.
func (f *Faults) shapeResponse(out []OrderResult, key string, attempt uint32) ([]OrderResult, int) {
	n := 0
	if len(out) > 1 && f.ReorderRate > 0 && f.roll(rollReorder, key, attempt) < f.ReorderRate {
		// Rotate by a drawn amount in 1..len-1: every report moves.
		k := 1 + int(f.draw(rollPick, key, attempt)%uint64(len(out)-1))
		rot := append(append(make([]OrderResult, 0, len(out)), out[k:]...), out[:k]...)
		out = rot
		n++
	}
	if len(out) > 0 && f.DuplicateRate > 0 && f.roll(rollDuplicate, key, attempt) < f.DuplicateRate {
		i := int(f.draw(rollPick, key, attempt+1) % uint64(len(out)))
		out = append(out[:i+1:i+1], append([]OrderResult{out[i]}, out[i+1:]...)...)
		n++
	}
	return out, n
}

// now is the venue's time in unix nanoseconds (Config.Clock or the wall clock).
func (s *Sim) now() int64 {
	if s.cfg.Clock != nil {
		return s.cfg.Clock().UnixNano()
	}
	return time.Now().UnixNano()
}

// TrueResult is what the venue really did for a client order ID whose report was
// corrupted (Faults.BadReportRate): the figures an operator reads from the venue's
// books to resolve the quarantined order. ok is false if the report was not corrupted.
// SIMULATOR-ONLY.
func (s *Sim) TrueResult(id string) (OrderResult, bool) {
	s.badMu.Lock()
	defer s.badMu.Unlock()
	r, ok := s.bad[id]
	return r, ok
}

// tradeID numbers one lead fill on instrument in by the configured scheme.
func (s *Sim) tradeID(in *instrument) int64 {
	switch s.cfg.Faults.TradeIDs {
	case TradeIDsPerInstrument:
		return in.tradeSeq.Add(1)
	case TradeIDsScrambled:
		// A bijection of 1..2^40 (an odd multiplier mod 2^40): unique, not monotonic.
		seq := uint64(s.nextTradeID.Add(1))
		const mask = 1<<40 - 1
		return int64(((seq*0x5DEECE66D5)^s.cfg.Faults.Seed)&mask) + 1
	}
	return s.nextTradeID.Add(1)
}

// respond applies the response-level faults to an executed request's results: reports
// reordered or duplicated, and the answer held back (Faults.LateRate) after the orders
// executed.
func (s *Sim) respond(out []OrderResult) []OrderResult {
	f := &s.cfg.Faults
	if len(out) == 0 || (f.ReorderRate <= 0 && f.DuplicateRate <= 0 && f.LateRate <= 0) {
		return out
	}
	key, attempt := out[0].ClientOrderID, uint32(s.responses.Add(1))
	out, n := f.shapeResponse(out, key, attempt)
	if f.LateRate > 0 && f.roll(rollLate, key, attempt) < f.LateRate {
		n++
		time.Sleep(f.LateBy)
	}
	s.nFaults.Add(int64(n))
	return out
}

// HostileFaults is the preset `--venue-faults` turns on: every fault at a rate that
// shows up in a short run, latency that sometimes passes a 2 s dispatch timeout, and
// per-instrument trade IDs. Expiry stays enforced.
func HostileFaults(seed uint64) Faults {
	return Faults{
		Seed: seed, TradeIDs: TradeIDsPerInstrument,
		LatencyMean: 2 * time.Millisecond, LatencyTailRate: 0.002, LatencyTail: 3 * time.Second,
		PartialRate: 0.05, RejectRate: 0.02, LateRate: 0.002, LateBy: 3 * time.Second,
		ReorderRate: 0.01, DuplicateRate: 0.005, BadReportRate: 0.001,
	}
}
