package convert

import (
	"errors"
	"testing"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// FuzzFill: any fill either converts to a command whose fields satisfy the machine's
// preconditions or is refused with a *FieldError; never a panic.
func FuzzFill(f *testing.F) {
	f.Add(int64(7), int64(1), "BTC-USDT", int64(1), int64(1), "0.5", "60000", int32(10), int64(1), "100", false)
	f.Add(int64(-1), int64(0), "", int64(0), int64(9), "1e3", "-0", int32(0), int64(0), "x", true)
	f.Fuzz(func(t *testing.T, trader, tradeID int64, inst string, side, pos int64, qty, price string,
		lev int32, mm int64, equity string, liq bool) {
		in := &ct.Fill{
			Trader: trader, TradeId: tradeID, Instrument: inst, Side: ct.Side(side),
			PositionSide: ct.PositionSide(pos), Qty: qty, Price: price, Leverage: lev,
			MarginMode: ct.MarginMode(mm), Equity: equity, Liquidation: liq,
			PositionAfter: equity, EventTimeNs: tradeID,
		}
		out, err := Fill("fill", in)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("not a field error: %v", err)
			}
			return
		}
		if out.Trader <= 0 || out.TradeID <= 0 || out.Qty <= 0 || out.Price <= 0 || out.Equity < 0 ||
			out.Leverage < 1 || out.Leverage > 200 || len(out.Instrument) == 0 || len(out.Instrument) > 32 {
			t.Fatalf("accepted an invalid fill: %+v", out)
		}
		if out.EventTimeUnixNano <= 0 || (out.PosSide != 3 && out.PositionAfter < 0) {
			t.Fatalf("accepted an invalid v2 field: %+v", out)
		}
		if out.Qty.String() == "" || out.Liquidation != liq {
			t.Fatalf("round trip: %+v", out)
		}
	})
}
