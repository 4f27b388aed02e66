package shard

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/copytrade/copytrade/tools/faultproxy"
)

// Fault scenarios against real processes (procCluster). Each runs under a continuous
// fill stream and concurrent follow-setting changes, injects its fault, heals it, and
// ends with procCluster.check. `make test` runs each once with short holds
// (TestProcFaultScenarios); `make chaos` repeats them (chaos_faults_test.go).

// procScenario injects one fault and heals it; it returns when the fault is over, with
// how many faults it made. hold is how long a fault lasts.
type procScenario struct {
	name string
	run  func(c *procCluster, hold time.Duration) int
}

// otherThan is the member indexes other than i.
func otherThan(i int) []int {
	var out []int
	for j := range 3 {
		if j != i {
			out = append(out, j)
		}
	}
	return out
}

var procScenarios = []procScenario{
	{name: "partition-leader", run: func(c *procCluster, hold time.Duration) int {
		l := c.leader()
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Partition()
			c.raftPx[j][l].Partition()
		}
		time.Sleep(hold)
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Heal()
			c.raftPx[j][l].Heal()
		}
		return 1
	}},
	{name: "oneway-loss", run: func(c *procCluster, hold time.Duration) int {
		l := c.leader() // what the leader sends is lost; what it receives arrives
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Drop(faultproxy.Up)   // the leader's requests on its own links
			c.raftPx[j][l].Drop(faultproxy.Down) // the leader's answers on the followers' links
		}
		time.Sleep(hold)
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Heal()
			c.raftPx[j][l].Heal()
		}
		return 1
	}},
	{name: "flapping", run: func(c *procCluster, hold time.Duration) int {
		l := c.leader()
		ctx, cancel := context.WithTimeout(context.Background(), hold)
		defer cancel()
		var wg sync.WaitGroup
		var mu sync.Mutex
		n := 0
		for _, j := range otherThan(l) {
			for _, px := range []*faultproxy.Proxy{c.raftPx[l][j], c.raftPx[j][l]} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k := px.Flap(ctx, 150*time.Millisecond)
					mu.Lock()
					n += k
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		return n
	}},
	{name: "router-split", run: func(c *procCluster, hold time.Duration) int {
		l := c.leader()
		c.rpcPx[l].Partition()
		time.Sleep(hold)
		c.rpcPx[l].Heal()
		return 1
	}},
	{name: "slow-follower", run: func(c *procCluster, hold time.Duration) int {
		f := otherThan(c.leader())[0]
		for _, j := range otherThan(f) {
			c.raftPx[f][j].SetDelay(200*time.Millisecond, 1800*time.Millisecond)
			c.raftPx[j][f].SetDelay(200*time.Millisecond, 1800*time.Millisecond)
		}
		time.Sleep(2 * hold)
		for _, j := range otherThan(f) {
			c.raftPx[f][j].SetDelay(0, 0)
			c.raftPx[j][f].SetDelay(0, 0)
		}
		return 1
	}},
	{name: "snapshot-catchup", run: func(c *procCluster, hold time.Duration) int {
		l := c.leader()
		f := otherThan(l)[0]
		before, err := c.state(f)
		if err != nil {
			c.t.Fatalf("snapshot-catchup: %v", err)
		}
		c.kill(f)
		// Fills flow meanwhile: let the log run well past the trailing 64 entries.
		waitFor(c.t, 60*time.Second, 50*time.Millisecond, func() bool {
			st, err := c.state(l)
			return err == nil && st.Applied > before.Applied+200
		})
		if err := c.ctlGet(l, "/snapshot", nil); err != nil {
			c.t.Fatalf("snapshot-catchup: leader snapshot: %v", err)
		}
		var scan procLogScan
		if err := c.ctlGet(l, "/logscan", &scan); err != nil {
			c.t.Fatal(err)
		}
		if scan.First <= before.Applied+1 {
			c.t.Fatalf("snapshot-catchup: the leader's log starts at %d, the follower is at %d: no snapshot needed", scan.First, before.Applied)
		}
		c.start(f) // it can only catch up by InstallSnapshot, while fills flow
		waitFor(c.t, 60*time.Second, 50*time.Millisecond, func() bool {
			st, err := c.state(f)
			return err == nil && st.Applied >= scan.First
		})
		return 1
	}},
	{name: "pause-leader", run: func(c *procCluster, hold time.Duration) int {
		l := c.leader()
		c.gwPx[l].SetDelay(100*time.Millisecond, 100*time.Millisecond) // its dispatches are in flight
		time.Sleep(150 * time.Millisecond)
		c.logf("pause-leader: SIGSTOP %s mid-dispatch", c.specs[l].NodeID)
		c.signal(l, syscall.SIGSTOP)
		waitFor(c.t, 30*time.Second, 20*time.Millisecond, func() bool {
			for _, j := range otherThan(l) {
				if st, err := c.state(j); err == nil && st.Leader {
					return true
				}
			}
			return false
		})
		// The new leader recovers the old term's pending orders once its fence has
		// passed (lease + dispatch timeout + margin = 800 ms here) and places new ones.
		time.Sleep(max(hold, time.Second))
		c.logf("pause-leader: SIGCONT %s", c.specs[l].NodeID)
		c.signal(l, syscall.SIGCONT) // wakes mid-dispatch, still believing it leads
		c.gwPx[l].SetDelay(0, 0)
		return 1
	}},
	// late-gateway-request: the deposed leader's PlaceOrders land at the venue after
	// the new leader's fence has passed and it re-placed them (the gateway link delays
	// 2.5 s > lease + dispatch timeout + margin). The venue refuses a request past its
	// expiry (exchsim checks it as a real venue does), and the expiry counts from the
	// old term's lease, so the late request executes nothing twice.
	{name: "late-gateway-request", run: func(c *procCluster, hold time.Duration) int {
		l := c.leader()
		c.gwPx[l].SetDelay(2500*time.Millisecond, 0)
		time.Sleep(300 * time.Millisecond) // fills are dispatched into the delay
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Partition()
			c.raftPx[j][l].Partition()
		}
		time.Sleep(3 * time.Second) // a new leader, its fence, its re-placement, the late landing
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Heal()
			c.raftPx[j][l].Heal()
		}
		c.gwPx[l].SetDelay(0, 0)
		return 1
	}},
	{name: "disk-eio-leader", run: func(c *procCluster, hold time.Duration) int {
		return c.diskFault(c.leader(), "eio")
	}},
	{name: "disk-enospc-follower", run: func(c *procCluster, hold time.Duration) int {
		return c.diskFault(otherThan(c.leader())[0], "enospc")
	}},
	{name: "disk-eio-stable", run: func(c *procCluster, hold time.Duration) int {
		// A follower fails to persist a new term: an election must make it write one.
		l := c.leader()
		f := otherThan(l)[0]
		if err := c.ctlGet(f, "/failpoint?op="+string(OpStableSet)+"&after=0&err=eio", nil); err != nil {
			c.t.Fatalf("failpoint: %v", err)
		}
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Partition()
			c.raftPx[j][l].Partition()
		}
		code := c.exited(f, 30*time.Second)
		for _, j := range otherThan(l) {
			c.raftPx[l][j].Heal()
			c.raftPx[j][l].Heal()
		}
		if code != ExitDiskFault {
			c.t.Errorf("%s exited %d after a failed term write, want %d", c.specs[f].NodeID, code, ExitDiskFault)
		}
		c.start(f)
		return 1
	}},
	{name: "disk-enospc-snapshot", run: func(c *procCluster, hold time.Duration) int {
		f := otherThan(c.leader())[0]
		if err := c.ctlGet(f, "/failpoint?op="+string(OpSnapshotWrite)+"&after=0&err=enospc", nil); err != nil {
			c.t.Fatalf("failpoint: %v", err)
		}
		if err := c.ctlGet(f, "/snapshot", nil); err == nil {
			c.t.Errorf("%s: a snapshot succeeded on a full disk", c.specs[f].NodeID)
		}
		if code := c.exited(f, 30*time.Second); code != ExitDiskFault {
			c.t.Errorf("%s exited %d after a failed snapshot write, want %d", c.specs[f].NodeID, code, ExitDiskFault)
		}
		c.start(f)
		return 1
	}},
	{name: "clock-jumps", run: func(c *procCluster, hold time.Duration) int {
		// The leader's clock jumps back 1h, then forward 72h and stays there until the
		// periods it jumped over are settled, then +24h, -48h and back. If leadership
		// moves while the clock is ahead (a loaded box: 100 ms leases), the new leader's
		// clock never jumped: undo and jump again on it.
		set := func(l int, off string) {
			if err := c.ctlGet(l, "/clock?offset="+off, nil); err != nil {
				c.t.Fatalf("clock: %v", err)
			}
		}
		n := 0
		deadline := time.Now().Add(60 * time.Second)
		for {
			l := c.leader()
			before, _ := c.state(l)
			set(l, "-1h")
			time.Sleep(hold / 2)
			set(l, "72h")
			n += 2
			want := periodOf(SettleDaily, time.Now().Add(72*time.Hour)) - 1
			settled := false
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if st, err := c.state(l); err == nil && st.LastSettled >= want {
					settled = true
					break
				}
			}
			if !settled {
				set(l, "0s")
				if time.Now().After(deadline) {
					c.t.Fatalf("clock: %s's clock 72h ahead, periods up to %d never settled", c.specs[l].NodeID, want)
				}
				c.logf("clock-jumps: nothing settled on %s 72h ahead (leadership moved?); again", c.specs[l].NodeID)
				continue
			}
			for _, off := range []string{"24h", "-48h", "0s"} {
				set(l, off)
				n++
				time.Sleep(hold / 2)
			}
			after, _ := c.state(l)
			if after.LastSettled <= before.LastSettled {
				c.t.Errorf("clock: no period settled after a 72h jump (last settled %d)", after.LastSettled)
			}
			return n
		}
	}},
	{name: "group-restart", run: func(c *procCluster, hold time.Duration) int {
		for range 3 {
			c.leader()
			time.Sleep(hold / 3) // mid-fan-out: fills are being dispatched
			var wg sync.WaitGroup
			for i := range 3 {
				wg.Add(1)
				go func() { defer wg.Done(); c.kill(i) }()
			}
			wg.Wait()
			c.startAll()
		}
		return 3
	}},
}

