package fixed

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

const propertyCases = 100_000

func TestMulRoundingTable(t *testing.T) {
	u := FromUnits
	tests := []struct {
		a, b Dec
		want map[Rounding]Dec
	}{
		// 1.5 units × 1.0 is exact.
		{u(15), One, map[Rounding]Dec{Down: 15, Up: 15, Floor: 15, Ceil: 15, HalfEven: 15}},
		// 0.00000001 × 1.5 = 1.5 units: tie.
		{u(1), MustParse("1.5"), map[Rounding]Dec{Down: 1, Up: 2, Floor: 1, Ceil: 2, HalfEven: 2}},
		{u(-1), MustParse("1.5"), map[Rounding]Dec{Down: -1, Up: -2, Floor: -2, Ceil: -1, HalfEven: -2}},
		{u(1), MustParse("-2.5"), map[Rounding]Dec{Down: -2, Up: -3, Floor: -3, Ceil: -2, HalfEven: -2}},
		{u(-1), MustParse("-2.5"), map[Rounding]Dec{Down: 2, Up: 3, Floor: 2, Ceil: 3, HalfEven: 2}},
		// 1.4 units and -1.6 units: not ties.
		{u(1), MustParse("1.4"), map[Rounding]Dec{Down: 1, Up: 2, Floor: 1, Ceil: 2, HalfEven: 1}},
		{u(-1), MustParse("1.6"), map[Rounding]Dec{Down: -1, Up: -2, Floor: -2, Ceil: -1, HalfEven: -2}},
		// 0.1 units and -0.1 units.
		{u(1), MustParse("0.1"), map[Rounding]Dec{Down: 0, Up: 1, Floor: 0, Ceil: 1, HalfEven: 0}},
		{u(1), MustParse("-0.1"), map[Rounding]Dec{Down: 0, Up: -1, Floor: -1, Ceil: 0, HalfEven: 0}},
		// Ordinary values.
		{MustParse("2.5"), MustParse("-4"), map[Rounding]Dec{Down: MustParse("-10"), Up: MustParse("-10"), Floor: MustParse("-10"), Ceil: MustParse("-10"), HalfEven: MustParse("-10")}},
		{MustParse("0.33333333"), MustParse("3"), map[Rounding]Dec{Down: MustParse("0.99999999"), Up: MustParse("0.99999999"), Floor: MustParse("0.99999999"), Ceil: MustParse("0.99999999"), HalfEven: MustParse("0.99999999")}},
	}
	for _, tt := range tests {
		for _, r := range allModes {
			t.Run(fmt.Sprintf("%s×%s/%s", tt.a, tt.b, r), func(t *testing.T) {
				got, err := Mul(tt.a, tt.b, r)
				if err != nil || got != tt.want[r] {
					t.Fatalf("Mul(%s, %s, %s) = %s, %v; want %s", tt.a, tt.b, r, got, err, tt.want[r])
				}
			})
		}
	}
}

