package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bytedance/sonic"
)

// FillCounts count fills (signals) of a measured window.
type FillCounts struct {
	// Offered: Poisson arrivals inside the measured window.
	Offered int64 `json:"offered"`
	// Sent: fills sent inside the measured window.
	Sent int64 `json:"sent"`
	// OK: applied, every planned order answered or counted pending.
	OK int64 `json:"ok"`
	// Ambiguous: answered DUPLICATE_FILL after an ambiguous attempt (a node died or
	// timed out after taking it): applied once, by the earlier attempt; its counts are
	// not in the answer.
	Ambiguous int64 `json:"ambiguous"`
	// Errors: failed after every retry, or refused.
	Errors int64 `json:"errors"`
	// Retries: attempts beyond the first.
	Retries int64 `json:"retries"`
	// Backlog: arrivals never sent because the trader's previous fill was still in
	// flight when the window ended (the load exceeded what the cluster answered).
	Backlog int64 `json:"backlog"`
}

// CopierCounts count copier orders of a measured window. Sent = Placed + Rejected +
// Skipped + Errors; Pending is part of Errors.
type CopierCounts struct {
	// Sent: follows addressed: orders planned + follows skipped for OK fills, every
	// follower of the trader for failed or ambiguous fills.
	Sent     int64 `json:"sent"`
	Placed   int64 `json:"placed"`   // filled or partially filled at the gateway
	Rejected int64 `json:"rejected"` // rejected by the gateway
	Skipped  int64 `json:"skipped"`  // no order (below minimum, budget, ...)
	// Errors: orders pending when the answer came, plus every follower of failed fills.
	Errors  int64 `json:"errors"`
	Pending int64 `json:"pending"`
	// Unaccounted: planned orders an OK answer put in none of placed, rejected or
	// pending (must be 0).
	Unaccounted int64 `json:"unaccounted"`
	// FollowersMismatch: OK answers whose planned + skipped differ from the trader's
	// follower count (informational).
	FollowersMismatch int64 `json:"followers_mismatch"`
}

