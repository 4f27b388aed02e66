package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"
)

// CPU per copier order: each process's utime+stime (/proc/PID/stat, every thread) is
// read when the measured window opens, after the /metrics scrape that opens it, and
// when it closes, before the scrape that follows it, so the scrapes are not in what is
// measured. A process's CPU seconds per wall second over that interval, divided by the
// copier orders acknowledged per second of the window, is its CPU per copier order.

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every
// Linux architecture Go runs on (sysconf(_SC_CLK_TCK) needs cgo to ask).
const clockTicks = 100

// Process roles of a CPU sample.
const (
	RoleLeader   = "leader"
	RoleFollower = "follower"
	RoleRouter   = "router"
	RoleExchsim  = "exchsim"
	RoleLoadgen  = "loadgen" // the bench itself: load generator and probes
)

// ErrProcStat is wrapped by every error parsing /proc/PID/stat returns.
var ErrProcStat = errors.New("bench: /proc/PID/stat")

// parseStatCPU returns utime+stime, in clock ticks, from the contents of a
// /proc/PID/stat file. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so the fields are counted from the last ')'.
func parseStatCPU(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: no ')' after the command name", ErrProcStat)
	}
	// After ')': field 3 (state) is the first; utime is field 14, stime field 15.
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: %d fields after the command name, want at least 13", ErrProcStat, len(f))
	}
	var sum uint64
	for _, k := range []int{11, 12} {
		v, err := strconv.ParseUint(string(f[k]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: field %d: %w", ErrProcStat, k+3, err)
		}
		sum += v
	}
	return sum, nil
}

// readProcCPU is the CPU time a process has used so far (pid 0: this process).
func readProcCPU(pid int) (time.Duration, error) {
	p := "/proc/self/stat"
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("bench: read CPU time of pid %d: %w", pid, err)
	}
	t, err := parseStatCPU(b)
	if err != nil {
		return 0, err
	}
	return time.Duration(t) * time.Second / clockTicks, nil
}

// cpuProc is a process whose CPU the bench measures.
type cpuProc struct {
	name, role string
	pid        int // 0: the bench itself
}

// cpuSample is every measured process's CPU time at one instant.
type cpuSample struct {
	at   time.Time
	used map[string]time.Duration // by name; a process that could not be read is absent
}

// cpuProcs lists the processes the bench started, each node with its role in group 1
// (leader or follower) as leaderID names it, and the bench itself. Attached: none (the
// processes are not the bench's to read).
func (c *Cluster) cpuProcs(leaderID string) []cpuProc {
	if !c.Started() {
		return nil
	}
	var out []cpuProc
	for _, g := range c.Groups {
		for _, n := range g.Nodes {
			if n.Proc == nil || n.Proc.Exited() {
				continue
			}
			role := RoleFollower
			if n.ID == leaderID {
				role = RoleLeader
			}
			out = append(out, cpuProc{name: n.ID, role: role, pid: n.Proc.Pid()})
		}
	}
	if c.router != nil {
		out = append(out, cpuProc{name: "router", role: RoleRouter, pid: c.router.Pid()})
	}
	if c.exch != nil {
		out = append(out, cpuProc{name: "exchsim", role: RoleExchsim, pid: c.exch.Pid()})
	}
	return append(out, cpuProc{name: "bench", role: RoleLoadgen})
}

func sampleCPU(procs []cpuProc) cpuSample {
	s := cpuSample{at: time.Now(), used: map[string]time.Duration{}}
	for _, p := range procs {
		if t, err := readProcCPU(p.pid); err == nil {
			s.used[p.name] = t
		}
	}
	return s
}

// ProcCPU is one process's CPU over a measured window.
type ProcCPU struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// CPUSec: utime+stime over the interval; Cores: CPUSec per wall second.
	CPUSec float64 `json:"cpu_s"`
	Cores  float64 `json:"cores"`
	// UsPerOrder: CPU µs per copier order acknowledged.
	UsPerOrder float64 `json:"us_per_order"`
}

