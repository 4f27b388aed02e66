package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistogramError checks every quantile against the exact sorted value: within 1%.
func TestHistogramError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := NewHistogram()
	vals := make([]int64, 0, 100000)
	for range 100000 {
		v := int64(r.ExpFloat64()*float64(2*time.Millisecond)) + int64(r.IntN(1000))
		vals = append(vals, v)
		h.Record(time.Duration(v))
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := int64(h.Quantile(q))
		if d := float64(got-exact) / float64(exact); d > 0.01 || d < -0.01 {
			t.Errorf("q%.4f: got %d, exact %d (%.3f%%)", q, got, exact, d*100)
		}
	}
	if h.Quantile(1) != time.Duration(vals[len(vals)-1]) || h.Quantile(0) != time.Duration(vals[0]) {
		t.Errorf("ends: got %v..%v, want %v..%v", h.Quantile(0), h.Quantile(1), vals[0], vals[len(vals)-1])
	}
	for _, v := range []int64{0, 1, 511, 512, 513, 1 << 20, 1<<40 + 12345} {
		i := bucketOf(v)
		if b := bucketValue(i); float64(b-v) > 0.004*float64(v)+1 || float64(v-b) > 0.004*float64(v)+1 {
			t.Errorf("value %d → bucket %d → %d", v, i, b)
		}
	}
}
