package shard

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestTraderTotalPaidAfterFailover: with a settlement account, copiers pay into it and
// the trader's total is paid out of it. Transfers are blocked during Settle and the
// leader is killed; the new leader pays every copier entry and then the trader's
// total, exactly once, and not while a copier's transfer is still being rejected.
func TestTraderTotalPaidAfterFailover(t *testing.T) {
	const settlementAccount = 9_999_999
	c := newCluster(t, clusterOpts{mode: exchsim.Strict, mutate: func(cfg *Config) {
		cfg.SettlementAccount = settlementAccount
	}})
	gate := &gatedGateway{Gateway: c.gw.Gateway}
	c.gw.Gateway = gate
	for _, a := range []int64{int64(testTrader), settlementAccount} {
		if _, _, err := c.sim.CreateAccount(a, dec("0"), exchsim.Hedge); err != nil {
			t.Fatal(err)
		}
	}
	copiers := c.seed(testTrader, 10, 8_100_000)
	c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "1")
	if err := c.sim.SetMark(testSymbol, dec("66000")); err != nil {
		t.Fatal(err)
	}
	c.fill(testTrader, 2, raftfsm.Sell, raftfsm.Long, "1") // copiers close at a profit
	c.settled(10 * time.Second)

	gate.closed.Store(true)
	li := c.leader()
	_, entries, err := c.live()[li].Settle(context.Background(), periodOf(SettleDaily, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	var total raftfsm.SettlementEntry
	var broke raftfsm.SettlementEntry // one copier who cannot pay for now
	for _, e := range entries {
		if e.Copier == 0 {
			total = e
		} else if broke.Copier == 0 {
			broke = e
		}
	}
	if total.Amount <= 0 || broke.Copier == 0 {
		t.Fatalf("settle entries %+v: want copier entries and a trader total", entries)
	}
	// The broke copier's whole balance leaves, so its transfer is rejected.
	snap, _ := c.sim.AccountSnapshot(int64(broke.Copier))
	if _, err := c.sim.Transfer(exchsim.Transfer{ID: "drain", From: int64(broke.Copier), To: 1, Amount: snap.Available}); err != nil {
		t.Fatal(err)
	}
	c.kill(li) // between the settle command and the transfers
	gate.closed.Store(false)
	c.leader()
	c.start(li)

	// Every other copier entry gets paid into the settlement account; the total waits.
	waitFor(t, 20*time.Second, 20*time.Millisecond, func() bool {
		for _, e := range entries {
			if e.Copier != 0 && e.Copier != broke.Copier && c.sim.TransferCount(e.SettlementID) != 1 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // a few retry rounds while the broke copier is rejected
	if n := c.sim.TransferCount(total.SettlementID); n != 0 {
		t.Fatalf("the trader's total was paid %d times while a copier's transfer was rejected", n)
	}
	// The copier is funded again: its entry is paid, then the trader's total.
	if _, err := c.sim.Transfer(exchsim.Transfer{ID: "refund", From: 1, To: int64(broke.Copier), Amount: snap.Available}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, 20*time.Millisecond, func() bool {
		return c.sim.TransferCount(total.SettlementID) == 1 && c.sim.TransferCount(broke.SettlementID) == 1
	})
	for _, e := range entries {
		if got := c.sim.TransferCount(e.SettlementID); got != 1 {
			t.Errorf("settlement %s (copier %d): %d transfers, want 1", e.SettlementID, e.Copier, got)
		}
	}
	sa, _ := c.sim.AccountSnapshot(settlementAccount)
	tr, _ := c.sim.AccountSnapshot(int64(testTrader))
	if sa.Balance != 0 || tr.Balance != total.Amount {
		t.Fatalf("settlement account %s, trader %s: want 0 and the total %s", sa.Balance, tr.Balance, total.Amount)
	}
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		left := -1
		c.leaderNode().Read(func(m *raftfsm.Machine) { left = len(m.PayableSettlements()) })
		return left == 0
	})
	t.Logf("%d copiers, %d entries, total %s paid once after failover", len(copiers), len(entries), total.Amount)
}

// TestAdminSettleRetriesOnBackoff: an admin Settle whose transfers fail is retried on
// the reconciler's backoff (here at most 400 ms), not after the settlement loop's
// hour-long sleep.
func TestAdminSettleRetriesOnBackoff(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	gate := &gatedGateway{Gateway: c.gw.Gateway}
	c.gw.Gateway = gate
	if _, _, err := c.sim.CreateAccount(int64(testTrader), dec("0"), exchsim.Hedge); err != nil {
		t.Fatal(err)
	}
	c.seed(testTrader, 5, 8_200_000)
	c.fill(testTrader, 1, raftfsm.Buy, raftfsm.Long, "1")
	if err := c.sim.SetMark(testSymbol, dec("66000")); err != nil {
		t.Fatal(err)
	}
	c.fill(testTrader, 2, raftfsm.Sell, raftfsm.Long, "1")
	c.settled(10 * time.Second)
	time.Sleep(100 * time.Millisecond) // the settlement loop has found nothing unpaid and sleeps
	gate.closed.Store(true)
	_, entries, err := c.leaderNode().Settle(context.Background(), periodOf(SettleDaily, time.Now()))
	if err != nil || len(entries) == 0 {
		t.Fatalf("settle: %d entries, %v", len(entries), err)
	}
	time.Sleep(200 * time.Millisecond) // the first attempts fail
	gate.closed.Store(false)
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		for _, e := range entries {
			if e.Copier != 0 && c.sim.TransferCount(e.SettlementID) != 1 {
				return false
			}
		}
		return true
	})
}
