package shard

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestMembershipSurvivesRestart: a member added at run time (replacing a removed one)
// is known with its RPC address by every node — not only by the leader that added it —
// and still after every node restarts with the flags it started with (the originals'
// -members still list the removed node and not the new one). A follower's leader hint
// names the new member's RPC address when it leads.
func TestMembershipSurvivesRestart(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	li := c.leader()
	dead := (li + 1) % 3
	c.kill(dead)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.live()[li].RemoveMember(ctx, c.cfgs[dead].NodeID); err != nil {
		t.Fatalf("remove %s: %v", c.cfgs[dead].NodeID, err)
	}
	raftPx, rpcPx := proxy(t, ""), proxy(t, "")
	cfg4 := c.cfgs[dead]
	cfg4.NodeID = "n4"
	me := behind(&cfg4, raftPx, rpcPx)
	cfg4.DataDir = fmt.Sprintf("%s/n4", c.dir)
	cfg4.Bootstrap = false
	cfg4.Members = []Member{me} // all a joining node needs: itself
	var n4 *Node
	start4 := func() {
		t.Helper()
		var err error
		if n4, err = New(cfg4, c.gw); err != nil {
			t.Fatal(err)
		}
		if err := n4.Start(); err != nil {
			t.Fatal(err)
		}
		route(n4, raftPx, rpcPx)
	}
	start4()
	t.Cleanup(func() { _ = n4.Kill() })
	if _, err := c.live()[li].AddMember(ctx, me); err != nil {
		t.Fatalf("add n4: %v", err)
	}

	want := map[string]string{"n4": me.RPCAddr}
	for i, cfg := range c.cfgs {
		if i != dead {
			want[cfg.NodeID] = c.member(i).RPCAddr
		}
	}
	nodes := func() []*Node {
		var out []*Node
		for _, n := range c.live() {
			if n != nil {
				out = append(out, n)
			}
		}
		return append(out, n4)
	}
	// membership is what node n lists: "id=rpc_addr" sorted.
	membership := func(n *Node) string {
		var parts []string
		for _, m := range n.Status().GetMembers() {
			parts = append(parts, m.GetId()+"="+m.GetRpcAddr())
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	var wantParts []string
	for id, a := range want {
		wantParts = append(wantParts, id+"="+a)
	}
	sort.Strings(wantParts)
	wantStr := strings.Join(wantParts, ",")
	everyNodeAgrees := func(when string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			var bad []string
			for _, n := range nodes() {
				if got := membership(n); got != wantStr {
					bad = append(bad, fmt.Sprintf("%s lists %s", n.ID(), got))
				}
			}
			if len(bad) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: want every node to list %s; %s", when, wantStr, strings.Join(bad, "; "))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	everyNodeAgrees("after the replacement")

	// Every node restarts with the configuration it started with.
	for i := range c.cfgs {
		if i != dead {
			c.kill(i)
		}
	}
	route(nil, raftPx, rpcPx)
	_ = n4.Kill()
	for i := range c.cfgs {
		if i != dead {
			c.start(i)
		}
	}
	start4()
	everyNodeAgrees("after every node restarted")

	// n4 leads: the others' hints name its RPC address.
	waitFor(t, 20*time.Second, 50*time.Millisecond, func() bool {
		if n4.IsLeader() {
			return true
		}
		for _, n := range nodes() {
			if n.IsLeader() {
				_ = n.TransferLeadership("n4")
			}
		}
		return false
	})
	waitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		for _, n := range nodes() {
			if n != n4 && n.leaderHint().LeaderAddr != me.RPCAddr {
				return false
			}
		}
		return true
	})
}
