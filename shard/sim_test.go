package shard

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// The deterministic simulation (design §4, issue 11). One seeded PRNG and a virtual
// clock drive three replicas of the real raftfsm.Machine and the real leader logic of
// this package — dispatch (place), results batching (takeResults, proposeResults),
// reconciliation with the fence (reconcileOnce, queryThenPlace), takeover
// (newLeaderState, recoverPending), settlement payouts (settle, payUnpaid) and marks
// (proposeMarks) — against exchsim with faults on, through a network that loses
// answers and delivers requests late. What the simulation replaces is only what a
// real run adds around that logic: raft (an in-process log applied to every replica,
// Node.propose), wall time (Node.clock) and the goroutines that call the same
// functions on timers. See sim_world_test.go for the world and sim_check_test.go for
// the invariants.

var (
	simSeeds       = flag.Int("sim.seeds", 6, "seeds TestSimulation runs (make sim SEEDS=N)")
	simFirst       = flag.Uint64("sim.first", 1, "first seed")
	simSeed        = flag.Uint64("sim.seed", 0, "replay one seed (overrides -sim.seeds)")
	simSteps       = flag.Int("sim.steps", 2000, "steps per seed")
	simTradeIDs    = flag.String("sim.tradeids", "global", "venue trade IDs: global, per-instrument or scrambled")
	simPartial     = flag.Float64("sim.partial", 0.1, "share of venue fills that are partial")
	simCloseFaults = flag.Bool("sim.close-faults", true, "injected rejects and partial fills hit copier closes too (owed closes); false spares closes")
	simNetting     = flag.Bool("sim.netting", true, "one-way copiers net several attributions (a trader on both sides, several traders): closes may then open at the venue, and dust below the minimums is left")
)

func TestSimulation(t *testing.T) {
	seeds := []uint64{}
	if *simSeed != 0 {
		seeds = append(seeds, *simSeed)
	} else {
		for i := range *simSeeds {
			seeds = append(seeds, *simFirst+uint64(i))
		}
	}
	var total simStats
	for _, seed := range seeds {
		st, err := runSimulation(seed, *simSteps)
		total.add(st)
		if err != nil || st.bad() {
			t.Errorf("seed %d failed: %v (%s)\nreplay: go test ./shard/ -run 'TestSimulation$' -count=1 -v -args -sim.seed=%d -sim.steps=%d -sim.tradeids=%s -sim.partial=%g -sim.close-faults=%t -sim.netting=%t",
				seed, err, st.line(1), seed, *simSteps, *simTradeIDs, *simPartial, *simCloseFaults, *simNetting)
		}
	}
	t.Log(total.line(len(seeds)))
	fmt.Println(total.line(len(seeds)))
}

type simStats struct {
	steps, leaderChanges, pauses, exits, slotMoves, slotAborts, venueFaults, divergences, dupExecutions, stranded, quarantined int
	notes                                                                                                                      []string
}

func (s *simStats) add(o simStats) {
	s.steps += o.steps
	s.leaderChanges += o.leaderChanges
	s.pauses += o.pauses
	s.exits += o.exits
	s.slotMoves += o.slotMoves
	s.slotAborts += o.slotAborts
	s.venueFaults += o.venueFaults
	s.divergences += o.divergences
	s.dupExecutions += o.dupExecutions
	s.stranded += o.stranded
	s.quarantined += o.quarantined
}

func (s *simStats) bad() bool { return s.divergences > 0 || s.dupExecutions > 0 || s.stranded > 0 }

func (s *simStats) line(seeds int) string {
	l := fmt.Sprintf("sim: seeds=%d steps=%d leader_changes=%d venue_faults=%d divergences=%d dup_executions=%d stranded=%d quarantined=%d paused_leaders=%d trader_exits=%d slot_moves=%d slot_aborts=%d",
		seeds, s.steps, s.leaderChanges, s.venueFaults, s.divergences, s.dupExecutions, s.stranded, s.quarantined, s.pauses, s.exits, s.slotMoves, s.slotAborts)
	if len(s.notes) > 0 {
		l += "\n  " + strings.Join(s.notes, "\n  ")
	}
	return l
}

