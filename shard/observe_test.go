package shard

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestFrozenSlotsMetered: slots left frozen by a migration that never finishes are
// listed with when they froze, and metered with their age under the node's group and
// node labels; unfreezing clears them. Counters are exported at 0 before any event.
func TestFrozenSlotsMetered(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	n := c.leaderNode()
	if got := testutil.ToFloat64(n.metrics.fills.WithLabelValues("DUPLICATE_FILL")); got != 0 {
		t.Fatalf("pre-initialised counter: %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := time.Now()
	if _, _, err := n.Command(ctx, &raftfsm.SlotFreeze{Migration: 42, Slots: []uint16{5, 6, 7}, Target: 2, Epoch: 2}, false); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	fm := n.FrozenMigrations()
	if len(fm) != 1 || fm[0].ID != 42 || fm[0].Slots != 3 || fm[0].Target != 2 || fm[0].FrozenAt.Before(before.Add(-time.Second)) {
		t.Fatalf("frozen migrations: %+v", fm)
	}
	waitFor(t, 5*time.Second, 50*time.Millisecond, func() bool {
		mfs, err := n.metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "copytrade_migration_frozen_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["migration"] == "42" && labels["group"] == "1" && labels["node"] == n.ID() && m.GetGauge().GetValue() > 0 {
					return true
				}
			}
		}
		return false
	})
	if err := testutil.GatherAndCompare(n.metrics.Registry, strings.NewReader(`
# HELP copytrade_slots Slots of this group by state (this replica's applied view).
# TYPE copytrade_slots gauge
copytrade_slots{group="1",node="`+n.ID()+`",state="frozen"} 3
copytrade_slots{group="1",node="`+n.ID()+`",state="owned"} 16381
copytrade_slots{group="1",node="`+n.ID()+`",state="released"} 0
`), "copytrade_slots"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Command(ctx, &raftfsm.SlotUnfreeze{Migration: 42}, false); err != nil {
		t.Fatalf("unfreeze: %v", err)
	}
	if fm := n.FrozenMigrations(); len(fm) != 0 {
		t.Fatalf("after unfreeze: %+v", fm)
	}
	if err := testutil.GatherAndCompare(n.metrics.Registry, strings.NewReader(`
# HELP copytrade_slots_frozen_oldest_seconds Age of the oldest freeze still holding slots (0: none frozen).
# TYPE copytrade_slots_frozen_oldest_seconds gauge
copytrade_slots_frozen_oldest_seconds{group="1",node="`+n.ID()+`"} 0
`), "copytrade_slots_frozen_oldest_seconds", "copytrade_migration_frozen_seconds"); err != nil {
		t.Fatal(err)
	}
}
