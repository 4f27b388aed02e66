package ingest

import (
	"errors"
	"testing"
)

// FuzzDecode: no input makes Decode panic; whatever decodes re-encodes and decodes to
// the same fill.
func FuzzDecode(f *testing.F) {
	for _, fm := range []Format{FormatJSON, FormatThrift} {
		b, _ := Encode(fm, leadFill(7, 1))
		f.Add(uint8(fm), b)
	}
	f.Add(uint8(FormatThrift), []byte{0xff, 0x00, 0x13, '{'})
	f.Add(uint8(FormatJSON), []byte(`{"trader":1,"trade_id":"x"}`))
	f.Fuzz(func(t *testing.T, fm uint8, b []byte) {
		format := Format(fm%2 + 1)
		fill, err := Decode(format, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := Encode(format, fill)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(format, again)
		if err != nil || back.Trader != fill.Trader || back.TradeId != fill.TradeId || back.Qty != fill.Qty {
			t.Fatalf("round trip: %+v → %+v, %v", fill, back, err)
		}
	})
}
