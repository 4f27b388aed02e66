package convert

import (
	"slices"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Edge limits beyond raftfsm's (which are in raftfsm/types.go).
const (
	MaxFillsPerRequest = 1000    // SubmitFills batch
	MaxPageSize        = 1000    // ListFollowers
	DefaultPageSize    = 100     //
	MaxOrdersPage      = 10000   // ListOrders
	DefaultOrdersPage  = 1000    //
	MaxBps             = 10000   // 100 %, for win rate, slippage, stop-loss
	MaxTakeProfitBps   = 1e6     // 10000 %
	MaxAbsROIBps       = 1e7     // eligibility rule bound
	MaxSlotImportBytes = 1 << 28 // 256 MiB of exported slot state
)

// decimal parses a required decimal string.
func decimal(field, s string) (fixed.Dec, error) {
	if s == "" {
		return 0, fieldErr(field, "is required")
	}
	d, err := fixed.Parse(s)
	if err != nil {
		return 0, fieldErr(field, "is not a decimal with at most %d places: %q", fixed.Scale, clip(s))
	}
	return d, nil
}

func positive(field, s string) (fixed.Dec, error) {
	d, err := decimal(field, s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fieldErr(field, "must be > 0, got %s", s)
	}
	return d, nil
}

func nonNegative(field, s string) (fixed.Dec, error) {
	d, err := decimal(field, s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fieldErr(field, "must be >= 0, got %s", s)
	}
	return d, nil
}

// optNonNegative is nonNegative where "" means 0.
func optNonNegative(field, s string) (fixed.Dec, error) {
	if s == "" {
		return 0, nil
	}
	return nonNegative(field, s)
}

func account(field string, v int64) (raftfsm.AccountID, error) {
	if v <= 0 {
		return 0, fieldErr(field, "must be an account ID > 0, got %d", v)
	}
	return raftfsm.AccountID(v), nil
}

// optAccount allows 0 (no account) and refuses negatives.
func optAccount(field string, v int64) (raftfsm.AccountID, error) {
	if v < 0 {
		return 0, fieldErr(field, "must be 0 or an account ID > 0, got %d", v)
	}
	return raftfsm.AccountID(v), nil
}

func intRange(field string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fieldErr(field, "must be in %d..%d, got %d", lo, hi, v)
	}
	return nil
}

// symbol checks an instrument symbol: 1..MaxSymbolLen bytes of letters, digits and -_./.
func symbol(field, s string) error {
	if s == "" {
		return fieldErr(field, "is required")
	}
	if len(s) > raftfsm.MaxSymbolLen {
		return fieldErr(field, "must be at most %d bytes, got %d", raftfsm.MaxSymbolLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '/'
		if !ok {
			return fieldErr(field, "has a character outside A-Z a-z 0-9 - _ . /: %q", clip(s))
		}
	}
	return nil
}

// symbols validates a list of symbols and returns a sorted copy; duplicates are refused.
func symbols(field string, in []string) ([]string, error) {
	if len(in) > raftfsm.MaxInstrumentsLed {
		return nil, fieldErr(field, "must list at most %d instruments, got %d", raftfsm.MaxInstrumentsLed, len(in))
	}
	if len(in) == 0 {
		return nil, nil
	}
	for i, s := range in {
		if err := symbol(field+"["+itoa(i)+"]", s); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(in)
	slices.Sort(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return nil, fieldErr(field, "lists %q twice", out[i])
		}
	}
	return out, nil
}

// enum checks an IDL enum value against raftfsm's valid range [lo, hi].
func enum[T ~int64](field string, v T, lo, hi int64) error {
	if int64(v) < lo || int64(v) > hi {
		return fieldErr(field, "is not a valid value: %d", int64(v))
	}
	return nil
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// clip keeps error messages bounded whatever the input.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
