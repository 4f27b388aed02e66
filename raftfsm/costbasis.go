package raftfsm

import "github.com/copytrade/copytrade/raftfsm/fixed"

// Cost basis (design §3: "Money is exact over a round trip"). A position
// keeps its entry cost, not only an average: an open adds qty × price, a
// close releases the closed share of the cost, and closing everything
// releases all of it. So fully closing a position realises exactly
// Σ exit value − Σ entry cost; rounding (always against the holder: a
// long's cost up, a short's proceeds down, a partial release toward the
// holder's loss) only moves value between the partial closes of one
// position, it never creates or loses any. The average entry is derived
// from the cost for display and mark-to-market.

// entryValue is q × p rounded against the holder of side: up for a long
// (what it paid), down for a short (what it received).
func entryValue(side PosSide, q, p fixed.Dec) (fixed.Dec, error) {
	if side == Short {
		return fixed.Mul(q, p, fixed.Down)
	}
	return fixed.Mul(q, p, fixed.Up)
}

// exitValue is q × p rounded against the holder: down for a long's
// proceeds, up for what a short pays back.
func exitValue(side PosSide, q, p fixed.Dec) (fixed.Dec, error) {
	if side == Short {
		return fixed.Mul(q, p, fixed.Up)
	}
	return fixed.Mul(q, p, fixed.Down)
}

// growCost adds q at price p to a position of qty with entry cost cost and
// returns the new quantity, cost and average entry (cost / qty, half-even).
func growCost(side PosSide, qty, cost, q, p fixed.Dec) (nq, nc, avg fixed.Dec, err error) {
	if nq, err = fixed.Add(qty, q); err != nil {
		return
	}
	v, err := entryValue(side, q, p)
	if err != nil {
		return
	}
	if nc, err = fixed.Add(cost, v); err != nil {
		return
	}
	avg, err = fixed.Div(nc, nq, fixed.HalfEven)
	return
}

// shrinkCost closes q (<= qty) of a position of qty with entry cost cost at
// price p: it returns the cost left and the realised PnL. All of the cost
// goes when q == qty.
func shrinkCost(side PosSide, qty, cost, q, p fixed.Dec) (left, gain fixed.Dec, err error) {
	released := cost
	if q < qty {
		// The holder's loss side: a long releases more cost, a short less.
		r := fixed.Up
		if side == Short {
			r = fixed.Down
		}
		released = prorata(cost, q, qty, r)
	}
	exit, err := exitValue(side, q, p)
	if err != nil {
		return 0, 0, err
	}
	if side == Short {
		gain, err = fixed.Sub(released, exit)
	} else {
		gain, err = fixed.Sub(exit, released)
	}
	return cost - released, gain, err
}

// avgOf is cost / qty, half-even; 0 for an empty position.
func avgOf(qty, cost fixed.Dec) fixed.Dec {
	if qty == 0 {
		return 0
	}
	avg, err := fixed.Div(cost, qty, fixed.HalfEven)
	if err != nil {
		return 0
	}
	return avg
}
