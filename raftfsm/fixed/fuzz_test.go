package fixed

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// refGrammar is the accepted syntax, stated independently of the hand-written
// scanner.
var refGrammar = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// refParse is the math/big.Rat reference for Parse: which sentinel, or which
// value in units.
func refParse(s string) (units int64, want error) {
	if !refGrammar.MatchString(s) {
		return 0, ErrSyntax
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > Scale {
		return 0, ErrPrecision
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("reference grammar accepted what big.Rat refuses: " + s)
	}
	v.Mul(v, new(big.Rat).SetInt64(int64(One)))
	if !v.IsInt() || !v.Num().IsInt64() {
		if !v.IsInt() {
			panic("at most Scale places must give whole units: " + s)
		}
		return 0, ErrOverflow
	}
	return v.Num().Int64(), nil
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "1", "1.0", "-0.5", "123.45600000", "0.00000001", "007.5",
		"92233720368.54775807", "-92233720368.54775808", "92233720368.54775808",
		"", "+", "+1", ".", "1.", ".5", "1e3", "NaN", "Inf", " 1", "1.123456789",
		"99999999999999999999", "-", "--1", "1.2.3", "0x1p3", "1_0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		units, want := refParse(s)
		if want != nil {
			if !errors.Is(err, want) {
				t.Fatalf("Parse(%q) = %d, %v; reference says %v", s, d, err, want)
			}
			return
		}
		if err != nil || d.Units() != units {
			t.Fatalf("Parse(%q) = %d, %v; reference says %d", s, d, err, units)
		}
		back, err := Parse(d.String())
		if err != nil || back != d {
			t.Fatalf("Parse(String(%q)=%q) = %d, %v", s, d.String(), back, err)
		}
	})
}
