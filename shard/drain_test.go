package shard

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestDrainKeepsLeadershipAway: draining the leader moves leadership to another member;
// handing leadership back to the drained node does not stick (it hands it over again)
// until it is undrained, after which a transfer to it holds. Every node reports the
// drain mark.
func TestDrainKeepsLeadershipAway(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	li := c.leader()
	drained := c.cfgs[li].NodeID
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.live()[li].SetDrained(ctx, drained, true); err != nil {
		t.Fatalf("drain %s: %v", drained, err)
	}
	other := func() int {
		i := c.leader()
		for c.cfgs[i].NodeID == drained {
			time.Sleep(20 * time.Millisecond)
			i = c.leader()
		}
		return i
	}
	other()
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		for _, n := range c.live() {
			for _, m := range n.Status().GetMembers() {
				if m.GetId() == drained && !m.GetDrained() {
					return false
				}
			}
		}
		return true
	})

	// Leadership handed back to the drained node does not stay there.
	for range 3 {
		// Leadership moves under the test's feet (that is the point): retry on
		// whichever node leads until a transfer to the drained node succeeds.
		waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
			return c.live()[other()].TransferLeadership(drained) == nil
		})
	}
	stableAway := func() bool {
		for range 10 {
			if c.live()[li].IsLeader() {
				return false
			}
			time.Sleep(50 * time.Millisecond)
		}
		return true
	}
	waitFor(t, 10*time.Second, 10*time.Millisecond, stableAway)

	// Undrained, it may lead again and keeps it.
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		_, err := c.live()[other()].SetDrained(ctx, drained, false)
		return err == nil
	})
	waitFor(t, 15*time.Second, 100*time.Millisecond, func() bool {
		if c.live()[li].IsLeader() {
			return true
		}
		for _, n := range c.live() {
			if n.IsLeader() {
				_ = n.TransferLeadership(drained)
			}
		}
		return false
	})
	// It keeps it: no drain hand-off happens any more. (Leadership itself may still move
	// on a starved machine — an election after a missed heartbeat is raft's business, not
	// the drain's — so the claim is about the hand-offs.)
	before := c.live()[li].drainHandoffs.Load()
	time.Sleep(500 * time.Millisecond)
	if after := c.live()[li].drainHandoffs.Load(); after != before {
		t.Fatalf("undrained %s handed leadership over %d more times", drained, after-before)
	}
	if before == 0 {
		t.Fatalf("drained %s never handed leadership over", drained)
	}
}
