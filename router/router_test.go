package router_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestRouterFollowsLeaderChange kills group 1's leader while fills stream through the
// router to both groups: every fill the router accepted is applied (a resend answers
// DUPLICATE_FILL), and every copier order exists exactly once at a no-dedup venue.
func TestRouterFollowsLeaderChange(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 2, Mode: exchsim.NoDedup})
	const copiers, fillsPer = 20, 40
	traders := append(testcluster.TraderIn(1, 2, 2, 1_000_000), testcluster.TraderIn(2, 2, 1, 1_000_000)...)
	c.Seed(traders, copiers, 5_000_000)

	var accepted sync.Map // trader → []tradeID
	var failed, dupSuccess atomic.Int64
	var progress atomic.Int64
	var wg sync.WaitGroup
	for _, tr := range traders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ok []int64
			for id := int64(1); id <= fillsPer; id++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				wait := ct.WaitFor_COMMIT
				if id%2 == 0 {
					wait = ct.WaitFor_ACKED
				}
				resp, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: tr, Fill: testcluster.OpenFill(tr, id), Wait: wait})
				cancel()
				progress.Add(1)
				if err != nil {
					failed.Add(1)
					t.Logf("trader %d fill %d: %v", tr, id, err)
					continue
				}
				if resp.Outcome.Code == ct.ErrorCode_DUPLICATE_FILL {
					dupSuccess.Add(1)
				}
				ok = append(ok, id)
			}
			accepted.Store(tr, ok)
		}()
	}
	testcluster.WaitFor(t, 30*time.Second, 5*time.Millisecond, "load under way", func() bool { return progress.Load() >= 30 })
	old := c.Leader(1)
	c.Kill(1, old)
	t.Logf("killed group 1 leader %s after %d fills", c.Topo.Groups[0].Members[old].ID, progress.Load())
	wg.Wait()
	newLeader := c.Leader(1)
	if newLeader == old {
		t.Fatal("no new leader")
	}
	if c.Router.Leader(1) != c.Topo.Groups[0].Members[newLeader].RPCAddr {
		t.Errorf("router's leader of group 1 is %q, want %q", c.Router.Leader(1), c.Topo.Groups[0].Members[newLeader].RPCAddr)
	}
	c.Settled(30 * time.Second)
	applied := checkExactlyOnce(c, traders, copiers)

	nAccepted := 0
	for _, tr := range traders {
		v, _ := accepted.Load(tr)
		ids := v.([]int64)
		nAccepted += len(ids)
		if uint64(len(ids)) > applied[tr] {
			t.Errorf("trader %d: %d fills accepted, %d applied", tr, len(ids), applied[tr])
		}
		// Nothing accepted is lost: resending an accepted fill finds it applied.
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: tr, Fill: testcluster.OpenFill(tr, id)})
			cancel()
			if !isDuplicate(resp, err) {
				t.Errorf("trader %d fill %d was accepted but a resend answers %v %+v", tr, id, err, resp)
			}
		}
	}
	if nAccepted < len(traders)*fillsPer*9/10 {
		t.Errorf("only %d of %d fills accepted through a single leader kill", nAccepted, len(traders)*fillsPer)
	}
	t.Logf("accepted %d (of them %d deduplicated resends), failed %d; redirects: not_leader=%.0f member_down=%.0f no_leader=%.0f",
		nAccepted, dupSuccess.Load(), failed.Load(), c.Router.Metrics().Redirects("not_leader"),
		c.Router.Metrics().Redirects("member_down"), c.Router.Metrics().Redirects("no_leader"))
}

