package bench

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A real line's shape; the command name holds spaces and a ')'.
	line := "4242 (copy trade) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 1234 567 0 0 20 0 9 0 100 1000000 2000 " +
		"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got != 1234+567 {
		t.Errorf("utime+stime = %d, want %d", got, 1234+567)
	}
	for _, bad := range []string{"", "4242 comm S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 0 0 0 0 0 abc 5 0"} {
		if _, err := parseStatCPU([]byte(bad)); !errors.Is(err, ErrProcStat) {
			t.Errorf("parseStatCPU(%q) = %v, want ErrProcStat", bad, err)
		}
	}
}

// TestReadProcCPU: this process's CPU time grows while it spins.
func TestReadProcCPU(t *testing.T) {
	a, err := readProcCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	x := 0
	for {
		for i := 0; i < 1e6; i++ {
			x += i
		}
		b, err := readProcCPU(0)
		if err != nil {
			t.Fatal(err)
		}
		if b > a {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not grow in 20 s of spinning (%v, %d)", a, x)
		}
	}
	if _, err := readProcCPU(1 << 30); err == nil {
		t.Error("reading a pid that does not exist succeeded")
	}
}

func TestCPUUsage(t *testing.T) {
	procs := []cpuProc{{"g1n1", RoleLeader, 1}, {"g1n2", RoleFollower, 2}, {"g1n3", RoleFollower, 3},
		{"router", RoleRouter, 4}, {"exchsim", RoleExchsim, 5}, {"bench", RoleLoadgen, 0}, {"gone", RoleFollower, 6}}
	t0 := time.Unix(1000, 0)
	before := cpuSample{at: t0, used: map[string]time.Duration{"g1n1": 10 * time.Second, "g1n2": time.Second,
		"g1n3": time.Second, "router": 0, "exchsim": 5 * time.Second, "bench": 0, "gone": time.Second}}
	// 4 s of wall time, 10,000 orders/s: 40,000 orders.
	after := cpuSample{at: t0.Add(4 * time.Second), used: map[string]time.Duration{
		"g1n1":    12 * time.Second,                     // 2 s → 50 µs/order
		"g1n2":    1500 * time.Millisecond,              // 0.5 s → 12.5
		"g1n3":    1400 * time.Millisecond,              // 0.4 s → 10
		"router":  200 * time.Millisecond,               // 0.2 s → 5
		"exchsim": 5*time.Second + 800*time.Millisecond, // 0.8 s → 20
		"bench":   400 * time.Millisecond,               // 0.4 s → 10
		// "gone" exited: not in the after sample, left out
	}}
	u := cpuUsage(procs, before, after, 10000)
	if u == nil {
		t.Fatal("nil usage")
	}
	if u.Copytrade != 77.5 || u.Exchsim != 20 || u.Loadgen != 10 {
		t.Errorf("copytrade %v exchsim %v loadgen %v, want 77.5 20 10", u.Copytrade, u.Exchsim, u.Loadgen)
	}
	if len(u.Procs) != 6 {
		t.Errorf("%d processes, want 6 (the one that exited is left out)", len(u.Procs))
	}
	if got := u.byRole(RoleFollower); got != 22.5 {
		t.Errorf("followers %v, want 22.5", got)
	}
	if p := u.Procs[0]; p.Cores != 0.5 || p.CPUSec != 2 || p.UsPerOrder != 50 {
		t.Errorf("leader %+v, want 2 s, 0.5 cores, 50 µs", p)
	}
	if !math.IsNaN((&CPUUsage{}).byRole(RoleRouter)) {
		t.Error("byRole of an absent role is not NaN")
	}
	if cpuUsage(procs, after, before, 1) != nil {
		t.Error("usage over a negative interval")
	}
	// Idle: 4 s with no orders, nodes + router 0.25 cores; at 10,000 orders/s they used
	// 0.775 cores: 52.5 µs per order above idle.
	idle := cpuUsage(procs, before, cpuSample{at: t0.Add(4 * time.Second), used: map[string]time.Duration{
		"g1n1": 10*time.Second + 600*time.Millisecond, "g1n2": 1200 * time.Millisecond, "g1n3": 1200 * time.Millisecond,
		"router": 0, "exchsim": 5 * time.Second, "bench": 0}}, 0)
	if idle == nil || idle.Copytrade != 0 || math.Abs(idle.copytradeCores()-0.25) > 1e-9 {
		t.Fatalf("idle usage %+v", idle)
	}
	u.setAboveIdle(idle, nil)
	if u.CopytradeAboveIdle == nil || *u.CopytradeAboveIdle != 52.5 || u.CopytradeNetOfProbes != nil {
		t.Errorf("above idle %v, want 52.5 (net of probes %v, want none)", u.CopytradeAboveIdle, u.CopytradeNetOfProbes)
	}
	// Quiet (nothing sent): 0.05 cores, so the probes cost 0.2 of the idle 0.25; at
	// 10,000 orders/s the 0.775 cores less 0.2 are 57.5 µs per order.
	quiet := cpuUsage(procs, before, cpuSample{at: t0.Add(4 * time.Second), used: map[string]time.Duration{
		"g1n1": 10*time.Second + 120*time.Millisecond, "g1n2": time.Second + 40*time.Millisecond, "g1n3": time.Second + 40*time.Millisecond,
		"router": 0, "exchsim": 5 * time.Second, "bench": 0}}, 0)
	if math.Abs(quiet.copytradeCores()-0.05) > 1e-9 {
		t.Fatalf("quiet usage %+v", quiet)
	}
	u.setAboveIdle(idle, quiet)
	if u.CopytradeNetOfProbes == nil || *u.CopytradeNetOfProbes != 57.5 || *u.CopytradeAboveIdle != 52.5 {
		t.Errorf("net of probes %v, want 57.5; above idle %v, want 52.5", u.CopytradeNetOfProbes, u.CopytradeAboveIdle)
	}
}
