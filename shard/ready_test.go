package shard

import (
	"testing"
	"time"

	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestNodeReadiness: every member of a healthy group is ready; a member left alone
// (its two peers killed) stops being ready once it no longer knows a leader.
func TestNodeReadiness(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	c.leader()
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		for _, n := range c.live() {
			if n.Ready() != nil {
				return false
			}
		}
		return true
	})
	li := c.leader()
	alone := (li + 1) % 3
	c.kill(li)
	c.kill(3 - li - alone)
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool { return c.live()[alone].Ready() != nil })
	if err := c.live()[alone].Ready(); err == nil {
		t.Fatal("a member without peers is ready")
	}
}