// CPUUsage is the CPU per copier order of a measured window.
type CPUUsage struct {
	// IntervalSec: wall time between the two samples (the measured window less the
	// scrape that opens it).
	IntervalSec float64   `json:"interval_s"`
	OrdersPerS  float64   `json:"orders_per_s"`
	Procs       []ProcCPU `json:"procs"`
	// Copytrade: nodes and router together; Exchsim and Loadgen apart.
	Copytrade float64 `json:"copytrade_us_per_order"`
	Exchsim   float64 `json:"exchsim_us_per_order"`
	Loadgen   float64 `json:"loadgen_us_per_order"`
	// CopytradeAboveIdle: the nodes' and router's CPU above what they used in the idle
	// window (no fills, only the floor probes), per copier order; absent without it.
	CopytradeAboveIdle *float64 `json:"copytrade_above_idle_us_per_order,omitempty"`
	// CopytradeNetOfProbes: the nodes' and router's CPU less what the bench's floor
	// probes cost them (the idle window with probes less the quiet one without), per
	// copier order: the cluster's own cost, its idle timers and heartbeats included;
	// absent without both windows. The probes' cost is the idle one: under load their
	// commits share disk writes with the fills', so this errs towards too high.
	CopytradeNetOfProbes *float64 `json:"copytrade_net_of_probes_us_per_order,omitempty"`
}

// copytradeCores is the cores the nodes and the router used together.
func (u *CPUUsage) copytradeCores() float64 {
	var c float64
	for _, p := range u.Procs {
		if p.Role == RoleLeader || p.Role == RoleFollower || p.Role == RoleRouter {
			c += p.Cores
		}
	}
	return c
}

// setAboveIdle sets CopytradeAboveIdle from the idle window's usage (floor probes
// on) and CopytradeNetOfProbes from it and the quiet window's (nothing sent).
func (u *CPUUsage) setAboveIdle(idle, quiet *CPUUsage) {
	if u == nil || idle == nil || !(u.OrdersPerS > 0) {
		return
	}
	v := r3((u.copytradeCores() - idle.copytradeCores()) / u.OrdersPerS * 1e6)
	u.CopytradeAboveIdle = &v
	if quiet != nil {
		probes := max(idle.copytradeCores()-quiet.copytradeCores(), 0)
		n := r3((u.copytradeCores() - probes) / u.OrdersPerS * 1e6)
		u.CopytradeNetOfProbes = &n
	}
}

// cpuUsage computes each process's CPU per copier order between two samples, at
// ordersPerS copier orders acknowledged per second (0: cores only, per-order figures
// 0). Nil without an interval.
func cpuUsage(procs []cpuProc, before, after cpuSample, ordersPerS float64) *CPUUsage {
	wall := after.at.Sub(before.at).Seconds()
	if !(wall > 0) || ordersPerS < 0 {
		return nil
	}
	u := &CPUUsage{IntervalSec: r3(wall), OrdersPerS: r3(ordersPerS)}
	var ct, ex, lg float64
	for _, p := range procs {
		b, ok1 := before.used[p.name]
		a, ok2 := after.used[p.name]
		if !ok1 || !ok2 || a < b {
			continue
		}
		cpu := (a - b).Seconds()
		perOrder := 0.0
		if ordersPerS > 0 {
			perOrder = cpu / wall / ordersPerS * 1e6
		}
		u.Procs = append(u.Procs, ProcCPU{Name: p.name, Role: p.role, CPUSec: r3(cpu), Cores: r3(cpu / wall),
			UsPerOrder: r3(perOrder)})
		switch p.role {
		case RoleLeader, RoleFollower, RoleRouter:
			ct += perOrder
		case RoleExchsim:
			ex += perOrder
		case RoleLoadgen:
			lg += perOrder
		}
	}
	u.Copytrade, u.Exchsim, u.Loadgen = r3(ct), r3(ex), r3(lg)
	return u
}

