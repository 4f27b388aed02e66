package shard

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestGracefulShutdownTransfersLeadership: the followers' election timeouts are raised
// to 10 s, so the only way a new leader appears within 3 s of the leader's Shutdown is
// the leadership transfer Shutdown performs first. Fills keep being copied afterwards.
func TestGracefulShutdownTransfersLeadership(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	const trader = raftfsm.AccountID(1)
	copiers := c.seed(trader, 20, 1000)
	li := c.leader()
	if planned := c.fill(trader, 1, raftfsm.Buy, raftfsm.Long, "1"); planned != len(copiers) {
		t.Fatalf("planned %d orders for %d copiers", planned, len(copiers))
	}
	c.settled(10 * time.Second)

	for i, n := range c.live() {
		if i == li {
			continue
		}
		rc := n.raft.ReloadableConfig()
		rc.HeartbeatTimeout, rc.ElectionTimeout = 10*time.Second, 10*time.Second
		if err := n.raft.ReloadConfig(rc); err != nil {
			t.Fatalf("reload %s: %v", c.cfgs[i].NodeID, err)
		}
	}
	c.mu.Lock()
	old := c.nodes[li]
	c.nodes[li] = nil
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := old.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	waitFor(t, 3*time.Second, 10*time.Millisecond, func() bool {
		for _, n := range c.live() {
			if n != nil && n.IsLeader() {
				return true
			}
		}
		return false
	})
	if planned := c.fill(trader, 2, raftfsm.Sell, raftfsm.Long, "0.5"); planned != len(copiers) {
		t.Fatalf("after the transfer: planned %d orders for %d copiers", planned, len(copiers))
	}
	c.settled(10 * time.Second)
	c.checkLedgers(copiers, trader)
}

// TestReplaceMember: a dead follower is removed and a new node joins with AddMember.
// It catches up to the same state hash, and it is a voter: with the old leader then
// killed, it and the remaining original elect a leader and keep copying fills (a
// quantity of 1 gives every copier an order in every copy mode).
func TestReplaceMember(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	const trader = raftfsm.AccountID(1)
	copiers := c.seed(trader, 20, 1000)
	c.fill(trader, 1, raftfsm.Buy, raftfsm.Long, "1")
	c.settled(10 * time.Second)

	li := c.leader()
	dead := (li + 1) % 3
	c.kill(dead)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Removal is idempotent: on a loaded machine leadership may move meanwhile, so it is
	// retried at whichever node leads.
	var rmErr error
	waitFor(t, 10*time.Second, 50*time.Millisecond, func() bool {
		_, rmErr = c.leaderNode().RemoveMember(ctx, c.cfgs[dead].NodeID)
		return rmErr == nil
	})

	raftPx, rpcPx := proxy(t, ""), proxy(t, "")
	cfg := c.cfgs[dead]
	cfg.NodeID = "n4"
	me := behind(&cfg, raftPx, rpcPx)
	cfg.DataDir = fmt.Sprintf("%s/n4", c.dir)
	cfg.Bootstrap = false
	cfg.Members = nil
	for i, m := range c.cfgs[li].Members {
		if i != dead {
			cfg.Members = append(cfg.Members, m)
		}
	}
	cfg.Members = append(cfg.Members, me)
	n4, err := New(cfg, c.gw)
	if err != nil {
		t.Fatal(err)
	}
	if err := n4.Start(); err != nil {
		t.Fatal(err)
	}
	route(n4, raftPx, rpcPx)
	t.Cleanup(func() { _ = n4.Kill() })
	if _, err := c.live()[li].AddMember(ctx, me); err != nil {
		t.Fatalf("add n4: %v", err)
	}
	c.fill(trader, 2, raftfsm.Buy, raftfsm.Long, "1")
	c.settled(10 * time.Second)
	leaderHash, _ := c.live()[li].StateHash()
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		h, _ := n4.StateHash()
		return h == leaderHash
	})
	cf := n4.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		t.Fatal(err)
	}
	voters := map[raft.ServerID]bool{}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters[s.ID] = true
		}
	}
	if len(voters) != 3 || !voters["n4"] || voters[raft.ServerID(c.cfgs[dead].NodeID)] {
		t.Fatalf("voters after the replacement: %v", voters)
	}

	// The old leader dies: n4 and the remaining original are a quorum of three.
	c.kill(li)
	waitFor(t, 10*time.Second, 10*time.Millisecond, func() bool {
		for _, n := range append(c.live(), n4) {
			if n != nil && n.IsLeader() {
				return true
			}
		}
		return false
	})
	var res *raftfsm.Result
	waitFor(t, 10*time.Second, 50*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var leader *Node // whichever node leads now: the election may still be settling
		for _, n := range append(c.live(), n4) {
			if n != nil && n.IsLeader() {
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		f := &raftfsm.TradeFill{Trader: trader, TradeID: 3, Instrument: testSymbol,
			Side: raftfsm.Sell, PosSide: raftfsm.Long, Qty: dec("1"), Price: dec("60000"), Leverage: 10,
			MarginMode: raftfsm.Cross, Equity: dec("100000")}
		venueV2(leader, f)
		r, _, err := leader.Command(ctx, f, false)
		res = r
		return err == nil
	})
	if res.Refusal != nil || len(res.Orders) != len(copiers) {
		t.Fatalf("fill after losing the old leader: refusal %v, %d orders for %d copiers", res.Refusal, len(res.Orders), len(copiers))
	}
}
