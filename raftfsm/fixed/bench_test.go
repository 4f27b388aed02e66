package fixed

import "testing"

var (
	sinkDec Dec
	sinkErr error
	sinkStr string
)

func BenchmarkMul(b *testing.B) {
	x, y := MustParse("12345.6789"), MustParse("-0.00123457")
	for b.Loop() {
		sinkDec, sinkErr = Mul(x, y, HalfEven)
	}
}

func BenchmarkDiv(b *testing.B) {
	x, y := MustParse("12345.6789"), MustParse("-3.14159265")
	for b.Loop() {
		sinkDec, sinkErr = Div(x, y, Down)
	}
}

func BenchmarkMulDiv(b *testing.B) {
	q, alloc, equity := MustParse("1.234"), MustParse("5000"), MustParse("123456.789")
	for b.Loop() {
		sinkDec, sinkErr = MulDiv(q, alloc, equity, Down)
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		sinkDec, sinkErr = Parse("-12345.67890123")
	}
}

func BenchmarkString(b *testing.B) {
	d := MustParse("-12345.6789")
	for b.Loop() {
		sinkStr = d.String()
	}
}

func BenchmarkAppendTo(b *testing.B) {
	d := MustParse("-12345.6789")
	buf := make([]byte, 0, 32)
	for b.Loop() {
		buf = d.AppendTo(buf[:0])
	}
}

// TestHotPathDoesNotAllocate pins the zero-allocation promise of the
// arithmetic and Parse success paths.
func TestHotPathDoesNotAllocate(t *testing.T) {
	x, y, z := MustParse("12345.6789"), MustParse("-0.00123457"), MustParse("7.5")
	for name, f := range map[string]func(){
		"Mul":    func() { sinkDec, sinkErr = Mul(x, y, HalfEven) },
		"Div":    func() { sinkDec, sinkErr = Div(x, z, Floor) },
		"MulDiv": func() { sinkDec, sinkErr = MulDiv(x, y, z, Up) },
		"MulBps": func() { sinkDec, sinkErr = MulBps(x, 25, Up) },
		"Add":    func() { sinkDec, sinkErr = Add(x, y) },
		"RoundTo": func() {
			sinkDec = x.RoundTo(z, Ceil)
		},
		"Parse": func() { sinkDec, sinkErr = Parse("-12345.67890123") },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %.1f times per call", name, n)
		}
	}
}