// diskFault makes node i's next log writes fail with errno; it must exit with
// ExitDiskFault, and it is restarted on a healthy disk.
func (c *procCluster) diskFault(i int, errno string) int {
	if err := c.ctlGet(i, "/failpoint?op="+string(OpStoreLogs)+"&after=3&err="+errno, nil); err != nil {
		c.t.Fatalf("failpoint: %v", err)
	}
	if code := c.exited(i, 30*time.Second); code != ExitDiskFault {
		c.t.Errorf("%s exited %d after a disk fault, want %d", c.specs[i].NodeID, code, ExitDiskFault)
	}
	c.start(i)
	return 1
}

// runProcScenario runs one scenario under load and checks it.
func runProcScenario(t testing.TB, c *procCluster, s procScenario, hold time.Duration) procResult {
	r := procResult{name: s.name}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acks []time.Time
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if at, ok := c.fill(stop); ok {
				mu.Lock()
				acks = append(acks, at)
				mu.Unlock()
			}
		}
	}()
	var fops [2]int
	for k := range fops {
		wg.Add(1)
		go func() { defer wg.Done(); fops[k] = c.followOps(stop, k) }()
	}
	time.Sleep(300 * time.Millisecond)
	faultAt := time.Now()
	r.faults = s.run(c, hold)
	healed := time.Now()
	// Run on until a few fills were acknowledged after the fault ended.
	waitFor(t, 60*time.Second, 20*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range acks {
			if a.After(healed) {
				n++
			}
		}
		return n >= 3
	})
	close(stop)
	wg.Wait()
	mu.Lock()
	// Failover: the longest the copied-fill stream stood still from the fault on (fault
	// → first copied fill, or the longest stall while the fault lasted).
	prev := faultAt
	for _, a := range acks {
		if a.After(faultAt) {
			r.failover = max(r.failover, a.Sub(prev))
			prev = a
		}
	}
	r.fills = len(acks)
	mu.Unlock()
	r.followOps = fops[0] + fops[1]
	c.check(&r)
	return r
}

