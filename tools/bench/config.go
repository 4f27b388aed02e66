package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Scenario names.
const (
	ScenarioLatency    = "latency"
	ScenarioThroughput = "throughput"
	ScenarioCopiers    = "copiers"
	ScenarioFailover   = "failover"
)

// AllScenarios are the scenarios in the order Run runs them (failover last: it kills a
// node).
var AllScenarios = []string{ScenarioLatency, ScenarioThroughput, ScenarioCopiers, ScenarioFailover}

// Config configures one bench run. Start from DefaultConfig.
type Config struct {
	// Binary is the copytrade binary the cluster is started from; empty means the
	// running executable (the bench runs as `copytrade bench`).
	Binary string
	// Groups is the number of shard groups started (3 nodes each).
	Groups int
	// DataDir holds the nodes' data and every process's log; empty means a temporary
	// directory, removed at the end unless KeepData.
	DataDir string
	// KeepData keeps a temporary DataDir (logs, raft data) after the run.
	KeepData bool
	// NoSync turns fsync off in the nodes (measures without the disk; never the default).
	NoSync bool
	// TLS runs every hop of a started cluster over mutual TLS (a CA made for the run).
	TLS bool
	// ExchsimMode is the started gateway's mode: "no-dedup" (default: a duplicate order
	// would be visible as one) or "strict".
	ExchsimMode string
	// VenueFaults starts exchsim as a hostile venue (`exchsim --venue-faults`).
	VenueFaults bool

	// Topology, Token and Gateway attach to a running cluster instead of starting one:
	// the router's topology file (for the router address, use Router), an admin token,
	// and the gateway's address. Failover needs processes the bench started.
	Topology string
	Token    string
	Gateway  string
	// Router is the router's address in attach mode.
	Router string

	// Traders is the number of lead traders of the main workload.
	Traders int
	// Copiers is the number of copiers per trader.
	Copiers int
	// Rate is the mean fills/s of the main workload (Poisson arrivals across traders)
	// in the failover scenario.
	Rate float64
	// ThroughputStart is the fills/s of the first throughput step.
	ThroughputStart float64
	// Inflight bounds the fills in flight at once (each trader has at most one: a
	// trader's fills are a stream in trade-ID order).
	Inflight int
	// Duration is the measured time of the latency and failover scenarios.
	Duration time.Duration
	// Warmup precedes every measured period and is not counted.
	Warmup time.Duration
	// LatencyRate is the fills/s of the latency scenario (one fill in flight).
	LatencyRate float64
	// StepDuration is the length of one throughput step (its first quarter is warm-up).
	StepDuration time.Duration
	// StepFactor multiplies the rate from one throughput step to the next (> 1).
	StepFactor float64
	// MaxSteps bounds the throughput steps.
	MaxSteps int
	// P99Budget is the P99 a throughput step must stay within to count as sustained.
	P99Budget time.Duration
	// CopierSteps are the copier counts of the copiers scenario (one trader each).
	CopierSteps []int
	// CopierStepDuration is the length of one copiers step.
	CopierStepDuration time.Duration
	// CopierRate is the fills/s of a copiers step.
	CopierRate float64
	// Fills is the fill path measured besides the RPC push: "rpc" (only the push) or
	// "kafka" (also the Kafka phases: an in-process broker and a `copytrade ingest`
	// process, after the scenarios; see kafka.go).
	Fills string
	// KafkaRecords is the backlog of the Kafka throughput phase (10 % lead fills).
	KafkaRecords int
	// Scenarios to run, a subset of AllScenarios.
	Scenarios []string
	// Seed seeds every random choice of the workload.
	Seed uint64
	// FirstTradeID is the trade ID of every trader's first fill; 0: the run's start
	// time in Unix milliseconds, so a second run attached to the same cluster sends
	// trade IDs above the first run's instead of duplicates (one fill in flight per
	// trader takes well over a millisecond, so a run never catches up with the next).
	FirstTradeID int64
	// Out is the directory the JSON report and the charts are written to; empty: none.
	Out string
	// FloorInterval is the gap between two no-op probes (the raft floor); the 500-order
	// gateway probe runs every 16 of them.
	FloorInterval time.Duration

	// ProfileDir, when set, receives CPU profiles of the leader, a follower, the router
	// and exchsim over the measured window of every phase whose name starts with
	// ProfilePhases (e.g. "throughput", "latency", "throughput#3").
	ProfileDir    string
	ProfilePhases string

	// Progress receives the one-line progress display; nil: none.
	Progress io.Writer
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig is the `make bench` workload: design §7's 20 traders × 500 copiers on
// one 3-node group with fsync.
func DefaultConfig() Config {
	return Config{
		Groups: 1, ExchsimMode: "no-dedup",
		Traders: 20, Copiers: 500, Rate: 30, ThroughputStart: 10, Inflight: 64,
		Duration: 30 * time.Second, Warmup: 3 * time.Second, LatencyRate: 10,
		StepDuration: 8 * time.Second, StepFactor: 1.5, MaxSteps: 10, P99Budget: 50 * time.Millisecond,
		CopierSteps: []int{500, 1000, 2000, 5000, 10000}, CopierStepDuration: 8 * time.Second, CopierRate: 10,
		Scenarios: []string{ScenarioLatency}, Seed: 1, FloorInterval: 25 * time.Millisecond,
		Fills: "rpc", KafkaRecords: 20000,
		ProfilePhases: ScenarioThroughput,
	}
}

// attached reports whether the bench attaches to a running cluster.
func (c *Config) attached() bool { return c.Router != "" || c.Topology != "" }

// has reports whether scenario s is to run.
func (c *Config) has(s string) bool { return slices.Contains(c.Scenarios, s) }

// Validate returns nil or an error listing every problem as a plain sentence.
func (c *Config) Validate() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if c.Groups < 1 || c.Groups > 16 {
		bad("Groups must be in 1..16, got %d.", c.Groups)
	}
	if c.ExchsimMode != "strict" && c.ExchsimMode != "no-dedup" && c.ExchsimMode != "nodedup" {
		bad("ExchsimMode must be strict or no-dedup, got %q.", c.ExchsimMode)
	}
	if c.attached() && (c.Router == "" || c.Token == "" || c.Gateway == "") {
		bad("Attaching to a running cluster needs the router address, an admin token and the gateway address.")
	}
	if c.attached() && c.has(ScenarioFailover) {
		bad("The failover scenario kills a node process, so it needs a cluster the bench starts itself.")
	}
	if c.Traders < 1 || c.Traders > 10000 {
		bad("Traders must be in 1..10000, got %d.", c.Traders)
	}
	if c.Copiers < 0 || c.Copiers > 20000 {
		bad("Copiers must be in 0..20000, got %d.", c.Copiers)
	}
	if !(c.Rate > 0) || !(c.LatencyRate > 0) || !(c.CopierRate > 0) || !(c.ThroughputStart > 0) {
		bad("Rate, ThroughputStart, LatencyRate and CopierRate must be > 0.")
	}
	if c.Inflight < 1 {
		bad("Inflight must be >= 1, got %d.", c.Inflight)
	}
	if c.Duration <= 0 || c.Warmup < 0 || c.StepDuration <= 0 || c.CopierStepDuration <= 0 {
		bad("Duration, StepDuration and CopierStepDuration must be > 0 and Warmup >= 0.")
	}
	if !(c.StepFactor > 1) || c.MaxSteps < 1 {
		bad("StepFactor must be > 1 and MaxSteps >= 1.")
	}
	if c.P99Budget <= 0 {
		bad("P99Budget must be > 0.")
	}
	for _, n := range c.CopierSteps {
		if n < 1 || n > 20000 {
			bad("every copier step must be in 1..20000 (a trader's copier cap), got %d.", n)
		}
	}
	if len(c.Scenarios) == 0 {
		bad("Scenarios must name at least one of %s.", strings.Join(AllScenarios, ", "))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			bad("Unknown scenario %q (known: %s).", s, strings.Join(AllScenarios, ", "))
		}
	}
	if c.Fills != "rpc" && c.Fills != "kafka" {
		bad("Fills must be rpc or kafka, got %q.", c.Fills)
	}
	if c.Fills == "kafka" && c.attached() {
		bad("--fills kafka starts an ingest process on the cluster's topology and key files, so it needs a cluster the bench starts itself.")
	}
	if c.KafkaRecords < 10 {
		bad("KafkaRecords must be >= 10, got %d.", c.KafkaRecords)
	}
	if c.FloorInterval <= 0 {
		bad("FloorInterval must be > 0.")
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(probs, " "))
	}
	return nil
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("bench: invalid config")
