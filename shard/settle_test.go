package shard

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// gatedGateway fails every Transfer while closed, as a gateway that never got them.
type gatedGateway struct {
	Gateway
	closed atomic.Bool
}

func (g *gatedGateway) Transfer(ctx context.Context, req *gateway.TransferRequest) (*gateway.TransferResponse, error) {
	if g.closed.Load() {
		return nil, errors.New("test: transfers blocked")
	}
	return g.Gateway.Transfer(ctx, req)
}

func TestSettlementPaysOnce(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	gate := &gatedGateway{Gateway: c.gw.Gateway}
	c.gw.Gateway = gate
	if _, _, err := c.sim.CreateAccount(int64(testTrader), dec("1000"), exchsim.Hedge); err != nil {
		t.Fatal(err)
	}
	copiers := c.seed(testTrader, 30, 8_000_000)
	c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "1")
	if err := c.sim.SetMark(testSymbol, dec("66000")); err != nil {
		t.Fatal(err)
	}
	c.fill(testTrader, 2, raftfsm.Sell, raftfsm.Long, "1") // copiers close at a profit
	c.settled(10 * time.Second)

	gate.closed.Store(true)
	li := c.leader()
	n := c.live()[li]
	period := periodOf(SettleDaily, time.Now())
	_, entries, err := n.Settle(context.Background(), period)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("settle created no entries for copiers that closed at a profit")
	}
	c.kill(li) // between the settle command and the transfers
	gate.closed.Store(false)
	c.leader()
	c.start(li)

	waitFor(t, 20*time.Second, 20*time.Millisecond, func() bool {
		left := -1
		c.leaderNode().Read(func(m *raftfsm.Machine) { left = len(m.UnpaidSettlements()) })
		return left == 0
	})
	paid := 0
	for _, e := range entries {
		want := int64(1)
		if e.Copier == 0 { // a trader's total: no transfer without a settlement account
			want = 0
		} else {
			paid++
		}
		if got := c.sim.TransferCount(e.SettlementID); got != want {
			t.Errorf("settlement %s (copier %d): %d transfers at exchsim, want %d", e.SettlementID, e.Copier, got, want)
		}
	}
	t.Logf("%d entries for %d copiers, %d paid by transfer exactly once", len(entries), len(copiers), paid)
}