// Dist summarises a latency distribution in milliseconds.
type Dist struct {
	Count  uint64  `json:"count"`
	Mean   float64 `json:"mean_ms"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	P999   float64 `json:"p999_ms"`
	Max    float64 `json:"max_ms"`
	Curve  []Point `json:"curve,omitempty"` // percentile → ms, for charts
	Source string  `json:"source,omitempty"`
}

// Point is one (x, y) of a chart.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// curvePercentiles are the points of a percentile curve (log-spaced towards 100).
var curvePercentiles = []float64{0, 10, 25, 50, 75, 90, 95, 97, 99, 99.5, 99.9, 99.95, 99.99, 100}

func distOf(h *Histogram, curve bool) Dist {
	d := Dist{Count: h.Count(), Mean: r3(Millis(h.Mean())), P50: r3(Millis(h.Quantile(0.5))),
		P90: r3(Millis(h.Quantile(0.9))), P99: r3(Millis(h.Quantile(0.99))),
		P999: r3(Millis(h.Quantile(0.999))), Max: r3(Millis(h.Max()))}
	if curve && h.Count() > 0 {
		for _, p := range curvePercentiles {
			d.Curve = append(d.Curve, Point{X: p, Y: r3(Millis(h.Quantile(p / 100)))})
		}
	}
	return d
}

func r3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Floor is the floor measured in the same window as the load, interleaved with it.
type Floor struct {
	// Noop: a no-op command committed through the same router to the same group,
	// client round trip (the raft floor as a fill sees it).
	Noop Dist `json:"noop"`
	// NoopCommit: the leader's own propose → commit time of those no-ops.
	NoopCommit Dist `json:"noop_commit"`
	// Gateway500: one 500-order PlaceOrders batch to the gateway through a Kitex client.
	Gateway500 Dist `json:"gateway_500"`
	Errors     int  `json:"errors"`
}

// LoadResult is one measured load phase.
type LoadResult struct {
	Name        string  `json:"name"`
	TargetRate  float64 `json:"target_fills_per_s"`
	Inflight    int     `json:"inflight"`
	Traders     int     `json:"traders"`
	Copiers     int     `json:"copiers_per_trader"`
	MeasuredSec float64 `json:"measured_s"`
	// FillsPerS: OK fills per second; OrdersPerS: copier orders acknowledged (placed or
	// rejected by the gateway) per second.
	FillsPerS  float64         `json:"fills_per_s"`
	OrdersPerS float64         `json:"orders_per_s"`
	Fills      FillCounts      `json:"fills"`
	Copier     CopierCounts    `json:"copier"`
	Errors     map[string]int  `json:"errors,omitempty"`
	Latency    Dist            `json:"latency"`
	Stages     map[string]Dist `json:"stages"`
	Floor      Floor           `json:"floor"`
	// Sustained: P99 within the budget, at least 95% of the arrivals sent inside the
	// window (no growing backlog), under 1% failed fills.
	Sustained bool `json:"sustained"`
	// Scraped: the phase's share of the latency histograms on the processes' /metrics.
	Scraped []Scraped `json:"scraped,omitempty"`
	// CPU: each process's CPU per copier order over the measured window (nil when
	// attached to a cluster the bench did not start, or when no order was acknowledged).
	CPU *CPUUsage `json:"cpu,omitempty"`
}

// ThroughputResult is the rate sweep.
type ThroughputResult struct {
	Steps         []LoadResult `json:"steps"`
	MaxOrdersPerS float64      `json:"max_orders_per_s"`
	BudgetMs      float64      `json:"p99_budget_ms"`
	// CrossingOrdersPerS: the copier orders/s at which P99 crosses the budget,
	// interpolated between the fastest sustained step and the one after it (0: not
	// bracketed by the sweep).
	CrossingOrdersPerS float64 `json:"crossing_orders_per_s"`
	// Repeats: steps run a second time because the first try was not sustained.
	Repeats int `json:"repeats"`
	// MarginalCPUUsPerOrder and FixedCores: the copytrade processes' cores used against
	// copier orders/s over the steps, fitted to a line (cores = fixed + rate × marginal);
	// absent with fewer than two steps.
	MarginalCPUUsPerOrder *float64 `json:"marginal_cpu_us_per_order,omitempty"`
	FixedCores            *float64 `json:"fixed_cores,omitempty"`
}

// CopiersResult is the copier-count sweep, one trader per step.
type CopiersResult struct {
	Steps []LoadResult `json:"steps"`
}

// FailoverResult is the leader kill.
type FailoverResult struct {
	Load       LoadResult `json:"load"`
	KilledNode string     `json:"killed_node"`
	NewLeader  string     `json:"new_leader"`
	// FailoverMs: SIGKILL → the first answer after it of a fill whose orders reached the
	// gateway (OK with placed > 0).
	FailoverMs float64 `json:"failover_ms"`
	// IDsChecked: client order IDs looked up at the gateway (OrderCounts).
	IDsChecked int64 `json:"ids_checked"`
	// Lost: IDs the cluster assigned that the gateway never saw; Dup: orders created
	// beyond one per ID.
	Lost int64 `json:"lost"`
	Dup  int64 `json:"dup"`
	// AcceptedNotCopied: fills the cluster accepted (OK or DUPLICATE_FILL) none of whose
	// orders reached the gateway; Unverifiable: accepted fills whose ID range could not
	// be told apart (more than one ambiguous fill of a trader).
	AcceptedNotCopied int64   `json:"accepted_not_copied"`
	Unverifiable      int64   `json:"unverifiable"`
	DrainMs           float64 `json:"drain_ms"`
}

// Machine describes where the figures were measured.
type Machine struct {
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUModel   string `json:"cpu_model,omitempty"`
}

func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// Summary holds the figures of the last line; nil means the scenario did not run.
type Summary struct {
	P99Ms         *float64 `json:"p99_ms"`
	FloorP99Ms    *float64 `json:"floor_p99_ms"`
	Ratio         *float64 `json:"ratio"`
	MaxOrdersPerS *float64 `json:"max_orders_per_s"`
	P99Ms10k      *float64 `json:"p99_ms_10k_copiers"`
	FailoverMs    *float64 `json:"failover_ms"`
	Lost          *int64   `json:"lost"`
	Dup           *int64   `json:"dup"`
	CopiersAtLast int      `json:"copiers_at_last_step,omitempty"`
	// CPUUsPerOrder: CPU µs per copier order of the copytrade processes (nodes and
	// router) at light load, or, without the latency scenario, at the fastest sustained
	// throughput step (none sustained: the first step); CPUFrom names the phase.
	CPUUsPerOrder *float64 `json:"cpu_us_per_order"`
	CPUFrom       string   `json:"cpu_from,omitempty"`
	// CrossingOrdersPerS: copier orders/s at which the throughput scenario's P99 crosses
	// the budget (interpolated).
	CrossingOrdersPerS *float64 `json:"crossing_orders_per_s,omitempty"`
}

// Report is everything one run measured; the JSON report is this struct.
type Report struct {
	StartedAt  time.Time         `json:"started_at"`
	ElapsedSec float64           `json:"elapsed_s"`
	Machine    Machine           `json:"machine"`
	Cluster    ClusterInfo       `json:"cluster"`
	Workload   WorkloadInfo      `json:"workload"`
	Scenarios  []string          `json:"scenarios"`
	Latency    *LoadResult       `json:"latency,omitempty"`
	Throughput *ThroughputResult `json:"throughput,omitempty"`
	Copiers    *CopiersResult    `json:"copiers,omitempty"`
	Failover   *FailoverResult   `json:"failover,omitempty"`
	Kafka      *KafkaResult      `json:"kafka,omitempty"`
	Venue      *VenueResult      `json:"venue,omitempty"` // --venue-faults only
	Summary    Summary           `json:"summary"`
	// Pids are the processes the bench started (all stopped when it returns).
	Pids []int `json:"pids,omitempty"`
	// IdleCPU: every process's cores with no fills, only the floor probes (measured
	// before the scenarios; nil when attached).
	IdleCPU *CPUUsage `json:"idle_cpu,omitempty"`
	// QuietCPU: the same with nothing sent (no probes): the cluster's own idle cost.
	QuietCPU *CPUUsage `json:"quiet_cpu,omitempty"`
	// IdleFloor: the floor probes' latencies in the idle window (no fills): the floor
	// without load, beside each phase's floor under load.
	IdleFloor *Floor `json:"idle_floor,omitempty"`
	// MetricsMissing lists histograms the report reads that a process's /metrics did
	// not expose.
	MetricsMissing []string `json:"metrics_missing,omitempty"`
}

// ClusterInfo describes the measured cluster.
type ClusterInfo struct {
	Started     bool   `json:"started"` // false: attached to a running cluster
	Groups      int    `json:"groups"`
	Nodes       int    `json:"nodes"`
	Fsync       bool   `json:"fsync"`
	ExchsimMode string `json:"exchsim_mode"`
}

// WorkloadInfo describes the seeded workload.
type WorkloadInfo struct {
	Traders     int      `json:"traders"`
	Copiers     int      `json:"copiers_per_trader"`
	Follows     int64    `json:"follows_seeded"`
	SeedSec     float64  `json:"seed_s"`
	Instruments []string `json:"instruments"`
	Seed        uint64   `json:"seed"`
	CopyModeMix string   `json:"copy_mode_mix"`
}

// finish fills the summary from the scenario results.
func (r *Report) finish() {
	f := func(v float64) *float64 { return &v }
	if l := r.Latency; l != nil && l.Latency.Count > 0 {
		r.Summary.P99Ms = f(l.Latency.P99)
		if l.Floor.Noop.Count > 0 {
			r.Summary.FloorP99Ms = f(l.Floor.Noop.P99)
			if l.Floor.Noop.P99 > 0 {
				r.Summary.Ratio = f(r3(l.Latency.P99 / l.Floor.Noop.P99))
			}
		}
	}
	if t := r.Throughput; t != nil {
		r.Summary.MaxOrdersPerS = f(math.Round(t.MaxOrdersPerS))
		if t.CrossingOrdersPerS > 0 {
			r.Summary.CrossingOrdersPerS = f(math.Round(t.CrossingOrdersPerS))
		}
	}
	if l := r.Latency; l != nil && l.CPU != nil {
		r.Summary.CPUUsPerOrder, r.Summary.CPUFrom = f(l.CPU.Copytrade), l.Name
	} else if s := r.Throughput.fastestSustained(); s != nil && s.CPU != nil {
		r.Summary.CPUUsPerOrder, r.Summary.CPUFrom = f(s.CPU.Copytrade), s.Name
	} else if t := r.Throughput; t != nil && len(t.Steps) > 0 && t.Steps[0].CPU != nil {
		r.Summary.CPUUsPerOrder, r.Summary.CPUFrom = f(t.Steps[0].CPU.Copytrade), t.Steps[0].Name
	}
	if c := r.Copiers; c != nil && len(c.Steps) > 0 {
		last := c.Steps[len(c.Steps)-1]
		if last.Latency.Count > 0 {
			r.Summary.P99Ms10k = f(last.Latency.P99)
			r.Summary.CopiersAtLast = last.Copiers
		}
	}
	if fo := r.Failover; fo != nil {
		if fo.FailoverMs >= 0 {
			r.Summary.FailoverMs = f(fo.FailoverMs)
		}
		lost, dup := fo.Lost, fo.Dup
		r.Summary.Lost, r.Summary.Dup = &lost, &dup
	}
}

// SummaryLine is the last line the bench prints.
func (r *Report) SummaryLine() string {
	s := r.Summary
	ms := func(v *float64) string {
		if v == nil {
			return "na"
		}
		return fmt.Sprintf("%.3g", *v)
	}
	num := func(v *float64) string {
		if v == nil {
			return "na"
		}
		return fmt.Sprintf("%.0f", *v)
	}
	cnt := func(v *int64) string {
		if v == nil {
			return "na"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("bench: p99_ms=%s floor_p99_ms=%s ratio=%s max_orders_per_s=%s p99_ms_10k_copiers=%s failover_ms=%s lost=%s dup=%s cpu_us_per_order=%s",
		ms(s.P99Ms), ms(s.FloorP99Ms), ms(s.Ratio), num(s.MaxOrdersPerS), ms(s.P99Ms10k), num(s.FailoverMs), cnt(s.Lost), cnt(s.Dup),
		ms(s.CPUUsPerOrder))
}

// WriteJSON writes the report to dir/report.json.
func (r *Report) WriteJSON(dir string) error {
	data, err := sonic.ConfigStd.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

// ReadReport reads a report.json.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: read report: %w", err)
	}
	var r Report
	if err := sonic.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("bench: decode report %s: %w", path, err)
	}
	return &r, nil
}

// WriteTable prints the human table.
func (r *Report) WriteTable(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\ncopytrade bench — %d CPU (GOMAXPROCS %d), %s, %s; %d group(s) × 3 nodes, fsync %v, exchsim %s\n",
		m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.CPUModel, r.Cluster.Groups, r.Cluster.Fsync, r.Cluster.ExchsimMode)
	fmt.Fprintf(w, "workload: %d traders × %d copiers (%s), %d follows seeded in %.1fs\n\n",
		r.Workload.Traders, r.Workload.Copiers, r.Workload.CopyModeMix, r.Workload.Follows, r.Workload.SeedSec)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tcopiers\ttarget/s\tfills/s\torders/s\tp50 ms\tp99 ms\tp999 ms\tmax ms\tfloor p99\tgw500 p99\tplaced\trejected\tskipped\terrors\tcpu µs/ord\t")
	row := func(l *LoadResult) {
		cpu := "na"
		if l.CPU != nil {
			cpu = fmt.Sprintf("%.1f", l.CPU.Copytrade)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.1f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%s\t\n",
			l.Name, l.Copiers, l.TargetRate, l.FillsPerS, l.OrdersPerS, l.Latency.P50, l.Latency.P99, l.Latency.P999,
			l.Latency.Max, l.Floor.Noop.P99, l.Floor.Gateway500.P99, l.Copier.Placed, l.Copier.Rejected,
			l.Copier.Skipped, l.Copier.Errors, cpu)
	}
	if r.Latency != nil {
		row(r.Latency)
	}
	if r.Throughput != nil {
		for i := range r.Throughput.Steps {
			row(&r.Throughput.Steps[i])
		}
	}
	if r.Copiers != nil {
		for i := range r.Copiers.Steps {
			row(&r.Copiers.Steps[i])
		}
	}
	if r.Failover != nil {
		row(&r.Failover.Load)
	}
	tw.Flush()
	r.writeCPUTable(w)
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "\nstages at light load (ms, p50 / p99):")
		names := make([]string, 0, len(l.Stages))
		for n := range l.Stages {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return stageOrder(names[i]) < stageOrder(names[j]) })
		for _, n := range names {
			fmt.Fprintf(w, "  %s %.2f / %.2f", n, l.Stages[n].P50, l.Stages[n].P99)
		}
		fmt.Fprintf(w, "\nfloor: no-op via router p50 %.2f p99 %.2f ms (leader commit p50 %.2f p99 %.2f); 500-order gateway batch p50 %.2f p99 %.2f ms\n",
			l.Floor.Noop.P50, l.Floor.Noop.P99, l.Floor.NoopCommit.P50, l.Floor.NoopCommit.P99,
			l.Floor.Gateway500.P50, l.Floor.Gateway500.P99)
	}
	if f := r.IdleFloor; f != nil {
		fmt.Fprintf(w, "floor with no fills (idle window): no-op via router p50 %.2f p99 %.2f ms (leader commit p50 %.2f p99 %.2f); 500-order gateway batch p50 %.2f p99 %.2f ms\n",
			f.Noop.P50, f.Noop.P99, f.NoopCommit.P50, f.NoopCommit.P99, f.Gateway500.P50, f.Gateway500.P99)
	}
	if l := r.Latency; l != nil && len(l.Scraped) > 0 {
		fmt.Fprintf(w, "from /metrics at light load (ms, p50 / p99, bucket-interpolated):\n")
		for _, s := range l.Scraped {
			fmt.Fprintf(w, "  %-42s %8d  %7.2f / %7.2f\n", s.Metric, s.Count, s.P50, s.P99)
		}
	}
	if r.Venue != nil {
		r.Venue.write(w)
	}
	if len(r.MetricsMissing) > 0 {
		fmt.Fprintf(w, "missing from /metrics: %s\n", strings.Join(r.MetricsMissing, ", "))
	}
	if t := r.Throughput; t != nil {
		fmt.Fprintf(w, "throughput: highest sustained %.0f copier orders/s with P99 ≤ %.0f ms; P99 crosses the budget at %s copier orders/s\n",
			t.MaxOrdersPerS, t.BudgetMs, crossingText(t.CrossingOrdersPerS))
		if t.MarginalCPUUsPerOrder != nil {
			fmt.Fprintf(w, "throughput CPU, nodes + router, fitted over the steps: %.2f cores at any load + %.2f µs per copier order\n",
				*t.FixedCores, *t.MarginalCPUUsPerOrder)
		}
	}
	r.writeKafka(w)
	if f := r.Failover; f != nil {
		fmt.Fprintf(w, "failover: killed %s, new leader %s, first copied fill %.0f ms after the kill; %d IDs checked: lost %d, dup %d, accepted-not-copied %d (unverifiable %d), drained in %.0f ms\n",
			f.KilledNode, f.NewLeader, f.FailoverMs, f.IDsChecked, f.Lost, f.Dup, f.AcceptedNotCopied, f.Unverifiable, f.DrainMs)
	}
	fmt.Fprintln(w)
}

func stageOrder(s string) int {
	for i, n := range stageNames {
		if n == s {
			return i
		}
	}
	return len(stageNames)
}