// summary is the closing line of a run of scenarios.
func summary(rs []procResult) string {
	var faults, lost, dup, mis int
	lin := true
	var maxFo time.Duration
	for _, r := range rs {
		faults += r.faults
		lost += r.lost
		dup += r.dup
		mis += r.hashMismatch
		lin = lin && r.linearizable
		maxFo = max(maxFo, r.failover)
	}
	return fmt.Sprintf("chaos: scenarios=%d faults=%d lost=%d dup=%d hash_mismatch=%d linearizable=%t max_failover_ms=%d",
		len(rs), faults, lost, dup, mis, lin, maxFo.Milliseconds())
}

// TestProcFaultScenarios: every fault scenario once, short, against a group of real
// processes: partitions, one-way loss, flapping, a router split, a slow follower, a
// follower that needs a snapshot, a paused leader, disk faults, clock jumps, and a
// whole-group restart three times; after each, exactly-once at the no-dedup venue,
// equal hashes, ledger == venue and a linearizable follow history. It prints each
// scenario's figure line and the summary line, as `make chaos` does for its long run.
func TestProcFaultScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	c := newProcCluster(t, 20)
	var rs []procResult
	for _, s := range procScenarios {
		r := runProcScenario(t, c, s, 800*time.Millisecond)
		t.Log(r.line())
		rs = append(rs, r)
		if t.Failed() {
			break
		}
	}
	c.checkLogs()
	t.Log(summary(rs))
}

// checkLogs scans every node's raft log: command stamps strictly increase in log order
// (across leaders and clock jumps), and Settle commands go through the periods in order
// without a gap or a step back (a period is settled once: the machine refuses a repeat).
func (c *procCluster) checkLogs() {
	c.t.Helper()
	for i := range 3 {
		var scan procLogScan
		if err := c.ctlGet(i, "/logscan", &scan); err != nil {
			c.t.Fatal(err)
		}
		if !scan.Monotonic {
			c.t.Errorf("%s: command stamps not monotonic: %s", c.specs[i].NodeID, scan.FirstBad)
		}
		for k := 1; k < len(scan.SettleOrder); k++ {
			// Equal neighbours are a proposal retried across a failover, which the
			// machine refuses (PERIOD_SETTLED); a gap or a step back is a bug.
			if d := scan.SettleOrder[k] - scan.SettleOrder[k-1]; d > 1 || scan.SettleOrder[k] < scan.SettleOrder[k-1] {
				c.t.Errorf("%s: settlement periods in log order %v: skipped or doubled", c.specs[i].NodeID, scan.SettleOrder)
				break
			}
		}
		if scan.Entries == 0 {
			c.t.Errorf("%s: no command in its raft log to check", c.specs[i].NodeID)
		}
	}
}
