//go:build chaos

package shard

import (
	"testing"
	"time"
)

// Run by `make chaos` (and `go test -tags chaos -run TestProcFaultScenarios ./shard/`), not
// by `make test`: its three node processes take ports that a free-port probe reserved
// and released, and on a busy 2-core box another test's connection can take one first
// (seen once in the merged suite: HTTP bytes arriving on a node's raft port, the group
// never forming). Until nodes bind port 0 and report their addresses, it stays here.

// TestProcFaultScenarios: every fault scenario once, short, against a group of real
// processes: partitions, one-way loss, flapping, a router split, a slow follower, a
// follower that needs a snapshot, a paused leader, disk faults, clock jumps, and a
// whole-group restart three times; after each, exactly-once at the no-dedup venue,
// equal hashes, ledger == venue and a linearizable follow history.
func TestProcFaultScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	c := newProcCluster(t, 20)
	var rs []procResult
	for _, s := range procScenarios {
		if s.chaosOnly {
			continue // fails today on a known open bug; see the scenario's comment
		}
		r := runProcScenario(t, c, s, 800*time.Millisecond)
		t.Log(r.line())
		rs = append(rs, r)
		if t.Failed() {
			break
		}
	}
	c.checkLogs()
	t.Log(summary(rs))
}
