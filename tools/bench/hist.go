package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram is a log-linear latency histogram in nanoseconds: values below 2^(subBits+1)
// are counted exactly; above, each power of two is split into 2^subBits equal
// sub-buckets, so any recorded value is reported within 1/2^(subBits+1) (0.2%) of itself.
// It is what HdrHistogram does with two significant digits, in ninety lines and with no
// dependency (the module graph is shared and busy; see docs/benchmarks.md).
//
// Not safe for concurrent use: the driver records from one goroutine, or under a lock.
type Histogram struct {
	counts []uint64
	n      uint64
	min    int64
	max    int64
	sum    float64
}

const (
	subBits  = 8
	subCount = 1 << subBits
	// maxExp covers values up to 2^(subBits+1+maxExp) ns ≈ 2^49 ns ≈ 6 days.
	maxExp = 40
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf maps a value (ns, >= 0) to its bucket index: exact below 2·subCount, then
// e = the power of two above that, m = v>>e in [subCount, 2·subCount).
func bucketOf(v int64) int {
	if v < 2*subCount {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1 // >= 1
	if e > maxExp {
		return numBuckets - 1
	}
	return e*subCount + int(uint64(v)>>e)
}

const numBuckets = (maxExp + 2) * subCount

// bucketValue is the middle of bucket i: the value a percentile reports.
func bucketValue(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	e := i/subCount - 1
	m := int64(i - e*subCount)
	return m<<e + (int64(1)<<e)/2
}

// Record adds one value.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	h.n++
	h.min = min(h.min, v)
	h.max = max(h.max, v)
	h.sum += float64(v)
}

// Merge adds every value of o.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
	h.sum += o.sum
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Mean is the arithmetic mean (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Max is the largest value recorded (exact).
func (h *Histogram) Max() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.max)
}

// Quantile returns the value at quantile q in [0, 1] (0 when empty); the exact minimum
// and maximum are returned at the ends.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(bucketValue(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Millis is d in milliseconds, for reports.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
