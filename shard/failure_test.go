package shard

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// wireGateway models requests already on the wire: PlaceOrders waits a random delay and
// is then delivered even if the sender died meanwhile (its context is not honoured),
// the hardest case for a new leader's fence.
type wireGateway struct {
	Gateway
	maxDelay time.Duration
}

func (g *wireGateway) PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	time.Sleep(time.Duration(rand.Int64N(int64(g.maxDelay))))
	return g.Gateway.PlaceOrders(context.WithoutCancel(ctx), req)
}

func TestLeaderKillMidFanout(t *testing.T) {
	for _, mode := range []exchsim.Mode{exchsim.Strict, exchsim.NoDedup} {
		t.Run(mode.String(), func(t *testing.T) {
			start := time.Now()
			c := newCluster(t, clusterOpts{mode: mode, faults: venueFaults(), mutate: func(cfg *Config) {
				cfg.DispatchBatchSize = 40
				cfg.DispatchParallelism = 2
			}})
			c.gw.Gateway = &wireGateway{Gateway: c.gw.Gateway, maxDelay: 30 * time.Millisecond}
			copiers := c.seed(testTrader, 200, 3_000_000)
			const rounds = 10
			var recovered int64
			for r := 0; r < rounds; r++ {
				side, qty := raftfsm.Buy, "0.2"
				if r%2 == 1 {
					side, qty = raftfsm.Sell, "0.1"
				}
				li := c.leader()
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.fill(testTrader, int64(r+1), side, raftfsm.Long, qty)
				}()
				time.Sleep(time.Duration(rand.Int64N(int64(15 * time.Millisecond))))
				c.kill(li) // raft shutdown and server closed, no leadership transfer
				nl := c.leaderNode()
				recovered += nl.recovered.Swap(0)
				c.start(li)
				wg.Wait()
			}
			if recovered == 0 {
				t.Error("no leader ever took over pending orders: the kills never hit a fan-out")
			}
			c.settled(30 * time.Second)
			c.checkLedgers(copiers, testTrader)
			t.Logf("%d rounds, %d orders, %d pending orders found at takeovers (summed per takeover), %s", rounds, len(c.gw.ids()), recovered, time.Since(start))
		})
	}
}

func TestGatewayDown(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.NoDedup})
	copiers := c.seed(testTrader, 100, 4_000_000)
	fill := func(id int64, timeout time.Duration) (time.Duration, string) {
		n := c.leaderNode()
		f := raftfsm.TradeFill{Trader: testTrader, TradeID: id, Instrument: testSymbol, Side: raftfsm.Buy,
			PosSide: raftfsm.Long, Qty: dec("0.3"), Price: dec("60000"), Leverage: 10, MarginMode: raftfsm.Cross, Equity: dec("100000"),
			PositionAfter: dec("0.3"), EventTimeUnixNano: time.Now().UnixNano()}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		o := n.SubmitFill(ctx, f, true, start)
		return time.Since(start), o.Code.String() + ": " + o.Message
	}
	// Stopped before the fill: the caller gets UNAVAILABLE, fast.
	if err := c.stopGateway(); err != nil {
		t.Fatal(err)
	}
	took, msg := fill(1, 2*time.Second)
	if !strings.HasPrefix(msg, "UNAVAILABLE") || took > 2*time.Second {
		t.Fatalf("gateway down: got %q after %s", msg, took)
	}
	t.Logf("down: %s after %s", msg, took)
	// Restart it, then stop it during a fan-out: an answer within the deadline, whatever it is.
	c.serveGateway()
	done := make(chan struct{})
	go func() {
		defer close(done)
		took, msg := fill(2, 800*time.Millisecond)
		if took > 800*time.Millisecond {
			t.Errorf("answer after the deadline: %s (%s)", took, msg)
		}
		t.Logf("stopped mid fan-out: %s after %s", msg, took)
	}()
	time.Sleep(2 * time.Millisecond)
	_ = c.stopGateway()
	<-done
	var pending int
	c.leaderNode().Read(func(m *raftfsm.Machine) { pending = len(m.PendingOrders()) })
	if pending == 0 {
		t.Fatal("no orders pending while the gateway is down")
	}
	time.Sleep(500 * time.Millisecond) // the reconciler backs off against a dead gateway
	c.serveGateway()
	c.settled(20 * time.Second)
	c.checkLedgers(copiers, testTrader)
}

func TestReplicasAgree(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	copiers := c.seed(testTrader, 60, 5_000_000)
	c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "1")
	c.cmd(&raftfsm.FollowPause{Copier: copiers[0], Trader: testTrader})
	c.fill(testTrader, 2, raftfsm.Buy, raftfsm.Long, "0.4")
	c.cmd(&raftfsm.Unfollow{Copier: copiers[1], Trader: testTrader, ClosePositions: true})
	c.cmd(&raftfsm.FollowResume{Copier: copiers[0], Trader: testTrader})
	c.fill(testTrader, 3, raftfsm.Sell, raftfsm.Long, "0.7")
	c.cmd(&raftfsm.TraderPause{Trader: testTrader})
	c.fill(testTrader, 4, raftfsm.Sell, raftfsm.Long, "0.2")
	c.settled(10 * time.Second)
	c.assertSameHash()
	c.checkLedgers(copiers[2:], testTrader)
}

func (c *cluster) assertSameHash() [32]byte {
	c.t.Helper()
	var h0 [32]byte
	var a0 uint64
	waitFor(c.t, 10*time.Second, 20*time.Millisecond, func() bool {
		for i, n := range c.live() {
			h, a := n.StateHash()
			if i == 0 {
				h0, a0 = h, a
			} else if h != h0 || a != a0 {
				return false
			}
		}
		return true
	})
	return h0
}

func TestRestartFromSnapshot(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	copiers := c.seed(testTrader, 100, 6_000_000)
	c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "1")
	c.fill(testTrader, 2, raftfsm.Sell, raftfsm.Long, "0.3")
	c.settled(10 * time.Second)
	for _, n := range c.live() {
		if err := n.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	h := c.assertSameHash()
	for i := range c.nodes {
		c.kill(i)
	}
	start := time.Now()
	for i := range c.nodes {
		c.start(i)
	}
	c.leader()
	if got := c.assertSameHash(); got != h {
		t.Fatal("state hash changed across the restart")
	}
	t.Logf("restart to a ready leader with the same state: %s", time.Since(start))
	c.fill(testTrader, 3, raftfsm.Buy, raftfsm.Long, "0.5")
	c.settled(10 * time.Second)
	c.checkLedgers(copiers, testTrader)
}
