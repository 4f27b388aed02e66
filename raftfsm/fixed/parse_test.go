package fixed

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in    string
		units int64
		canon string // String() of the result
	}{
		{"0", 0, "0"},
		{"-0", 0, "0"},
		{"-0.00000000", 0, "0"},
		{"000", 0, "0"},
		{"1", 100_000_000, "1"},
		{"1.0", 100_000_000, "1"},
		{"-0.5", -50_000_000, "-0.5"},
		{"1.5", 150_000_000, "1.5"},
		{"123.45600000", 12_345_600_000, "123.456"},
		{"0.00000001", 1, "0.00000001"},
		{"-0.00000001", -1, "-0.00000001"},
		{"100", 10_000_000_000, "100"},
		{"007.50", 750_000_000, "7.5"},
		{"0.1", 10_000_000, "0.1"},
		{"99999999.99999999", 9_999_999_999_999_999, "99999999.99999999"},
		{"92233720368.54775807", math.MaxInt64, "92233720368.54775807"},
		{"-92233720368.54775808", math.MinInt64, "-92233720368.54775808"},
		{"92233720368", 9_223_372_036_800_000_000, "92233720368"},
		{"-92233720368.54775807", math.MinInt64 + 1, "-92233720368.54775807"},
		{"0000000000000000000000000000001", 100_000_000, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := Parse(tt.in)
			if err != nil || d.Units() != tt.units {
				t.Fatalf("Parse(%q) = %d, %v; want %d", tt.in, d.Units(), err, tt.units)
			}
			if got := d.String(); got != tt.canon {
				t.Fatalf("String() = %q; want %q", got, tt.canon)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrSyntax},
		{"-", ErrSyntax},
		{"+", ErrSyntax},
		{"+1", ErrSyntax},
		{".", ErrSyntax},
		{"-.", ErrSyntax},
		{"1.", ErrSyntax},
		{".5", ErrSyntax},
		{"-.5", ErrSyntax},
		{"--1", ErrSyntax},
		{"1-", ErrSyntax},
		{"1.2.3", ErrSyntax},
		{"1..2", ErrSyntax},
		{"1e3", ErrSyntax},
		{"1E-3", ErrSyntax},
		{"1.5e0", ErrSyntax},
		{"0x10", ErrSyntax},
		{"NaN", ErrSyntax},
		{"nan", ErrSyntax},
		{"Inf", ErrSyntax},
		{"-Inf", ErrSyntax},
		{"infinity", ErrSyntax},
		{" 1", ErrSyntax},
		{"1 ", ErrSyntax},
		{"1\n", ErrSyntax},
		{"- 1", ErrSyntax},
		{"1_000", ErrSyntax},
		{"1,5", ErrSyntax},
		{"١", ErrSyntax}, // Arabic-Indic digit one
		{"1/2", ErrSyntax},
		{"99999999999999999999999x", ErrSyntax},       // syntax before range
		{"1.123456789x", ErrSyntax},                   // syntax before precision
		{"1.123456789", ErrPrecision},                 // 9 places
		{"0.000000000", ErrPrecision},                 // 9 places, even zeros
		{"99999999999999999.123456789", ErrPrecision}, // precision before range
		{"92233720368.54775808", ErrOverflow},
		{"-92233720368.54775809", ErrOverflow},
		{"92233720369", ErrOverflow},
		{"18446744073709551616", ErrOverflow},
		{"-99999999999999999999999999999999", ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %s, %v; want %v", tt.in, d, err, tt.want)
			}
			if d != 0 {
				t.Fatalf("Parse(%q) returned %s with an error", tt.in, d)
			}
		})
	}
}

func TestParseErrorMessageBounded(t *testing.T) {
	_, err := Parse(strings.Repeat("x", 1<<20))
	if !errors.Is(err, ErrSyntax) || len(err.Error()) > 100 {
		t.Fatalf("unbounded error message (%d bytes): %.100v", len(err.Error()), err)
	}
}

func TestParseMaxDecimals(t *testing.T) {
	tests := []struct {
		in    string
		max   int
		units int64
		err   error
	}{
		{"1.5", 1, 150_000_000, nil},
		{"1.55", 1, 0, ErrPrecision},
		{"1.50", 1, 0, ErrPrecision}, // digits are counted as written
		{"1", 0, 100_000_000, nil},
		{"1.0", 0, 0, ErrPrecision},
		{"1.0", -3, 0, ErrPrecision}, // negative max acts as 0
		{"0.00000001", 8, 1, nil},
		{"0.00000001", 20, 1, nil},           // clamped to Scale
		{"0.000000001", 20, 0, ErrPrecision}, // still at most Scale
		{"1.5x", 1, 0, ErrSyntax},
		{"92233720369", 3, 0, ErrOverflow},
	}
	for _, tt := range tests {
		d, err := ParseMaxDecimals(tt.in, tt.max)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseMaxDecimals(%q, %d) = %s, %v; want %v", tt.in, tt.max, d, err, tt.err)
			}
			continue
		}
		if err != nil || d.Units() != tt.units {
			t.Errorf("ParseMaxDecimals(%q, %d) = %d, %v; want %d", tt.in, tt.max, d.Units(), err, tt.units)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic")
		} else if err, ok := r.(error); !ok || !errors.Is(err, ErrSyntax) {
			t.Fatalf("panic value %v, want ErrSyntax", r)
		}
	}()
	MustParse("1.")
}

func TestStringRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	check := func(d Dec) {
		s := d.String()
		back, err := Parse(s)
		if err != nil || back != d {
			t.Fatalf("Parse(%q) = %d, %v; want %d", s, back, err, d)
		}
		// Canonical: no trailing fractional zeros, no "-0", no leading zeros.
		if strings.Contains(s, ".") && strings.HasSuffix(s, "0") || s == "-0" ||
			strings.HasPrefix(strings.TrimPrefix(s, "-"), "0") && !strings.HasPrefix(strings.TrimPrefix(s, "-"), "0.") && s != "0" {
			t.Fatalf("non-canonical %q for %d", s, d)
		}
		if got := string(d.AppendTo([]byte("x="))); got != "x="+s {
			t.Fatalf("AppendTo = %q; want %q", got, "x="+s)
		}
	}
	for _, d := range []Dec{0, 1, -1, One, -One, MaxDec, MinDec, MaxDec - 1, MinDec + 1, One - 1, -(One - 1), One + 1, 10 * One, 100_000_000 * One} {
		check(d)
	}
	for range propertyCases {
		check(Dec(genInt64(rng)))
	}
}

func TestAppendToDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		buf = MinDec.AppendTo(buf[:0])
		buf = MustParse("-0.00000001").AppendTo(buf)
	})
	if allocs != 0 {
		t.Fatalf("AppendTo allocates %.1f times", allocs)
	}
}
