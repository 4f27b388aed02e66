//go:build chaos

package shard

import (
	"flag"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// `make chaos` runs this (build tag chaos); `make test` does not.
var chaosDuration = flag.Duration("chaos.duration", 2*time.Minute, "how long TestChaosKillsAndRestarts injects faults")

// TestChaosKillsAndRestarts: while one trader's fills flow without pause, random
// members are killed (leader or follower, without leadership transfer) and restarted,
// with no-dedup exchsim behind a wire that delays requests, for -chaos.duration. At
// least two members stay up, so the group keeps a quorum. At the end every member is
// restarted and every order the machine planned must have reached exchsim exactly
// once, and each copier's ledger must equal exchsim's.
func TestChaosKillsAndRestarts(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.NoDedup, faults: venueFaults(), mutate: func(cfg *Config) {
		cfg.DispatchBatchSize = 50
		cfg.DispatchParallelism = 2
	}})
	c.gw.Gateway = &wireGateway{Gateway: c.gw.Gateway, maxDelay: 20 * time.Millisecond}
	copiers := c.seed(testTrader, 200, 5_000_000)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	t.Logf("seed time %s", time.Now().Format(time.RFC3339Nano))

	stop := make(chan struct{})
	var fills atomic.Int64
	var stall time.Duration // the longest wait for a fill's acknowledgement (failover)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the fill stream: open 0.2, then close half, again and again
		defer wg.Done()
		last := time.Now()
		for id := int64(1); ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			side, qty := raftfsm.Buy, "0.2"
			if id%2 == 0 {
				side, qty = raftfsm.Sell, "0.1"
			}
			c.fill(testTrader, id, side, raftfsm.Long, qty)
			fills.Add(1)
			stall = max(stall, time.Since(last))
			last = time.Now()
		}
	}()

	kills := 0
	deadline := time.Now().Add(*chaosDuration)
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		var up, down []int
		for i, n := range c.live() {
			if n != nil {
				up = append(up, i)
			} else {
				down = append(down, i)
			}
		}
		if len(down) > 0 && (len(up) <= 2 || rng.IntN(2) == 0) {
			c.start(down[rng.IntN(len(down))])
			continue
		}
		if len(up) > 2 {
			victim := up[rng.IntN(len(up))]
			if rng.IntN(2) == 0 {
				victim = c.leader() // half of the kills hit the leader
			}
			c.kill(victim)
			kills++
		}
	}
	close(stop)
	wg.Wait()
	for i, n := range c.live() {
		if n == nil {
			c.start(i)
		}
	}
	c.settled(60 * time.Second)
	c.checkLedgers(copiers, testTrader)
	var seq uint64
	c.leaderNode().Read(func(m *raftfsm.Machine) {
		if tv, ok := m.Trader(testTrader); ok {
			seq = tv.OrderSeq
		}
	})
	if got := len(c.gw.ids()); uint64(got) != seq {
		t.Errorf("%d distinct orders sent; the machine planned %d", got, seq)
	}
	r := procResult{name: "kill-restart", faults: kills, fills: int(fills.Load()), orders: int(seq),
		linearizable: true, failover: stall} // no follow changes here: nothing to linearize
	r.lost = max(0, int(seq)-len(c.gw.ids())) // planned, never sent
	for _, id := range c.gw.ids() {
		switch n := c.sim.OrderCount(id); {
		case n == 0:
			r.lost++
		case n > 1:
			r.dup += int(n - 1)
		}
	}
	var hashes [][32]byte
	for _, n := range c.live() {
		n.Read(func(m *raftfsm.Machine) { hashes = append(hashes, m.Hash()) })
	}
	for _, h := range hashes[1:] {
		if h != hashes[0] {
			r.hashMismatch++
			t.Errorf("replica state hashes differ at the same applied index")
		}
	}
	reportChaos(r)
	t.Logf("%s: %d kills, %d fills, %d orders, each sent exactly once", *chaosDuration, kills, fills.Load(), seq)
}
