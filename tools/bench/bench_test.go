package bench

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// copytradeBinary builds cmd/copytrade once per test binary, without -race (the
// children need not be instrumented, and it halves their CPU on a 2-core box).
func copytradeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "copytrade-bench-bin-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "copytrade")
		cmd := exec.Command("go", "build", "-o", builtBin, "github.com/copytrade/copytrade/cmd/copytrade")
		var out []byte
		out, buildErr = cmd.CombinedOutput()
		if buildErr != nil {
			buildErr = &buildError{err: buildErr, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build copytrade: %v", buildErr)
	}
	return builtBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

var summaryRE = regexp.MustCompile(`^bench: p99_ms=\S+ floor_p99_ms=\S+ ratio=\S+ max_orders_per_s=\S+ p99_ms_10k_copiers=\S+ failover_ms=\S+ lost=\S+ dup=\S+ cpu_us_per_order=\S+$`)

// TestBenchSmoke: a tiny workload (2 traders × 20 copiers, 3 s, latency) starts its
// processes, stops every one of them, prints the summary line last and writes a report
// whose copier counts add up and whose floor figures are present.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	bin := copytradeBinary(t)
	out := t.TempDir()
	cfg := DefaultConfig()
	cfg.Binary, cfg.Out, cfg.DataDir = bin, out, t.TempDir()
	cfg.Traders, cfg.Copiers = 2, 20
	cfg.Duration, cfg.Warmup = 3*time.Second, 500*time.Millisecond
	cfg.Scenarios = []string{ScenarioLatency}
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	rep, err := Run(ctx, cfg, &stdout)
	if rep != nil {
		if len(rep.Pids) != 5 {
			t.Errorf("started %d processes (%v), want 5: exchsim, 3 nodes, router", len(rep.Pids), rep.Pids)
		}
		for _, pid := range rep.Pids {
			if ProcessAlive(pid) {
				t.Errorf("process %d still alive after Run returned", pid)
			}
		}
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if !summaryRE.MatchString(last) {
		t.Errorf("last line %q is not the summary line", last)
	}
	if !strings.Contains(last, "max_orders_per_s=na") || !strings.Contains(last, "failover_ms=na") {
		t.Errorf("scenarios not run must print na: %q", last)
	}

	got, err := ReadReport(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "| P99 ≤ 5 ms at light load |") || !strings.Contains(string(md), last) {
		t.Errorf("report.md lacks the targets table or the summary line: %v\n%s", err, md)
	}
	l := got.Latency
	if l == nil {
		t.Fatal("report has no latency result")
	}
	c := l.Copier
	if c.Sent == 0 || c.Placed == 0 || l.Fills.OK == 0 {
		t.Errorf("nothing measured: fills %+v copier %+v", l.Fills, c)
	}
	if sum := c.Placed + c.Rejected + c.Skipped + c.Errors; sum != c.Sent {
		t.Errorf("copier counts do not add up: sent %d != placed %d + rejected %d + skipped %d + errors %d = %d",
			c.Sent, c.Placed, c.Rejected, c.Skipped, c.Errors, sum)
	}
	if c.Unaccounted != 0 {
		t.Errorf("%d planned orders in none of placed, rejected, pending", c.Unaccounted)
	}
	if l.Fills.Sent != l.Fills.OK+l.Fills.Ambiguous+l.Fills.Errors {
		t.Errorf("fill counts do not add up: %+v", l.Fills)
	}
	f := l.Floor
	if f.Noop.Count == 0 || !(f.Noop.P50 > 0) || !(f.Noop.P99 > 0) || !(f.NoopCommit.P99 > 0) {
		t.Errorf("no-op floor missing: %+v", f.Noop)
	}
	if f.Gateway500.Count == 0 || !(f.Gateway500.P50 > 0) || !(f.Gateway500.P99 > 0) {
		t.Errorf("gateway floor missing: %+v", f.Gateway500)
	}
	if got.Machine.NumCPU <= 0 || got.Machine.GOMAXPROCS <= 0 || got.Machine.GoVersion == "" {
		t.Errorf("machine not described: %+v", got.Machine)
	}
	if got.Summary.P99Ms == nil || got.Summary.FloorP99Ms == nil || got.Summary.Ratio == nil {
		t.Errorf("summary incomplete: %+v", got.Summary)
	}
	if cpu := l.CPU; cpu == nil {
		t.Error("no CPU per copier order in the latency result")
	} else {
		roles := map[string]int{}
		for _, p := range cpu.Procs {
			roles[p.Role]++
			if p.CPUSec < 0 || p.UsPerOrder < 0 {
				t.Errorf("negative CPU: %+v", p)
			}
		}
		if roles[RoleLeader] != 1 || roles[RoleFollower] != 2 || roles[RoleRouter] != 1 || roles[RoleExchsim] != 1 || roles[RoleLoadgen] != 1 {
			t.Errorf("CPU measured for roles %v, want 1 leader, 2 followers, router, exchsim, loadgen", roles)
		}
		if !(cpu.Copytrade > 0) || got.Summary.CPUUsPerOrder == nil || *got.Summary.CPUUsPerOrder != cpu.Copytrade {
			t.Errorf("copytrade CPU per order %v, summary %v", cpu.Copytrade, got.Summary.CPUUsPerOrder)
		}
		if got.IdleCPU == nil || !(got.IdleCPU.copytradeCores() > 0) || cpu.CopytradeAboveIdle == nil {
			t.Errorf("idle CPU %+v, above idle %v", got.IdleCPU, cpu.CopytradeAboveIdle)
		}
		if f := got.IdleFloor; f == nil || f.Noop.Count == 0 || !(f.Noop.P99 > 0) || f.Gateway500.Count == 0 {
			t.Errorf("floor with no fills %+v", got.IdleFloor)
		}
		if got.QuietCPU == nil || !(got.QuietCPU.copytradeCores() > 0) || cpu.CopytradeNetOfProbes == nil ||
			*cpu.CopytradeNetOfProbes > cpu.Copytrade {
			t.Errorf("quiet CPU %+v, net of probes %v (gross %v)", got.QuietCPU, cpu.CopytradeNetOfProbes, cpu.Copytrade)
		}
		if strings.Contains(last, "cpu_us_per_order=na") {
			t.Errorf("summary lacks the CPU figure: %q", last)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "latency.svg")); err != nil {
		t.Errorf("latency chart: %v", err)
	}
	t.Logf("%s", last)
}

// TestBenchInterrupt: SIGINT to a running `copytrade bench` stops every process it
// started (no orphans), while the cluster is up.
func TestBenchInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	bin := copytradeBinary(t)
	cmd := exec.Command(bin, "bench", "--traders", "2", "--copiers", "5", "--duration", "60s",
		"--data", t.TempDir(), "--scenarios", "latency")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
	}()
	// Wait for the 5 children, then for the load to run a little.
	var kids []int
	deadline := time.Now().Add(30 * time.Second)
	for len(kids) < 5 && time.Now().Before(deadline) {
		kids = childrenOf(cmd.Process.Pid)
		time.Sleep(100 * time.Millisecond)
	}
	if len(kids) < 5 {
		t.Fatalf("only %d children appeared: %v\n%s", len(kids), kids, stderr.String())
	}
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("bench did not exit after SIGINT\n%s", stderr.String())
	}
	for _, pid := range kids {
		if ProcessAlive(pid) {
			t.Errorf("child %d still alive after the bench exited", pid)
		}
	}
}

// childrenOf lists the live processes whose parent is pid.
func childrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