// runSimulation runs one seed: setup, steps with CheckInvariants after each, then
// quiescence and the end-state checks.
func runSimulation(seed uint64, steps int) (st simStats, err error) {
	w, err := newSimWorld(seed)
	if err != nil {
		return st, err
	}
	defer w.close()
	if err := w.setup(); err != nil {
		return w.stats, err
	}
	for i := 0; i < steps; i++ {
		w.stats.steps++
		err := w.step()
		if err == nil {
			err = w.leaderMachineCheck()
		}
		if err != nil {
			w.stats.venueFaults = int(w.venue.Stats().FaultsInjected) + w.gw.netFaults
			return w.stats, fmt.Errorf("step %d (t=%s): %w", i, w.elapsed(), err)
		}
	}
	err = w.quiesce()
	w.stats.venueFaults = int(w.venue.Stats().FaultsInjected) + w.gw.netFaults
	if err != nil {
		return w.stats, err
	}
	w.checkEnd()
	return w.stats, nil
}

// simGateway is the network between the leaders and the venue. A PlaceOrders may be
// delivered now; executed but its answer lost (the caller times out); or held on the
// wire and delivered later, maybe after its expiry (the caller times out at once).
// Queries and transfers may fail (answer lost; a transfer may have executed).
type simGateway struct {
	w    *simWorld
	h    *exchsim.Handler
	wire []wireReq
	// forceWire: the next PlaceOrders goes on the wire (a deposed leader's last send).
	forceWire bool
	netFaults int
}

type wireReq struct {
	at  time.Time
	req *gateway.PlaceOrdersRequest
}

var errSimTimeout = errors.New("sim: request timed out")

func (g *simGateway) PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	r := g.w.rng.Float64()
	switch {
	case g.forceWire || r < 0.04:
		g.forceWire = false
		g.netFaults++
		d := time.Duration(g.w.rng.Int64N(int64(2 * g.w.cfg.DispatchTimeout)))
		g.wire = append(g.wire, wireReq{at: g.w.now.Add(d), req: req})
		return nil, errSimTimeout
	case r < 0.07:
		g.netFaults++
		_, _ = g.h.PlaceOrders(context.Background(), req)
		return nil, errSimTimeout
	}
	return g.h.PlaceOrders(ctx, req)
}

func (g *simGateway) QueryOrders(ctx context.Context, req *gateway.QueryOrdersRequest) (*gateway.QueryOrdersResponse, error) {
	if g.w.rng.Float64() < 0.03 {
		g.netFaults++
		return nil, errSimTimeout
	}
	return g.h.QueryOrders(ctx, req)
}

func (g *simGateway) MarkPrices(ctx context.Context, req *gateway.MarkPricesRequest) (*gateway.MarkPricesResponse, error) {
	return g.h.MarkPrices(ctx, req)
}

func (g *simGateway) ApplicantStats(ctx context.Context, req *gateway.ApplicantStatsRequest) (*gateway.ApplicantStatsResponse, error) {
	return g.h.ApplicantStats(ctx, req)
}

func (g *simGateway) Transfer(ctx context.Context, req *gateway.TransferRequest) (*gateway.TransferResponse, error) {
	switch r := g.w.rng.Float64(); {
	case r < 0.05:
		g.netFaults++
		return nil, errSimTimeout
	case r < 0.08:
		g.netFaults++
		_, _ = g.h.Transfer(ctx, req)
		return nil, errSimTimeout
	}
	return g.h.Transfer(ctx, req)
}

// deliver lands every wire request due by now, in time order.
func (g *simGateway) deliver(all bool) {
	for {
		k := -1
		for i, wr := range g.wire {
			if (all || !wr.at.After(g.w.now)) && (k < 0 || wr.at.Before(g.wire[k].at)) {
				k = i
			}
		}
		if k < 0 {
			return
		}
		wr := g.wire[k]
		g.wire = append(g.wire[:k], g.wire[k+1:]...)
		if wr.at.After(g.w.now) {
			g.w.now = wr.at
		}
		_, _ = g.h.PlaceOrders(context.Background(), wr.req)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