func TestDivMulDivMulBpsTable(t *testing.T) {
	tests := []struct {
		name string
		f    func() (Dec, error)
		want Dec
		err  error
	}{
		{"1/3 down", func() (Dec, error) { return Div(One, MustParse("3"), Down) }, MustParse("0.33333333"), nil},
		{"2/3 halfeven", func() (Dec, error) { return Div(MustParse("2"), MustParse("3"), HalfEven) }, MustParse("0.66666667"), nil},
		{"-2/3 down", func() (Dec, error) { return Div(MustParse("-2"), MustParse("3"), Down) }, MustParse("-0.66666666"), nil},
		{"-2/3 floor", func() (Dec, error) { return Div(MustParse("-2"), MustParse("3"), Floor) }, MustParse("-0.66666667"), nil},
		{"-2/3 ceil", func() (Dec, error) { return Div(MustParse("-2"), MustParse("3"), Ceil) }, MustParse("-0.66666666"), nil},
		{"1/-3 up", func() (Dec, error) { return Div(One, MustParse("-3"), Up) }, MustParse("-0.33333334"), nil},
		{"div by zero", func() (Dec, error) { return Div(One, 0, Down) }, 0, ErrDivByZero},
		{"div overflow", func() (Dec, error) { return Div(MaxDec, FromUnits(1), Down) }, 0, ErrOverflow},
		{"div min/-1", func() (Dec, error) { return Div(MinDec, -One, Down) }, 0, ErrOverflow},
		{"div min/1", func() (Dec, error) { return Div(MinDec, One, Down) }, MinDec, nil},
		{"proportional", func() (Dec, error) {
			return MulDiv(MustParse("2"), MustParse("1000"), MustParse("30000"), Down)
		}, MustParse("0.06666666"), nil},
		{"muldiv raw huge", func() (Dec, error) { return MulDiv(MaxDec, MaxDec, MaxDec, Down) }, MaxDec, nil},
		{"muldiv min", func() (Dec, error) { return MulDiv(MinDec, MaxDec, MaxDec, Down) }, MinDec, nil},
		{"muldiv neg overflow", func() (Dec, error) { return MulDiv(MinDec, MinDec, MaxDec, Down) }, 0, ErrOverflow},
		{"muldiv by zero", func() (Dec, error) { return MulDiv(One, One, 0, Down) }, 0, ErrDivByZero},
		{"muldiv three signs", func() (Dec, error) { return MulDiv(-7, -1, -2, Floor) }, -4, nil},
		{"fee 2.5bps up", func() (Dec, error) { return MulBps(MustParse("123.45678901"), 25, Up) }, MustParse("0.30864198"), nil},
		{"fee 2.5bps down", func() (Dec, error) { return MulBps(MustParse("123.45678901"), 25, Down) }, MustParse("0.30864197"), nil},
		{"bps negative amount up", func() (Dec, error) { return MulBps(MustParse("-0.00000001"), 1, Up) }, MustParse("-0.00000001"), nil},
		{"bps 100%", func() (Dec, error) { return MulBps(MinDec, 10_000, Down) }, MinDec, nil},
		{"bps overflow", func() (Dec, error) { return MulBps(MaxDec, 10_001, Down) }, 0, ErrOverflow},
		{"mul overflow", func() (Dec, error) { return Mul(MaxDec, MustParse("1.00000001"), Down) }, 0, ErrOverflow},
		{"mul exact at max", func() (Dec, error) { return Mul(MaxDec, One, Up) }, MaxDec, nil},
		// 65535 × 281479271743489 = 2^64-1, so ÷2 is MaxDec + 0.5 units.
		{"rounding stays in range", func() (Dec, error) { return MulDiv(65535, 281479271743489, 2, Floor) }, MaxDec, nil},
		{"rounding overflows up", func() (Dec, error) { return MulDiv(65535, 281479271743489, 2, Up) }, 0, ErrOverflow},
		{"rounding overflows halfeven", func() (Dec, error) { return MulDiv(65535, 281479271743489, 2, HalfEven) }, 0, ErrOverflow},
		{"rounding reaches min", func() (Dec, error) { return MulDiv(-65535, 281479271743489, 2, Up) }, MinDec, nil},
		{"rounding reaches min halfeven", func() (Dec, error) { return MulDiv(65535, 281479271743489, -2, HalfEven) }, MinDec, nil},
		{"mulint", func() (Dec, error) { return MulInt(MustParse("-1.5"), 3) }, MustParse("-4.5"), nil},
		{"mulint min", func() (Dec, error) { return MulInt(MustParse("-92233720368.54775808"), 1) }, MinDec, nil},
		{"mulint overflow", func() (Dec, error) { return MulInt(MinDec, -1) }, 0, ErrOverflow},
		{"fromint", func() (Dec, error) { return FromInt(-92233720368) }, MustParse("-92233720368"), nil},
		{"fromint overflow", func() (Dec, error) { return FromInt(92233720369) }, 0, ErrOverflow},
		{"fromint min overflow", func() (Dec, error) { return FromInt(math.MinInt64) }, 0, ErrOverflow},
		{"add", func() (Dec, error) { return Add(MustParse("0.1"), MustParse("0.2")) }, MustParse("0.3"), nil},
		{"add overflow", func() (Dec, error) { return Add(MaxDec, 1) }, 0, ErrOverflow},
		{"add neg overflow", func() (Dec, error) { return Add(MinDec, -1) }, 0, ErrOverflow},
		{"add extremes", func() (Dec, error) { return Add(MinDec, MaxDec) }, -1, nil},
		{"sub", func() (Dec, error) { return Sub(MustParse("0.1"), MustParse("0.3")) }, MustParse("-0.2"), nil},
		{"sub overflow", func() (Dec, error) { return Sub(MinDec, 1) }, 0, ErrOverflow},
		{"sub overflow 0-min", func() (Dec, error) { return Sub(0, MinDec) }, 0, ErrOverflow},
		{"sub -1-min", func() (Dec, error) { return Sub(-1, MinDec) }, MaxDec, nil},
		{"abs", func() (Dec, error) { return MustParse("-3.5").Abs() }, MustParse("3.5"), nil},
		{"abs min", func() (Dec, error) { return MinDec.Abs() }, 0, ErrOverflow},
		{"neg", func() (Dec, error) { return MaxDec.Neg() }, MinDec + 1, nil},
		{"neg min", func() (Dec, error) { return MinDec.Neg() }, 0, ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %s, %v; want error %v", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestMinMaxSignCmp(t *testing.T) {
	a, b := MustParse("-1"), MustParse("2")
	if Min(a, b) != a || Min(b, a) != a || Max(a, b) != b || Max(b, a) != b {
		t.Fatal("Min/Max")
	}
	if a.Sign() != -1 || b.Sign() != 1 || Dec(0).Sign() != 0 || !Dec(0).IsZero() || b.IsZero() {
		t.Fatal("Sign/IsZero")
	}
	if a.Cmp(b) != -1 || b.Cmp(a) != 1 || a.Cmp(a) != 0 {
		t.Fatal("Cmp")
	}
	if FromUnits(-7).Units() != -7 {
		t.Fatal("Units")
	}
}

func TestInvalidRoundingPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	_, _ = Mul(One, One, HalfEven+1) // exact product: must still panic
}

// checkOracle compares an implementation result with num/den rounded by the
// reference.
func checkOracle(t *testing.T, what string, got Dec, err error, num, den *big.Int, r Rounding) {
	t.Helper()
	want := bigRound(num, den, r)
	if !fits(want) {
		if !errors.Is(err, ErrOverflow) {
			t.Fatalf("%s %s: got %d, %v; want ErrOverflow (exact %s)", what, r, got, err, want)
		}
		return
	}
	if err != nil || int64(got) != want.Int64() {
		t.Fatalf("%s %s: got %d, %v; want %s", what, r, got, err, want)
	}
}

func TestMulProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	one := bi(int64(One))
	for range propertyCases {
		a, b := genInt64(rng), genInt64(rng)
		num := new(big.Int).Mul(bi(a), bi(b))
		for _, r := range allModes {
			got, err := Mul(Dec(a), Dec(b), r)
			checkOracle(t, fmt.Sprintf("Mul(%d,%d)", a, b), got, err, num, one, r)
		}
	}
}

func TestDivProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range propertyCases {
		a, b := genInt64(rng), genInt64(rng)
		for _, r := range allModes {
			got, err := Div(Dec(a), Dec(b), r)
			if b == 0 {
				if !errors.Is(err, ErrDivByZero) {
					t.Fatalf("Div(%d,0): %v", a, err)
				}
				continue
			}
			num := new(big.Int).Mul(bi(a), bi(int64(One)))
			checkOracle(t, fmt.Sprintf("Div(%d,%d)", a, b), got, err, num, bi(b), r)
		}
	}
}

func TestMulDivProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range propertyCases {
		a, b, c := genInt64(rng), genInt64(rng), genInt64(rng)
		num := new(big.Int).Mul(bi(a), bi(b))
		for _, r := range allModes {
			got, err := MulDiv(Dec(a), Dec(b), Dec(c), r)
			if c == 0 {
				if !errors.Is(err, ErrDivByZero) {
					t.Fatalf("MulDiv(%d,%d,0): %v", a, b, err)
				}
				continue
			}
			checkOracle(t, fmt.Sprintf("MulDiv(%d,%d,%d)", a, b, c), got, err, num, bi(c), r)
		}
	}
}

func TestMulBpsMulIntProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range propertyCases {
		a := genInt64(rng)
		bps := genInt64(rng)
		if rng.IntN(2) == 0 {
			bps = rng.Int64N(40_001) - 20_000 // realistic basis points
		}
		num := new(big.Int).Mul(bi(a), bi(bps))
		for _, r := range allModes {
			got, err := MulBps(Dec(a), bps, r)
			checkOracle(t, fmt.Sprintf("MulBps(%d,%d)", a, bps), got, err, num, bi(10_000), r)
		}
		got, err := MulInt(Dec(a), bps)
		checkOracle(t, fmt.Sprintf("MulInt(%d,%d)", a, bps), got, err, num, bi(1), Down)
	}
}

func TestAddSubSumProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range propertyCases {
		a, b := genInt64(rng), genInt64(rng)
		got, err := Add(Dec(a), Dec(b))
		checkOracle(t, fmt.Sprintf("Add(%d,%d)", a, b), got, err, new(big.Int).Add(bi(a), bi(b)), bi(1), Down)
		got, err = Sub(Dec(a), Dec(b))
		checkOracle(t, fmt.Sprintf("Sub(%d,%d)", a, b), got, err, new(big.Int).Sub(bi(a), bi(b)), bi(1), Down)
	}
	// Sum: sticky overflow against a big running total.
	for range 2_000 {
		var s Sum
		total, over := new(big.Int), false
		for range rng.IntN(20) {
			v := genInt64(rng)
			if rng.IntN(2) == 0 {
				s.Add(Dec(v))
				total.Add(total, bi(v))
			} else {
				s.Sub(Dec(v))
				total.Sub(total, bi(v))
			}
			over = over || !fits(total)
		}
		got, err := s.Result()
		if over {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("Sum: got %d, %v; want ErrOverflow", got, err)
			}
		} else if err != nil || int64(got) != total.Int64() {
			t.Fatalf("Sum: got %d, %v; want %s", got, err, total)
		}
	}
}

func TestSumStickyOverflow(t *testing.T) {
	var s Sum
	s.Add(MaxDec)
	s.Add(1)  // overflows
	s.Add(-1) // would bring it back in range: still an error
	if _, err := s.Result(); !errors.Is(err, ErrOverflow) {
		t.Fatalf("got %v, want ErrOverflow", err)
	}
	var z Sum
	if v, err := z.Result(); v != 0 || err != nil {
		t.Fatalf("empty sum: %s, %v", v, err)
	}
}
