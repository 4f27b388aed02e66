// Package fixed implements the fixed-point decimals used for every balance,
// price, quantity, fee and profit share in the copytrade state machine.
//
// # One scale
//
// A [Dec] is an int64 counting units of 10^-8: the value × 10^[Scale]. There is
// exactly one scale in the system, so adding two Decs is adding two integers and
// no value ever carries a hidden exponent. The range is therefore
// ±92233720368.54775807 (the int64 range in units). Instruments that trade in
// coarser steps (lot step, tick size) are expressed as Decs too and enforced
// with [Dec.RoundDownTo], [Dec.RoundTo] and, at the RPC edge, [ParseMaxDecimals].
//
// # Exact, deterministic, checked
//
// Everything here is pure: no allocation on the arithmetic paths, no global
// state, no float64. Products and quotients use a 128-bit intermediate
// ([math/bits]), so a*b/c is computed exactly and rounded once, with an explicit
// [Rounding] mode chosen by the caller. A result that does not fit in int64 is
// an error wrapping [ErrOverflow], never a silent wrap-around; division by zero
// wraps [ErrDivByZero]. Because every replica runs the same integer
// instructions, every replica gets bit-identical results.
//
// # Rounding policy
//
// Rounding is never implicit; each call names its mode. The project policy is:
//
//   - Quantities round toward zero to the instrument's lot step ([Down],
//     [Dec.RoundDownTo]): a copied order is never larger than sizing allows,
//     and the venue never sees a quantity off the lot grid.
//   - Prices are snapped to the tick size with [Dec.RoundTo] in the direction
//     the caller needs (for example a slippage band rounds inward).
//   - Fees and profit shares round in the exchange's favour: amounts charged to
//     a user (fees, the profit share taken from a copier) round [Up], away from
//     zero; amounts paid out to traders (a profit-share payout, a rebate) round
//     [Down], toward zero. The sub-unit residue thus always stays with the
//     exchange, and the books can never owe more than they hold.
//   - [Floor] and [Ceil] exist for signed quantities such as PnL, where "in
//     our favour" depends on the sign; [HalfEven] (banker's rounding) is for
//     statistics and display, where bias must not accumulate.
//
// # Why not float64
//
// Binary floating point cannot represent 0.1, so sums of prices drift, equal
// amounts compare unequal, and results can depend on evaluation order and on
// fused multiply-add availability, which differs between CPUs. A replicated
// state machine must produce identical state on every node, and money must add
// up to the last unit; integers give both. Decimal strings, never floats, are
// used at the RPC edge ([Parse], [Dec.String]).
package fixed
