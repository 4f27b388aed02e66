package shard

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// poisonGateway breaks the contract once: in the first answer with several reports, the
// report at index 2 carries a fee of -0.01 (the venue's own record stays true).
type poisonGateway struct {
	Gateway
	mu       sync.Mutex
	poisoned string
}

func (g *poisonGateway) PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	resp, err := g.Gateway.PlaceOrders(ctx, req)
	if err != nil || len(resp.Results) < 3 {
		return resp, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.poisoned == "" {
		g.poisoned = resp.Results[2].ClientOrderId
		resp.Results[2].Fee = "-0.01"
	}
	return resp, err
}

// TestPoisonReportIsolated: one contract-breaking report among five quarantines that
// order alone (reason kept, metric, listed as QUARANTINED, resolved by an admin with
// the venue's true figures); the other four are applied at once.
func TestPoisonReportIsolated(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	pg := &poisonGateway{Gateway: c.gw.Gateway}
	c.gw.Gateway = pg
	copiers := c.seed(testTrader, 5, 8_000_000)
	if planned := c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "0.5"); planned != 5 {
		t.Fatalf("%d orders planned, want 5", planned)
	}
	n := c.leaderNode()
	var pending, quarantined []string
	waitFor(t, 10*time.Second, 10*time.Millisecond, func() bool {
		pending, quarantined = nil, nil
		n.Read(func(m *raftfsm.Machine) {
			for _, o := range m.PendingOrders() {
				pending = append(pending, o.ClientOrderID)
			}
			for _, q := range m.QuarantinedOrders() {
				quarantined = append(quarantined, q.ClientOrderID+": "+q.Reason)
			}
		})
		return len(pending) == 0 && len(quarantined) == 1
	})
	if pg.poisoned == "" || !strings.HasPrefix(quarantined[0], pg.poisoned+": fee -0.01") {
		t.Fatalf("quarantined %v, want %s with its reason", quarantined, pg.poisoned)
	}
	if got := testutil.ToFloat64(n.Metrics().quarantined); got != 1 {
		t.Fatalf("quarantined metric %v, want 1", got)
	}
	h := NewHandler(n)
	ctx := context.Background()
	list, err := h.ListOrders(ctx, &ct.ListOrdersRequest{QuarantinedOnly: true, ReadOpts: &ct.ReadOptions{}})
	if err != nil || len(list.Orders) != 1 || list.Orders[0].Status != ct.OrderStatus_QUARANTINED ||
		list.Orders[0].ClientOrderId != pg.poisoned || !strings.Contains(list.Orders[0].QuarantineReason, "fee") {
		t.Fatalf("ListOrders --quarantined: %+v %v", list, err)
	}
	// The four good orders are in the ledger now; the poisoned one's copier is not yet.
	var ok []raftfsm.AccountID
	var poisonedCopier raftfsm.AccountID
	n.Read(func(m *raftfsm.Machine) { poisonedCopier = m.QuarantinedOrders()[0].Copier })
	for _, cp := range copiers {
		if cp != poisonedCopier {
			ok = append(ok, cp)
		}
	}
	c.settled(10 * time.Second) // every replica has applied the batch
	c.checkLedgers(ok, testTrader)

	// The admin resolves it with what the venue really did.
	l, err := c.sim.QueryOrders(ctx, []string{pg.poisoned})
	if err != nil || !l[0].Found {
		t.Fatalf("venue lookup %+v %v", l, err)
	}
	r := l[0].Result
	_, err = h.ResolveOrder(ctx, &ct.ResolveOrderRequest{Trader: int64(testTrader), ClientOrderId: pg.poisoned,
		Status: ct.OrderStatus(r.Status + 1) /* exchsim FILLED=1.. → ct FILLED=2.. */, FilledQty: r.FilledQty.String(), AvgPrice: r.AvgPrice.String(), Fee: r.Fee.String()})
	if err != nil {
		t.Fatalf("ResolveOrder: %v", err)
	}
	n.Read(func(m *raftfsm.Machine) {
		if q := m.QuarantinedOrders(); len(q) != 0 {
			t.Fatalf("still quarantined after resolve: %+v", q)
		}
	})
	c.settled(10 * time.Second)
	c.checkLedgers(copiers, testTrader)
}