// TestRouterStaleMap moves a trader's slot from group 1 to group 2 with the migration
// RPCs while the router still routes it to group 1: a fill sent during the freeze waits
// out MOVING, then reaches group 2 through MOVED and is applied exactly once.
func TestRouterStaleMap(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 2, Mode: exchsim.NoDedup, Router: func(rc *router.Config) {
		rc.RefreshInterval = time.Hour // the map only changes on demand
	}})
	const copiers = 10
	tr := testcluster.TraderIn(1, 2, 1, 2_000_000)[0]
	slot := raftfsm.SlotOf(raftfsm.AccountID(tr))
	c.Seed([]int64{tr}, copiers, 6_000_000)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	for id := int64(1); id <= 5; id++ {
		if _, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: tr, Fill: testcluster.OpenFill(tr, id), Wait: ct.WaitFor_ACKED}); err != nil {
			t.Fatalf("fill %d: %v", id, err)
		}
	}
	if g, e := c.Router.SlotOwner(slot); g != 1 || e != 1 {
		t.Fatalf("router maps slot %d to group %d epoch %d, want 1/1", slot, g, e)
	}
	// The migration steps go straight to each group's leader (the router would follow
	// the slot); they are idempotent, so AtLeader retries them across an election.
	const mig, epoch = 77, 2
	if err := c.AtLeader(ctx, 1, func(src copytrade.Client) error {
		_, err := src.SlotFreeze(ctx, &ct.SlotFreezeRequest{Migration: mig, Slots: []int32{int32(slot)}, TargetGroup: 2, Epoch: epoch})
		return err
	}); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	// A fill during the freeze: the router retries MOVING until the slot lands.
	type result struct {
		resp *ct.SubmitFillResponse
		err  error
	}
	during := make(chan result, 1)
	go func() {
		resp, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: tr, Fill: testcluster.OpenFill(tr, 6), Wait: ct.WaitFor_ACKED})
		during <- result{resp, err}
	}()
	testcluster.WaitFor(t, 10*time.Second, 5*time.Millisecond, "router sees MOVING", func() bool { return c.Router.Metrics().Redirects("moving") >= 2 })
	var exp *ct.SlotExportResponse
	testcluster.WaitFor(t, 10*time.Second, 20*time.Millisecond, "export", func() bool {
		var err error
		exp, err = c.LeaderClient(1).SlotExport(ctx, &ct.SlotExportRequest{Migration: mig})
		return err == nil
	})
	if err := c.AtLeader(ctx, 2, func(dst copytrade.Client) error {
		_, err := dst.SlotImport(ctx, &ct.SlotImportRequest{Migration: mig, SourceGroup: 1, Slots: exp.Slots,
			Epoch: exp.Epoch, Data: exp.Data, Checksum: exp.Checksum})
		return err
	}); err != nil {
		t.Fatalf("import: %v", err)
	}
	if err := c.AtLeader(ctx, 1, func(src copytrade.Client) error {
		_, err := src.SlotRelease(ctx, &ct.SlotReleaseRequest{Migration: mig})
		return err
	}); err != nil {
		t.Fatalf("release: %v", err)
	}
	r := <-during
	if r.err != nil || r.resp.Outcome.Code != ct.ErrorCode_OK {
		t.Fatalf("fill during the move: %v %+v", r.err, r.resp)
	}
	if g, e := c.Router.SlotOwner(slot); g != 2 || e != epoch {
		t.Fatalf("router maps slot %d to group %d epoch %d, want 2/%d", slot, g, e, epoch)
	}
	if c.Router.Metrics().Redirects("moved") < 1 {
		t.Error("the router never followed MOVED")
	}
	// A second, stale router learns nothing until it is told MOVED.
	for id := int64(7); id <= 8; id++ {
		if _, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: tr, Fill: testcluster.OpenFill(tr, id), Wait: ct.WaitFor_ACKED}); err != nil {
			t.Fatalf("fill %d after the move: %v", id, err)
		}
	}
	// Resends of every fill are deduplicated by the new owner: nothing applies twice.
	for id := int64(1); id <= 8; id++ {
		resp, err := c.Cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: tr, Fill: testcluster.OpenFill(tr, id)})
		if !isDuplicate(resp, err) {
			t.Errorf("resend of fill %d: %v %+v, want DUPLICATE_FILL", id, err, resp)
		}
	}
	c.Settled(20 * time.Second)
	if applied := checkExactlyOnce(c, []int64{tr}, copiers); applied[tr] != 8 {
		t.Errorf("trader %d: %d fills applied, want 8", tr, applied[tr])
	}
}

// isDuplicate: the fill was already applied — DUPLICATE_FILL as an error (the first
// attempt found it) or as a success outcome (a resend after an ambiguous attempt did).
func isDuplicate(resp *ct.SubmitFillResponse, err error) bool {
	if err != nil {
		return convert.CodeOf(err) == ct.ErrorCode_DUPLICATE_FILL
	}
	return resp.GetOutcome().GetCode() == ct.ErrorCode_DUPLICATE_FILL
}
