package fixed

import (
	"math"
	"math/big"
	"math/rand/v2"
)

// This file holds the math/big reference the property tests compare against.
// It is written independently of the implementation: it rounds from the
// floor (Euclidean division) rather than from magnitudes.

var allModes = []Rounding{Down, Up, Floor, Ceil, HalfEven}

// bigRound returns num/den rounded with r. den != 0.
func bigRound(num, den *big.Int, r Rounding) *big.Int {
	n, d := new(big.Int).Set(num), new(big.Int).Set(den)
	if d.Sign() < 0 {
		n.Neg(n)
		d.Neg(d)
	}
	fl, rem := new(big.Int).DivMod(n, d, new(big.Int)) // d > 0: floor, 0 <= rem < d
	if rem.Sign() == 0 {
		return fl
	}
	ce := new(big.Int).Add(fl, big.NewInt(1))
	negative := n.Sign() < 0
	switch r {
	case Floor:
		return fl
	case Ceil:
		return ce
	case Down:
		if negative {
			return ce
		}
		return fl
	case Up:
		if negative {
			return fl
		}
		return ce
	case HalfEven:
		switch new(big.Int).Lsh(rem, 1).Cmp(d) {
		case -1:
			return fl
		case 1:
			return ce
		}
		if fl.Bit(0) == 0 {
			return fl
		}
		return ce
	}
	panic("bad mode")
}

// fits reports whether x is in the Dec range.
func fits(x *big.Int) bool { return x.IsInt64() }

func bi(v int64) *big.Int { return big.NewInt(v) }

// genInt64 draws int64s biased toward interesting magnitudes: zero, ±1,
// extremes, powers of ten, random bit lengths (so products straddle 2^63 and
// 2^64 and quotients straddle the range) and exact multiples of One.
func genInt64(rng *rand.Rand) int64 {
	var v int64
	switch rng.IntN(10) {
	case 0:
		specials := []int64{0, 1, -1, 2, -2, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1,
			int64(One), -int64(One), int64(One) / 2, 3037000499, 3037000500, -3037000500, 10_000, 5_000}
		return specials[rng.IntN(len(specials))]
	case 1:
		p := int64(1)
		for range rng.IntN(19) {
			p *= 10
		}
		v = p + rng.Int64N(3) - 1
	case 2:
		v = rng.Int64N(1000) * int64(One) / int64(1+rng.IntN(4)*rng.IntN(4))
	case 3, 4:
		v = rng.Int64() // full range, huge
	default:
		bitsN := rng.IntN(64)
		v = int64(rng.Uint64() >> (63 - bitsN) >> 1)
		if bitsN == 63 {
			v = rng.Int64()
		}
	}
	if rng.IntN(2) == 0 {
		v = -v
	}
	return v
}
