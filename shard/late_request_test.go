package shard

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// holdingProxy models a proxy (or a congested network) between a leader and the venue:
// while holding, every PlaceOrders request is kept back, its sender's deadline ignored,
// until release; then it is delivered as it was.
type holdingProxy struct {
	Gateway
	holding  atomic.Bool
	release  chan struct{}
	mu       sync.Mutex
	held     []string // client order IDs in held requests
	inFlight sync.WaitGroup
}

func (p *holdingProxy) PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	if !p.holding.Load() {
		return p.Gateway.PlaceOrders(ctx, req)
	}
	p.inFlight.Add(1)
	defer p.inFlight.Done()
	p.mu.Lock()
	for _, o := range req.Orders {
		p.held = append(p.held, o.ClientOrderId)
	}
	p.mu.Unlock()
	<-p.release
	return p.Gateway.PlaceOrders(context.WithoutCancel(ctx), req)
}

func (p *holdingProxy) heldIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.held...)
}

// TestLateRequestNeverExecutes: at a no-dedup venue, a deposed leader's PlaceOrders held
// back past the new leader's fence must execute zero times. The new leader finds the
// orders unknown after its fence and places them; the late request then reaches the
// venue after its expiry and is refused (design §4.6). Without the expiry the venue
// executes it a second time.
func TestLateRequestNeverExecutes(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.NoDedup})
	proxy := &holdingProxy{Gateway: c.gw.Gateway, release: make(chan struct{})}
	c.gw.Gateway = proxy
	copiers := c.seed(testTrader, 20, 7_000_000)

	proxy.holding.Store(true)
	li := c.leader()
	go func() {
		n := c.live()[li]
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n.SubmitFill(ctx, raftfsm.TradeFill{Trader: testTrader, TradeID: 1, Instrument: testSymbol, Side: raftfsm.Buy,
			PosSide: raftfsm.Long, Qty: dec("0.5"), Price: dec("60000"), Leverage: 10, MarginMode: raftfsm.Cross,
			Equity: dec("100000"), PositionAfter: dec("0.5"), EventTimeUnixNano: time.Now().UnixNano()}, true, time.Now())
	}()
	waitFor(t, 10*time.Second, 5*time.Millisecond, func() bool { return len(proxy.heldIDs()) > 0 })
	held := proxy.heldIDs()
	proxy.holding.Store(false) // the new leader's requests go through
	c.kill(li)                 // deposed with its request still on the wire
	c.settled(30 * time.Second)
	for _, id := range held {
		if n := c.sim.OrderCount(id); n != 1 {
			t.Fatalf("order %s executed %d times before the late request arrived, want 1", id, n)
		}
	}
	// The held request finally reaches the venue, long past the new leader's fence.
	close(proxy.release)
	proxy.inFlight.Wait()
	dups := 0
	for _, id := range held {
		if n := c.sim.OrderCount(id); n != 1 {
			dups++
			if dups <= 3 {
				t.Errorf("order %s executed %d times: the deposed leader's late request executed", id, n)
			}
		}
	}
	if dups > 0 {
		t.Fatalf("%d of %d orders executed twice", dups, len(held))
	}
	if got := c.sim.Stats().OrdersExpired; got < int64(len(held)) {
		t.Fatalf("venue refused %d orders as EXPIRED, want at least %d", got, len(held))
	}
	c.checkLedgers(copiers, testTrader) // the live replicas (the killed one stays down)
}

// venueFaults is the hostile venue the cluster tests run against: slow (with a tail
// past the dispatch timeout), partial fills, rejects, reordered and duplicated reports.
// Contract-breaking reports are left to TestPoisonReportIsolated and the simulation
// (they quarantine an order until an admin resolves it).
func venueFaults() exchsim.Faults {
	return exchsim.Faults{Seed: 11, LatencyMean: 2 * time.Millisecond, LatencyTailRate: 0.01, LatencyTail: 600 * time.Millisecond,
		PartialRate: 0.1, RejectRate: 0.05, ReorderRate: 0.05, DuplicateRate: 0.02}
}
