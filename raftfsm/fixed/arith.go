package fixed

import (
	"fmt"
	"math"
	"math/bits"
)

// Add returns a + b, or ErrOverflow.
func Add(a, b Dec) (Dec, error) {
	s := a + b
	if (s > a) != (b > 0) {
		return 0, fmt.Errorf("%w: %s + %s", ErrOverflow, a, b)
	}
	return s, nil
}

// Sub returns a - b, or ErrOverflow.
func Sub(a, b Dec) (Dec, error) {
	s := a - b
	if (s < a) != (b > 0) {
		return 0, fmt.Errorf("%w: %s - %s", ErrOverflow, a, b)
	}
	return s, nil
}

// Mul returns a × b rounded with r: the raw product a*b/One computed with a
// 128-bit intermediate. ErrOverflow if the rounded result does not fit.
func Mul(a, b Dec, r Rounding) (Dec, error) {
	r.check()
	d, ok := mulDivMag(absU(int64(a)), absU(int64(b)), uint64(One), (a < 0) != (b < 0), r)
	if !ok {
		return 0, fmt.Errorf("%w: %s × %s", ErrOverflow, a, b)
	}
	return d, nil
}

// Div returns a ÷ b rounded with r: a*One/b with a 128-bit intermediate.
// ErrDivByZero if b == 0; ErrOverflow if the rounded result does not fit.
func Div(a, b Dec, r Rounding) (Dec, error) {
	r.check()
	if b == 0 {
		return 0, fmt.Errorf("%w: %s ÷ 0", ErrDivByZero, a)
	}
	d, ok := mulDivMag(absU(int64(a)), uint64(One), absU(int64(b)), (a < 0) != (b < 0), r)
	if !ok {
		return 0, fmt.Errorf("%w: %s ÷ %s", ErrOverflow, a, b)
	}
	return d, nil
}

// MulDiv returns a × b ÷ c on the raw units, rounded once with r. The scales
// cancel, so MulDiv(qty, allocation, equity, Down) is qty×allocation/equity
// as a Dec. ErrDivByZero if c == 0; ErrOverflow if the result does not fit.
func MulDiv(a, b, c Dec, r Rounding) (Dec, error) {
	r.check()
	if c == 0 {
		return 0, fmt.Errorf("%w: %s × %s ÷ 0", ErrDivByZero, a, b)
	}
	neg := (a < 0) != (b < 0) != (c < 0)
	d, ok := mulDivMag(absU(int64(a)), absU(int64(b)), absU(int64(c)), neg, r)
	if !ok {
		return 0, fmt.Errorf("%w: %s × %s ÷ %s", ErrOverflow, a, b, c)
	}
	return d, nil
}

// MulInt returns a × n exactly, or ErrOverflow.
func MulInt(a Dec, n int64) (Dec, error) {
	d, ok := mulDivMag(absU(int64(a)), absU(n), 1, (a < 0) != (n < 0), Down)
	if !ok {
		return 0, fmt.Errorf("%w: %s × %d", ErrOverflow, a, n)
	}
	return d, nil
}

// BpsDenominator is the number of basis points in 1 (100%).
const BpsDenominator = 10_000

// MulBps returns a × bps / 10 000 rounded with r (bps in basis points, so
// 25 is 0.25%), with a 128-bit intermediate. ErrOverflow if it does not fit.
func MulBps(a Dec, bps int64, r Rounding) (Dec, error) {
	r.check()
	d, ok := mulDivMag(absU(int64(a)), absU(bps), BpsDenominator, (a < 0) != (bps < 0), r)
	if !ok {
		return 0, fmt.Errorf("%w: %s × %d bps", ErrOverflow, a, bps)
	}
	return d, nil
}

// mulDivMag computes x*y/z (magnitudes, z > 0) rounded with r for a result of
// sign neg, and converts it to a Dec. ok is false if it does not fit.
func mulDivMag(x, y, z uint64, neg bool, r Rounding) (d Dec, ok bool) {
	hi, lo := bits.Mul64(x, y)
	if hi >= z { // quotient >= 2^64: bits.Div64 would panic, and it cannot fit
		return 0, false
	}
	q, rem := bits.Div64(hi, lo, z)
	if rem != 0 && r.away(neg, q, rem, z) {
		q++
		if q == 0 {
			return 0, false
		}
	}
	return fromMag(q, neg)
}

// fromMag converts a magnitude and sign to a Dec; ok is false if out of range.
func fromMag(u uint64, neg bool) (Dec, bool) {
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return Dec(-u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return Dec(u), true
}
