package fixed

import (
	"fmt"
	"math"
)

// Parse reads a plain decimal: an optional '-', one or more ASCII digits, and
// optionally '.' followed by one or more digits (at most Scale of them).
// Leading zeros are allowed ("007.5"); "-0" is 0. Rejected with ErrSyntax:
// "", "-", "+1", ".5", "1.", "1e3", "NaN", "Inf", spaces, '_' and anything
// else. More than Scale digits after the point (even zeros) is ErrPrecision;
// a value outside [MinDec, MaxDec] is ErrOverflow. Syntax is checked before
// precision, precision before range.
func Parse(s string) (Dec, error) { return parse(s, Scale) }

// ParseMaxDecimals is Parse refusing more than max digits after the point
// (ErrPrecision), for instrument scales at the RPC edge. Digits are counted as
// written: with maxDecimals 1, "1.50" is refused. maxDecimals is clamped to
// [0, Scale].
func ParseMaxDecimals(s string, maxDecimals int) (Dec, error) {
	return parse(s, min(Scale, max(maxDecimals, 0)))
}

// MustParse is Parse that panics on error; for tests and constants only.
func MustParse(s string) Dec {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// maxIntPart is the largest integer part a Dec can hold.
const maxIntPart = uint64(math.MaxInt64) / uint64(One) // 92233720368

func parse(s string, maxDec int) (Dec, error) {
	i := 0
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		i = 1
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd := i
	if intEnd == intStart {
		return 0, fmt.Errorf("%w: %s", ErrSyntax, quote(s))
	}
	fracStart, fracEnd := i, i
	if i < len(s) {
		if s[i] != '.' {
			return 0, fmt.Errorf("%w: %s", ErrSyntax, quote(s))
		}
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == fracStart || i != len(s) {
			return 0, fmt.Errorf("%w: %s", ErrSyntax, quote(s))
		}
		fracEnd = i
	}
	if fracEnd-fracStart > maxDec {
		return 0, fmt.Errorf("%w: %s has %d, at most %d allowed", ErrPrecision, quote(s), fracEnd-fracStart, maxDec)
	}
	var ip uint64
	for j := intStart; j < intEnd; j++ {
		ip = ip*10 + uint64(s[j]-'0')
		if ip > maxIntPart+1 { // stays far below 2^64/10, so no wrap
			return 0, fmt.Errorf("%w: %s", ErrOverflow, quote(s))
		}
	}
	var fp uint64
	for j := fracStart; j < fracEnd; j++ {
		fp = fp*10 + uint64(s[j]-'0')
	}
	for j := fracEnd - fracStart; j < Scale; j++ {
		fp *= 10
	}
	u := ip*uint64(One) + fp // ip <= 92233720369, so < 2^64
	d, ok := fromMag(u, neg)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrOverflow, quote(s))
	}
	return d, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// quote renders s for an error message, truncated so that hostile input
// cannot blow up logs.
func quote(s string) string {
	const limit = 40
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
