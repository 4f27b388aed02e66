package rebalance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/tools/testcluster"
)

func TestDeriveIDAndStateFile(t *testing.T) {
	slots := slotRange(100, 199)
	a := DeriveID(slots, 1, 2, 2, 0)
	if a <= 0 || a != DeriveID(slots, 1, 2, 2, 0) {
		t.Fatalf("DeriveID not deterministic and positive: %d", a)
	}
	for _, b := range []int64{DeriveID(slots, 1, 2, 3, 0), DeriveID(slots, 1, 2, 2, 1), DeriveID(slots, 2, 1, 2, 0), DeriveID(slots[1:], 1, 2, 2, 0)} {
		if b == a {
			t.Errorf("DeriveID collides across inputs: %d", a)
		}
	}
	path := filepath.Join(t.TempDir(), "s.json")
	if s, err := loadState(path); s != nil || err != nil {
		t.Fatalf("missing state file: %v %v", s, err)
	}
	in := &state{Migration: a, Epoch: 2, From: 1, To: 2, Slots: slots, Step: StepExported, Checksum: 1<<63 + 5}
	if err := saveState(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := loadState(path)
	if err != nil || out.Migration != a || out.Step != StepExported || out.Checksum != in.Checksum || !out.samePlan(&Plan{Slots: slots, From: 1, To: 2}) {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	if m, _ := filepath.Glob(path + ".tmp-*"); len(m) != 0 {
		t.Errorf("temp files left: %v", m)
	}
	ranges := []*ct.SlotRange{{First: 0, To: 99, State: ct.SlotState_OWNED, Epoch: 1},
		{First: 100, To: 150, State: ct.SlotState_FROZEN, Epoch: 1, Migration: 7}}
	v := viewOf(ranges, []int32{50, 100, 150, 151})
	if v[0].State != ct.SlotState_OWNED || v[1].Migration != 7 || v[2].Migration != 7 || v[3].State != ct.SlotState_NOT_OWNED {
		t.Errorf("viewOf: %+v", v)
	}
}

// moveCase is one slot range and its traders in a shared cluster.
type moveCase struct {
	slots   []int32
	traders []int64
	before  map[int64]traderView
}

const copiers = 4

// newCase seeds traders in [lo, hi] (with copiers each and a few fills) and records
// their views.
func newCase(t *testing.T, c *testCluster, lo, hi int32, nTraders int, firstCopier int64) *moveCase {
	t.Helper()
	mc := &moveCase{slots: slotRange(lo, hi), traders: tradersIn(lo, hi, nTraders, 1_000_000+int64(lo)*1000), before: map[int64]traderView{}}
	c.SeedTraders(mc.traders, copiers, firstCopier)
	for _, tr := range mc.traders {
		for id := int64(1); id <= 2; id++ {
			if err := c.fill(tr, id); err != nil {
				t.Fatalf("fill: %v", err)
			}
		}
	}
	c.Settled(20 * time.Second)
	for _, tr := range mc.traders {
		mc.before[tr] = c.view(tr)
	}
	return mc
}

func (mc *moveCase) plan() Plan {
	return Plan{Slots: mc.slots, From: 1, To: 2, Logger: testcluster.Logger(), DrainTimeout: 20 * time.Second, StepTimeout: 20 * time.Second}
}

// checkMoved asserts group 2 owns the slots at epoch, group 1 answers MOVED, and the
// traders read the same as before.
func (mc *moveCase) checkMoved(t *testing.T, c *testCluster, epoch int64) {
	t.Helper()
	if e := c.ownership(2, mc.slots).ownedAt(); e != epoch {
		t.Errorf("group 2 owns the slots at epoch %d, want %d: %s", e, epoch, c.ownership(2, mc.slots).summary(mc.slots))
	}
	if _, e := c.ownership(1, mc.slots).releasedBy(2); e != epoch {
		t.Errorf("group 1 has not released the slots to group 2 at epoch %d: %s", epoch, c.ownership(1, mc.slots).summary(mc.slots))
	}
	ctx, cancel := context.WithTimeout(c.Admin, 10*time.Second)
	defer cancel()
	for _, tr := range mc.traders {
		err := c.AtLeader(ctx, 1, func(src copytrade.Client) error {
			_, err := src.GetTrader(ctx, &ct.GetTraderRequest{Trader: tr})
			return err
		})
		st, _ := convert.StatusOf(err)
		if st.Code != ct.ErrorCode_MOVED || st.Extra[ct.EXTRA_GROUP] != "2" || st.Extra[ct.EXTRA_EPOCH] != strconv.FormatInt(epoch, 10) {
			t.Errorf("group 1 about trader %d: %v, want MOVED to group 2 at epoch %d", tr, err, epoch)
		}
		if got := c.view(tr); !reflect.DeepEqual(got, mc.before[tr]) {
			t.Errorf("trader %d changed across the move:\nbefore %+v\nafter  %+v", tr, mc.before[tr], got)
		}
	}
}

func TestRebalanceMovesSlots(t *testing.T) {
	c := newTestCluster(t)
	c.SeedInstrument()
	// Quiet traders: their views must be identical before and after.
	quiet := newCase(t, c, 100, 199, 3, 10_000_000)
	// Busy traders in the same slots: fills flow through the router all along.
	busy := tradersIn(100, 199, 5, 5_000_000)[3:]
	c.SeedTraders(busy, copiers, 20_000_000)
	var accepted sync.Map // trader → fills accepted
	var stop atomic.Bool
	var wg sync.WaitGroup
	var during atomic.Int64
	var moving atomic.Bool
	for _, tr := range busy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			for id := int64(1); !stop.Load(); id++ {
				// COMMIT: the fill's copier orders are still pending when it returns,
				// so the freeze finds orders to drain.
				if err := c.fillWait(tr, id, ct.WaitFor_COMMIT); err != nil {
					t.Errorf("fill %d of trader %d: %v", id, tr, err)
					return
				}
				n++
				if moving.Load() {
					during.Add(1)
				}
				accepted.Store(tr, n)
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	plan := quiet.plan()
	var steps []Step
	plan.Progress = func(e Event) { steps = append(steps, e.Step) }
	moving.Store(true)
	t0 := time.Now()
	rep, err := Run(c.Admin, c.Cli, plan, filepath.Join(t.TempDir(), "state.json"))
	moving.Store(false)
	if err != nil {
		t.Fatalf("Run: %v (report %+v)", err, rep)
	}
	t.Logf("moved in %s: %+v", time.Since(t0), rep)
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if want := []Step{StepFrozen, StepExported, StepImported, StepReleased}; !reflect.DeepEqual(steps, want) {
		t.Errorf("steps %v, want %v", steps, want)
	}
	if rep.Outcome != OutcomeMoved || rep.Epoch != 2 || rep.Migration != DeriveID(plan.Slots, 1, 2, 2, 0) || rep.ExportBytes == 0 {
		t.Errorf("report %+v", rep)
	}
	quiet.checkMoved(t, c, 2)
	c.Settled(20 * time.Second)
	applied := c.checkExactlyOnce(append(slicesClone(quiet.traders), busy...), copiers)
	for _, tr := range busy {
		n, _ := accepted.Load(tr)
		if got, _ := n.(int64); applied[tr] != uint64(got) {
			t.Errorf("busy trader %d: %d fills applied, %d accepted", tr, applied[tr], got)
		}
	}
	t.Logf("fills accepted while moving: %d", during.Load())
}

func slicesClone(s []int64) []int64 { return append([]int64(nil), s...) }

func TestRebalanceResume(t *testing.T) {
	c := newTestCluster(t)
	c.SeedInstrument()
	cases := []struct {
		name      string
		crashAt   Step
		dropState bool // the state file is lost: the groups alone say where it is
	}{
		{"after-freeze", StepFrozen, false},
		{"after-export", StepExported, false},
		{"after-import", StepImported, false},
		{"after-release", StepReleased, false},
		{"after-export-no-state", StepExported, true},
		{"after-import-no-state", StepImported, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lo := int32(1000 + 100*i)
			mc := newCase(t, c, lo, lo+99, 2, int64(30_000_000+100_000*i))
			path := filepath.Join(t.TempDir(), "state.json")
			ctx, cancel := context.WithCancel(c.Admin)
			plan := mc.plan()
			plan.Progress = func(e Event) {
				if e.Step == tc.crashAt {
					cancel()
				}
			}
			_, err := Run(ctx, c.Cli, plan, path)
			if tc.crashAt != StepReleased && !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed run: %v, want context.Canceled", err)
			}
			if tc.dropState {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
			plan.Progress = nil
			rep, err := Run(c.Admin, c.Cli, plan, path)
			if err != nil {
				t.Fatalf("resumed run: %v", err)
			}
			want := DeriveID(mc.slots, 1, 2, 2, 0)
			if rep.Outcome != OutcomeMoved || rep.Migration != want || rep.Epoch != 2 || rep.Attempt != 0 {
				t.Errorf("resumed report %+v, want migration %d epoch 2 moved", rep, want)
			}
			if rep.Resumed == "" || rep.Resumed == StepPlanned {
				t.Errorf("resumed from %q", rep.Resumed)
			}
			mc.checkMoved(t, c, 2)
		})
	}
	t.Run("leaders-killed", func(t *testing.T) {
		mc := newCase(t, c, 3000, 3099, 2, 40_000_000)
		plan := mc.plan()
		plan.Progress = func(e Event) {
			switch e.Step {
			case StepFrozen:
				c.KillLeader(1) // the export goes to the new source leader
			case StepExported:
				c.KillLeader(2) // the import goes to the new target leader
			}
		}
		rep, err := Run(c.Admin, c.Cli, plan, filepath.Join(t.TempDir(), "state.json"))
		if err != nil {
			t.Fatalf("Run with leaders killed: %v", err)
		}
		if rep.Outcome != OutcomeMoved || rep.Epoch != 2 {
			t.Errorf("report %+v", rep)
		}
		mc.checkMoved(t, c, 2)
		c.Settled(20 * time.Second)
		c.checkExactlyOnce(mc.traders, copiers)
	})
}

func TestRebalanceAbort(t *testing.T) {
	c := newTestCluster(t)
	c.SeedInstrument()
	t.Run("before-import", func(t *testing.T) {
		mc := newCase(t, c, 200, 299, 2, 50_000_000)
		path := filepath.Join(t.TempDir(), "state.json")
		ctx, cancel := context.WithCancel(c.Admin)
		plan := mc.plan()
		plan.Progress = func(e Event) {
			if e.Step == StepExported {
				cancel()
			}
		}
		if _, err := Run(ctx, c.Cli, plan, path); !errors.Is(err, context.Canceled) {
			t.Fatalf("crashed run: %v", err)
		}
		if m := c.ownership(1, mc.slots).frozenBy(); m == 0 {
			t.Fatal("the source is not frozen after the export")
		}
		plan.Progress = nil
		rep, err := Abort(c.Admin, c.Cli, plan, path)
		if err != nil || rep.Outcome != OutcomeAborted || rep.AbortRefused {
			t.Fatalf("Abort: %v %+v", err, rep)
		}
		// The source serves again, at its old epoch: fills apply there.
		if e := c.ownership(1, mc.slots).ownedAt(); e != 1 {
			t.Errorf("group 1 owns the slots at epoch %d after the abort, want 1", e)
		}
		for _, tr := range mc.traders {
			if err := c.fill(tr, 100); err != nil {
				t.Errorf("fill after the abort: %v", err)
			}
		}
		// The target refuses that migration forever.
		ictx, icancel := context.WithTimeout(router.WithGroup(c.Admin, 2), 10*time.Second)
		defer icancel()
		_, err = c.Cli.SlotImport(ictx, &ct.SlotImportRequest{Migration: rep.Migration, SourceGroup: 1, Slots: mc.slots, Epoch: rep.Epoch, Data: []byte{1}, Checksum: 1})
		if convert.CodeOf(err) != ct.ErrorCode_MIGRATION_ABORTED {
			t.Errorf("import of the aborted migration: %v, want MIGRATION_ABORTED", err)
		}
		// A rerun moves the slots under the plan's next attempt.
		c.Settled(20 * time.Second)
		for _, tr := range mc.traders {
			mc.before[tr] = c.view(tr)
		}
		rep2, err := Run(c.Admin, c.Cli, plan, path)
		if err != nil || rep2.Attempt != 1 || rep2.Migration == rep.Migration || rep2.Migration != DeriveID(mc.slots, 1, 2, 2, 1) {
			t.Fatalf("rerun after the abort: %v %+v", err, rep2)
		}
		mc.checkMoved(t, c, 2)
	})
	t.Run("after-import", func(t *testing.T) {
		mc := newCase(t, c, 300, 399, 2, 51_000_000)
		path := filepath.Join(t.TempDir(), "state.json")
		ctx, cancel := context.WithCancel(c.Admin)
		plan := mc.plan()
		plan.Progress = func(e Event) {
			if e.Step == StepImported {
				cancel()
			}
		}
		if _, err := Run(ctx, c.Cli, plan, path); !errors.Is(err, context.Canceled) {
			t.Fatalf("crashed run: %v", err)
		}
		plan.Progress = nil
		rep, err := Abort(c.Admin, c.Cli, plan, path)
		if err != nil || !rep.AbortRefused || rep.Outcome != OutcomeMoved {
			t.Fatalf("Abort after the import: %v %+v, want refused and moved", err, rep)
		}
		mc.checkMoved(t, c, 2)
	})
	t.Run("late-freeze", func(t *testing.T) {
		// The tool gave up before its freeze was seen and aborted; the freeze then
		// lands late. A rerun of the abort finds it and unfreezes.
		mc := newCase(t, c, 400, 499, 1, 52_000_000)
		path := filepath.Join(t.TempDir(), "state.json")
		plan := mc.plan()
		rep, err := Abort(c.Admin, c.Cli, plan, path)
		if err != nil || rep.Outcome != OutcomeAborted {
			t.Fatalf("Abort before anything: %v %+v", err, rep)
		}
		fctx, fcancel := context.WithTimeout(router.WithGroup(c.Admin, 1), 10*time.Second)
		defer fcancel()
		if _, err := c.Cli.SlotFreeze(fctx, &ct.SlotFreezeRequest{Migration: rep.Migration, Slots: mc.slots, TargetGroup: 2, Epoch: rep.Epoch}); err != nil {
			t.Fatalf("late freeze: %v", err)
		}
		if c.ownership(1, mc.slots).frozenBy() != rep.Migration {
			t.Fatal("the late freeze did not freeze the slots")
		}
		if rep, err = Abort(c.Admin, c.Cli, plan, path); err != nil || rep.Outcome != OutcomeAborted {
			t.Fatalf("second Abort: %v %+v", err, rep)
		}
		if e := c.ownership(1, mc.slots).ownedAt(); e != 1 {
			t.Errorf("after the late freeze was undone group 1 owns at epoch %d: %s", e, c.ownership(1, mc.slots).summary(mc.slots))
		}
	})
	t.Run("auto-abort", func(t *testing.T) {
		// A permanent refusal before the import (the source does not own the slots):
		// the tool aborts on the target by itself.
		plan := Plan{Slots: slotRange(9000, 9009), From: 1, To: 2, Logger: testcluster.Logger()}
		rep, err := Run(c.Admin, c.Cli, plan, filepath.Join(t.TempDir(), "state.json"))
		var se *StepError
		if !errors.Is(err, ErrAborted) || !errors.As(err, &se) || se.Step != StepFrozen || se.Group != 1 || rep.Outcome != OutcomeAborted {
			t.Fatalf("Run on slots group 1 does not own: %v %+v", err, rep)
		}
		t.Logf("auto-abort: %v", err)
	})
}

// TestRebalanceDrain: orders pending at the freeze (the gateway is cut off) hold the
// export back until they drain; past DrainTimeout the migration is aborted and the
// source serves again; a rerun then moves the slots.
func TestRebalanceDrain(t *testing.T) {
	c := newTestCluster(t)
	c.SeedInstrument()
	mc := newCase(t, c, 500, 599, 1, 60_000_000)
	tr := mc.traders[0]
	pending := func(id int64) {
		t.Helper()
		c.gw.Cut()
		if err := c.fillWait(tr, id, ct.WaitFor_COMMIT); err != nil {
			t.Fatalf("fill %d: %v", id, err)
		}
	}

	// Drain timeout: aborted, the source serves again.
	pending(10)
	plan := mc.plan()
	plan.DrainTimeout = 500 * time.Millisecond
	path := filepath.Join(t.TempDir(), "state.json")
	rep, err := Run(c.Admin, c.Cli, plan, path)
	var se *StepError
	if !errors.Is(err, ErrAborted) || !errors.Is(err, ErrDrainTimeout) || !errors.As(err, &se) || se.Group != 1 || rep.Outcome != OutcomeAborted || rep.DrainWaits == 0 {
		t.Fatalf("Run with orders that cannot drain: %v %+v", err, rep)
	}
	t.Logf("drain timeout: %v", err)
	if e := c.ownership(1, mc.slots).ownedAt(); e != 1 {
		t.Fatalf("group 1 after the drain timeout: %s", c.ownership(1, mc.slots).summary(mc.slots))
	}
	c.gw.Restore()
	c.Settled(20 * time.Second)

	// Orders pending at the freeze drain once the gateway is back.
	pending(11)
	plan.DrainTimeout = 20 * time.Second
	plan.Progress = func(e Event) {
		if e.Step == StepFrozen {
			time.AfterFunc(400*time.Millisecond, c.gw.Restore)
		}
	}
	rep, err = Run(c.Admin, c.Cli, plan, path)
	if err != nil || rep.Outcome != OutcomeMoved || rep.Attempt != 1 || rep.DrainWaits == 0 {
		t.Fatalf("Run with orders draining: %v %+v", err, rep)
	}
	t.Logf("drained after %d pending answers: %+v", rep.DrainWaits, rep.Elapsed)
	if e := c.ownership(2, mc.slots).ownedAt(); e != 2 {
		t.Errorf("group 2 owns at epoch %d: %s", e, c.ownership(2, mc.slots).summary(mc.slots))
	}
	c.Settled(20 * time.Second)
	if applied := c.checkExactlyOnce(mc.traders, copiers); applied[tr] != 4 {
		t.Errorf("trader %d: %d fills applied, want 4", tr, applied[tr])
	}
}
