package fixed

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestRoundDownTo(t *testing.T) {
	tests := []struct{ d, step, want string }{
		{"1.23456789", "0.001", "1.234"},
		{"-1.23456789", "0.001", "-1.234"},
		{"0.0009", "0.001", "0"},
		{"-0.0009", "0.001", "0"},
		{"5", "0.001", "5"},
		{"7.9", "2", "6"},
		{"-7.9", "2", "-6"},
		{"0.00000001", "0.00000001", "0.00000001"},
		{"1.5", "0", "1.5"},  // step <= 0: unchanged
		{"1.5", "-1", "1.5"}, // step <= 0: unchanged
		{"-92233720368.54775808", "0.5", "-92233720368.5"},
		{"92233720368.54775807", "0.5", "92233720368.5"},
	}
	for _, tt := range tests {
		if got := MustParse(tt.d).RoundDownTo(MustParse(tt.step)); got != MustParse(tt.want) {
			t.Errorf("%s.RoundDownTo(%s) = %s; want %s", tt.d, tt.step, got, tt.want)
		}
	}
}

func TestRoundTo(t *testing.T) {
	tests := []struct {
		d, step string
		want    map[Rounding]string
	}{
		{"1.25", "0.5", map[Rounding]string{Down: "1", Up: "1.5", Floor: "1", Ceil: "1.5", HalfEven: "1"}}, // tie: 2.5 ticks -> 2
		{"1.75", "0.5", map[Rounding]string{Down: "1.5", Up: "2", Floor: "1.5", Ceil: "2", HalfEven: "2"}}, // tie: 3.5 ticks -> 4
		{"-1.75", "0.5", map[Rounding]string{Down: "-1.5", Up: "-2", Floor: "-2", Ceil: "-1.5", HalfEven: "-2"}},
		{"-1.1", "0.5", map[Rounding]string{Down: "-1", Up: "-1.5", Floor: "-1.5", Ceil: "-1", HalfEven: "-1"}},
		{"2", "0.5", map[Rounding]string{Down: "2", Up: "2", Floor: "2", Ceil: "2", HalfEven: "2"}},
		{"0.0015", "0.001", map[Rounding]string{Down: "0.001", Up: "0.002", HalfEven: "0.002"}},
		{"0.0025", "0.001", map[Rounding]string{HalfEven: "0.002"}},
		{"-0.0025", "0.001", map[Rounding]string{HalfEven: "-0.002", Floor: "-0.003", Ceil: "-0.002"}},
		{"1.5", "0", map[Rounding]string{Up: "1.5"}},
		// Would overflow: the Down result is returned instead.
		{"92233720368.54775807", "0.5", map[Rounding]string{Up: "92233720368.5", Ceil: "92233720368.5", HalfEven: "92233720368.5"}},
		{"-92233720368.54775808", "0.5", map[Rounding]string{Up: "-92233720368.5", Floor: "-92233720368.5"}},
		{"-92233720368.54775808", "0.00000001", map[Rounding]string{Up: "-92233720368.54775808"}},
	}
	for _, tt := range tests {
		for r, want := range tt.want {
			if got := MustParse(tt.d).RoundTo(MustParse(tt.step), r); got != MustParse(want) {
				t.Errorf("%s.RoundTo(%s, %s) = %s; want %s", tt.d, tt.step, r, got, want)
			}
		}
	}
}

func TestRoundToProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	steps := []int64{1, 2, 3, 1_000, 100_000, 50_000_000, int64(One), 7 * int64(One)}
	for range propertyCases {
		d := genInt64(rng)
		step := steps[rng.IntN(len(steps))]
		if rng.IntN(4) == 0 {
			step = genInt64(rng)
		}
		if step <= 0 {
			for _, r := range allModes {
				if got := Dec(d).RoundTo(Dec(step), r); got != Dec(d) {
					t.Fatalf("RoundTo(%d, %d, %s) = %d; want unchanged", d, step, r, got)
				}
			}
			continue
		}
		down := new(big.Int).Mul(bigRound(bi(d), bi(step), Down), bi(step))
		if got := Dec(d).RoundDownTo(Dec(step)); int64(got) != down.Int64() {
			t.Fatalf("RoundDownTo(%d, %d) = %d; want %s", d, step, got, down)
		}
		for _, r := range allModes {
			want := new(big.Int).Mul(bigRound(bi(d), bi(step), r), bi(step))
			if !fits(want) {
				want = down
			}
			if got := Dec(d).RoundTo(Dec(step), r); int64(got) != want.Int64() {
				t.Fatalf("%s: RoundTo(%d, %d) = %d; want %s", r, d, step, got, want)
			}
		}
	}
}

func TestRoundingString(t *testing.T) {
	for _, r := range allModes {
		if s := r.String(); s == "" || s[0] == 'R' {
			t.Errorf("%d: %q", r, s)
		}
	}
	if s := fmt.Sprint(Rounding(9)); s != "Rounding(9)" {
		t.Errorf("got %q", s)
	}
}
