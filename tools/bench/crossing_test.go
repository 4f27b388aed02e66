package bench

import (
	"math"
	"testing"
)

func step(rate, ordersPerS, p99 float64, sustained bool) LoadResult {
	return LoadResult{TargetRate: rate, OrdersPerS: ordersPerS, Latency: Dist{P99: p99}, Sustained: sustained}
}

func TestCrossingRate(t *testing.T) {
	cases := []struct {
		name  string
		steps []LoadResult
		want  float64
	}{
		{"interpolated", []LoadResult{step(10, 5000, 10, true), step(15, 7500, 30, true), step(22.5, 11000, 80, false),
			step(22.5, 11200, 70, false), step(33.75, 12000, 200, false), step(33.75, 12000, 210, false)},
			// between (7500, 30) and the repeat that decided 22.5/s, (11200, 70): 50 ms at the middle.
			7500 + 0.5*3700},
		{"a noisy early step held on its repeat", []LoadResult{step(10, 5000, 10, true), step(15, 7500, 90, false),
			step(15, 7400, 20, true), step(22.5, 11000, 40, true), step(33.75, 15000, 60, false), step(33.75, 15000, 60, false)},
			11000 + 0.5*4000},
		{"saturated: the failing step acknowledged less", []LoadResult{step(10, 5000, 10, true), step(15, 4000, 300, false),
			step(15, 4000, 300, false)}, 5000},
		{"failed on backlog, not P99", []LoadResult{step(10, 5000, 10, true), step(15, 7000, 40, false),
			step(15, 7000, 45, false)}, 5000},
		{"never sustained", []LoadResult{step(10, 5000, 90, false), step(10, 5000, 90, false)}, 0},
		{"never failed", []LoadResult{step(10, 5000, 9, true), step(15, 7500, 12, true)}, 0},
		{"empty", nil, 0},
	}
	for _, c := range cases {
		if got := crossingRate(c.steps, 50); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: crossing %v, want %v", c.name, got, c.want)
		}
	}
}

func TestVerdictsRepeat(t *testing.T) {
	v := verdicts([]LoadResult{step(10, 1, 1, true), step(15, 1, 90, false), step(15, 2, 20, true),
		step(22.5, 1, 90, false), step(22.5, 1, 95, false)})
	if len(v) != 3 {
		t.Fatalf("%d verdicts, want 3", len(v))
	}
	if !v[1].sustained || v[1].decisive.OrdersPerS != 2 {
		t.Errorf("a rate whose repeat held is sustained by the repeat: %+v", v[1])
	}
	if v[2].sustained || v[2].decisive.Latency.P99 != 95 {
		t.Errorf("a rate that failed twice is decided by its repeat: %+v", v[2])
	}
}

// TestThroughputRepeatsFailingStep: a step that fails once is run again at the same
// rate and, when the repeat holds, the sweep goes on; two rates in a row failing twice
// end it; the crossing is reported.
func TestThroughputRepeatsFailingStep(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ThroughputStart, cfg.StepFactor, cfg.MaxSteps = 10, 2, 10
	// P99 by (rate, try): 20/s stalls once; 80/s and 160/s fail on both tries.
	p99 := map[float64][]float64{10: {10}, 20: {120, 20}, 40: {30}, 80: {70, 70}, 160: {200, 200}, 320: {1}}
	tries := map[float64]int{}
	var names []string
	res, err := sweepRates(&cfg, func(name string, rate float64) (LoadResult, error) {
		names = append(names, name)
		p := p99[rate][tries[rate]]
		tries[rate]++
		return step(rate, rate*500, p, p <= 50), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"throughput#1", "throughput#2", "throughput#2 again", "throughput#3", "throughput#4",
		"throughput#4 again", "throughput#5", "throughput#5 again"}
	if len(names) != len(want) {
		t.Fatalf("steps run %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("steps run %v, want %v", names, want)
		}
	}
	if res.MaxOrdersPerS != 20000 || res.Repeats != 3 {
		t.Errorf("max %v repeats %d, want 20000 and 3", res.MaxOrdersPerS, res.Repeats)
	}
	// (20000, 30) → (40000, 70): 50 ms halfway.
	if res.CrossingOrdersPerS != 30000 {
		t.Errorf("crossing %v, want 30000", res.CrossingOrdersPerS)
	}
}

// TestCPUFit: steps whose cores are 0.3 + 4 µs × orders/s fit back to those figures;
// one rate alone does not fit.
func TestCPUFit(t *testing.T) {
	var steps []LoadResult
	for _, x := range []float64{5000, 10000, 20000} {
		cores := 0.3 + x*4e-6
		steps = append(steps, LoadResult{CPU: &CPUUsage{OrdersPerS: x, Copytrade: cores / x * 1e6}})
	}
	steps = append(steps, LoadResult{}) // no CPU measured: left out
	m, f, ok := cpuFit(steps)
	if !ok || math.Abs(m-4) > 1e-9 || math.Abs(f-0.3) > 1e-12 {
		t.Errorf("fit %v µs + %v cores (ok %v), want 4 and 0.3", m, f, ok)
	}
	if _, _, ok := cpuFit(steps[:1]); ok {
		t.Error("one step fitted")
	}
	if _, _, ok := cpuFit([]LoadResult{steps[0], steps[0]}); ok {
		t.Error("two steps at one rate fitted")
	}
}