// byRole sums the CPU per order of the processes with role (the followers together).
func (u *CPUUsage) byRole(role string) float64 {
	if u == nil {
		return math.NaN()
	}
	var s float64
	n := 0
	for _, p := range u.Procs {
		if p.Role == role {
			s += p.UsPerOrder
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s
}

// cpuMeter samples the cluster's processes around a measured window.
type cpuMeter struct {
	procs  []cpuProc
	before cpuSample
}

// startCPU finds group 1's leader and takes the opening sample; nil when attached.
func (r *runner) startCPU(ctx context.Context) *cpuMeter {
	leader := ""
	if st, err := r.groupStatus(ctx, r.cluster.Groups[0].ID); err == nil {
		leader = st.GetLeaderId()
	}
	m := &cpuMeter{procs: r.cluster.cpuProcs(leader)}
	if len(m.procs) == 0 {
		return nil
	}
	m.before = sampleCPU(m.procs)
	return m
}

// writeCPUTable prints, per measured phase, the CPU per copier order of each role.
func (r *Report) writeCPUTable(w io.Writer) {
	var phases []*LoadResult
	add := func(l *LoadResult) {
		if l != nil && l.CPU != nil {
			phases = append(phases, l)
		}
	}
	add(r.Latency)
	if r.Throughput != nil {
		for i := range r.Throughput.Steps {
			add(&r.Throughput.Steps[i])
		}
	}
	if r.Copiers != nil {
		for i := range r.Copiers.Steps {
			add(&r.Copiers.Steps[i])
		}
	}
	if r.Failover != nil {
		add(&r.Failover.Load)
	}
	if len(phases) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCPU µs per copier order (utime+stime over the measured window; copytrade = nodes + router):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\torders/s\tleader\tfollowers\trouter\tcopytrade\tabove idle\tnet of probes\texchsim\tloadgen\tcopytrade cores\t")
	num := func(v float64) string {
		if math.IsNaN(v) {
			return "na"
		}
		return fmt.Sprintf("%.2f", v)
	}
	for _, l := range phases {
		c := l.CPU
		opt := func(v *float64) float64 {
			if v == nil {
				return math.NaN()
			}
			return *v
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n", l.Name, c.OrdersPerS, num(c.byRole(RoleLeader)),
			num(c.byRole(RoleFollower)), num(c.byRole(RoleRouter)), num(c.Copytrade), num(opt(c.CopytradeAboveIdle)),
			num(opt(c.CopytradeNetOfProbes)), num(c.Exchsim), num(c.Loadgen), c.copytradeCores())
	}
	tw.Flush()
	if i := r.IdleCPU; i != nil {
		fmt.Fprintf(w, "idle (no fills, floor probes only, %.1f s): nodes + router %.2f cores, exchsim %.2f, loadgen %.2f\n",
			i.IntervalSec, i.copytradeCores(), coresOf(i, RoleExchsim), coresOf(i, RoleLoadgen))
	}
	if q := r.QuietCPU; q != nil {
		fmt.Fprintf(w, "quiet (nothing sent, %.1f s): nodes + router %.2f cores, exchsim %.2f, loadgen %.2f\n",
			q.IntervalSec, q.copytradeCores(), coresOf(q, RoleExchsim), coresOf(q, RoleLoadgen))
	}
}

func coresOf(u *CPUUsage, role string) float64 {
	var c float64
	for _, p := range u.Procs {
		if p.Role == role {
			c += p.Cores
		}
	}
	return c
}

// idleCPU measures every process's cores over d with no fills, after a second to
// settle. With probes, the floor probes run (the no-op commit every FloorInterval,
// the gateway batch): what the cluster burns at any load in a measured window;
// without, nothing is sent (the quiet window: heartbeats, timers, the mark-price
// commit). With probes, also the floor they measured with no fills. Nil when attached.
func (r *runner) idleCPU(ctx context.Context, d time.Duration, probes bool) (*CPUUsage, *Floor, error) {
	start := time.Now()
	col := newCollector(start.Add(time.Second), start.Add(time.Second+d))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var loops sync.WaitGroup
	if probes {
		loops.Go(func() { r.noopLoop(pctx, col, col.to) })
		loops.Go(func() { r.gatewayLoop(pctx, col, col.to) })
	}
	select {
	case <-time.After(time.Until(col.from)):
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	m := r.startCPU(ctx)
	select {
	case <-time.After(time.Until(col.to)):
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	if m == nil {
		return nil, nil, nil
	}
	after := sampleCPU(m.procs)
	cancel()
	loops.Wait()
	var floor *Floor
	if probes {
		f := col.floor()
		floor = &f
	}
	return cpuUsage(m.procs, m.before, after, 0), floor, nil
}
