package fixed

import (
	"errors"
	"fmt"
	"math"
)

// Scale is the number of decimal places of every Dec.
const Scale = 8

// One is the Dec for 1.0.
const One Dec = 100_000_000

// Dec is a signed fixed-point decimal: the value × 10^Scale.
//
// The zero value is 0. Dec is an integer, so ==, < and friends compare values.
type Dec int64

// Extremes of the Dec range.
const (
	MaxDec Dec = math.MaxInt64 // 92233720368.54775807
	MinDec Dec = math.MinInt64 // -92233720368.54775808
)

// Sentinel errors. Functions wrap them with context; test with errors.Is.
var (
	// ErrSyntax: the text is not a plain decimal -?[0-9]+(\.[0-9]+)?.
	ErrSyntax = errors.New("fixed: invalid decimal syntax")
	// ErrPrecision: the text has more decimal places than allowed.
	ErrPrecision = errors.New("fixed: too many decimal places")
	// ErrOverflow: the exact result is outside the int64 range of units.
	ErrOverflow = errors.New("fixed: overflow")
	// ErrDivByZero: the divisor is zero.
	ErrDivByZero = errors.New("fixed: division by zero")
)

// FromInt returns i × One, or ErrOverflow if it does not fit.
func FromInt(i int64) (Dec, error) {
	d, ok := mulDivMag(absU(i), uint64(One), 1, i < 0, Down)
	if !ok {
		return 0, fmt.Errorf("%w: integer %d", ErrOverflow, i)
	}
	return d, nil
}

// FromUnits returns the Dec of units × 10^-Scale (no conversion).
func FromUnits(units int64) Dec { return Dec(units) }

// Units returns the raw count of 10^-Scale units.
func (d Dec) Units() int64 { return int64(d) }

// IsZero reports whether d == 0.
func (d Dec) IsZero() bool { return d == 0 }

// Sign returns -1, 0 or +1.
func (d Dec) Sign() int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// Cmp returns -1, 0 or +1 as d is less than, equal to or greater than e.
func (d Dec) Cmp(e Dec) int {
	switch {
	case d < e:
		return -1
	case d > e:
		return 1
	}
	return 0
}

// Abs returns |d|; ErrOverflow for MinDec.
func (d Dec) Abs() (Dec, error) {
	if d == MinDec {
		return 0, fmt.Errorf("%w: abs %s", ErrOverflow, d)
	}
	if d < 0 {
		return -d, nil
	}
	return d, nil
}

// Neg returns -d; ErrOverflow for MinDec.
func (d Dec) Neg() (Dec, error) {
	if d == MinDec {
		return 0, fmt.Errorf("%w: neg %s", ErrOverflow, d)
	}
	return -d, nil
}

// Min returns the smaller of a and b.
func Min(a, b Dec) Dec {
	if a < b {
		return a
	}
	return b
}

// Max returns the larger of a and b.
func Max(a, b Dec) Dec {
	if a > b {
		return a
	}
	return b
}

// String returns the canonical, shortest exact form: "1.5", "-0.00000001",
// "100", "0". Parse(d.String()) == d for every d.
func (d Dec) String() string {
	var buf [24]byte
	return string(d.AppendTo(buf[:0]))
}

// AppendTo appends d.String() to b. It does not allocate when b has room
// for 21 more bytes.
func (d Dec) AppendTo(b []byte) []byte {
	u := absU(int64(d))
	if d < 0 {
		b = append(b, '-')
	}
	ip, fp := u/uint64(One), u%uint64(One)
	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + ip%10)
		ip /= 10
		if ip == 0 {
			break
		}
	}
	b = append(b, digits[i:]...)
	if fp == 0 {
		return b
	}
	var frac [Scale]byte
	for j := Scale - 1; j >= 0; j-- {
		frac[j] = byte('0' + fp%10)
		fp /= 10
	}
	n := Scale
	for frac[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, frac[:n]...)
}

// absU returns |i| as a uint64; exact for math.MinInt64.
func absU(i int64) uint64 {
	u := uint64(i)
	if i < 0 {
		u = -u
	}
	return u
}
