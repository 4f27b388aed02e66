package fixed

import "strconv"

// Rounding selects how an inexact result is rounded. Passing a value other
// than the constants below is a programming error and panics.
type Rounding uint8

const (
	Down     Rounding = iota // toward zero (quantities round down to the lot step)
	Up                       // away from zero
	Floor                    // toward -inf
	Ceil                     // toward +inf
	HalfEven                 // to nearest, ties to even (banker's rounding)
)

// String returns the mode's name, e.g. "HalfEven".
func (r Rounding) String() string {
	switch r {
	case Down:
		return "Down"
	case Up:
		return "Up"
	case Floor:
		return "Floor"
	case Ceil:
		return "Ceil"
	case HalfEven:
		return "HalfEven"
	}
	return "Rounding(" + strconv.Itoa(int(r)) + ")"
}

func (r Rounding) check() {
	if r > HalfEven {
		panic("fixed: invalid rounding mode " + r.String())
	}
}

// away reports whether an inexact quotient q (a magnitude) with remainder
// 0 < rem < div must be bumped one unit away from zero. neg is the sign of the
// exact result.
func (r Rounding) away(neg bool, q, rem, div uint64) bool {
	switch r {
	case Up:
		return true
	case Floor:
		return neg
	case Ceil:
		return !neg
	case HalfEven:
		other := div - rem // distance to the next magnitude; no overflow
		return rem > other || (rem == other && q&1 == 1)
	}
	return false // Down
}

// RoundDownTo rounds d toward zero to a multiple of step (the lot step).
// A step <= 0 returns d unchanged. It cannot overflow.
func (d Dec) RoundDownTo(step Dec) Dec {
	if step <= 0 {
		return d
	}
	return d - d%step
}

// RoundTo rounds d to a multiple of step (the tick size) with rounding r.
// A step <= 0 returns d unchanged. If the rounded value would not fit in a
// Dec, RoundTo returns the Down result (d.RoundDownTo(step)) instead of
// wrapping.
func (d Dec) RoundTo(step Dec, r Rounding) Dec {
	r.check()
	if step <= 0 {
		return d
	}
	rem := d % step
	down := d - rem
	if rem == 0 || !r.away(d < 0, absU(int64(d/step)), absU(int64(rem)), uint64(step)) {
		return down
	}
	if d < 0 {
		if down < MinDec+step {
			return down
		}
		return down - step
	}
	if down > MaxDec-step {
		return down
	}
	return down + step
}
