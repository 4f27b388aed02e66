package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/convert"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func ctlQueryCommands() []ctlCommand {
	return []ctlCommand{
		{path: "trader get", args: []string{"trader"}, summary: "a trader: status, settings, positions, stats",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the trader's account ID")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					resp, err := c.GetTrader(ctx, &ct.GetTraderRequest{Trader: *trader, ReadOpts: e.readOpts()})
					if err != nil {
						return nil, err
					}
					return resp.GetTrader(), nil
				}
			}},
		{path: "followers", args: []string{"trader"}, summary: "a trader's follows, by copier (--all pages through them)",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the trader's account ID")
				after := fs.Int64("after", 0, "start after this copier")
				limit := fs.Int("limit", 100, "page size (1..1000)")
				all := fs.Bool("all", false, "fetch every page")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					out := &ct.ListFollowersResponse{}
					cursor := *after
					for {
						resp, err := c.ListFollowers(ctx, &ct.ListFollowersRequest{Trader: *trader, AfterCopier: cursor, Limit: int32(*limit), ReadOpts: e.readOpts()})
						if err != nil {
							return nil, err
						}
						out.Follows = append(out.Follows, resp.GetFollows()...)
						out.NextAfterCopier = resp.GetNextAfterCopier()
						if !*all || out.NextAfterCopier == 0 {
							return out, nil
						}
						cursor = out.NextAfterCopier
					}
				}
			}},
		{path: "follows", args: []string{"copier"}, summary: "a copier's follows across traders",
			setup: func(fs *flag.FlagSet) ctlAction {
				copier := fs.Int64("copier", 0, "the copier's account ID")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.ListCopierFollows(ctx, &ct.ListCopierFollowsRequest{Copier: *copier, ReadOpts: e.readOpts()})
				}
			}},
		{path: "positions", args: []string{"copier"}, summary: "a copier's positions, per trader followed (--trader: one trader)",
			setup: func(fs *flag.FlagSet) ctlAction {
				copier := fs.Int64("copier", 0, "the copier's account ID")
				trader := fs.Int64("trader", 0, "only the positions attributed to this trader (0: all)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.GetPositions(ctx, &ct.GetPositionsRequest{Copier: *copier, Trader: *trader, ReadOpts: e.readOpts()})
				}
			}},
		{path: "orders", summary: "pending copier orders of a signal (--trader --trade-id) or of a copier (--copier [--trader]); --quarantined",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.ListOrdersRequest{}
				fs.Int64Var(&r.Trader, "trader", 0, "the trader (required with --trade-id)")
				fs.Int64Var(&r.TradeId, "trade-id", 0, "the signal's trade ID")
				fs.Int64Var(&r.Copier, "copier", 0, "the copier")
				fs.BoolVar(&r.QuarantinedOnly, "quarantined", false, "only QUARANTINED orders (every group; --trader/--copier filter)")
				limit := fs.Int("limit", 1000, "most orders (1..10000)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					r.Limit, r.ReadOpts = int32(*limit), e.readOpts()
					return c.ListOrders(ctx, r)
				}
			}},
		{path: "activity", args: []string{"copier"}, summary: "a copier's copy decisions: orders with their result, skips with reason and cap (--trader, --since, --all)",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.ListActivityRequest{}
				fs.Int64Var(&r.Copier, "copier", 0, "the copier (0 with --trader: every copier of the trader, admin)")
				fs.Int64Var(&r.Trader, "trader", 0, "only decisions for this trader")
				since := fs.String("since", "", "only decisions at or after this: RFC 3339 time or a duration back from now (24h)")
				fs.StringVar(&r.After, "after", "", "page cursor (next_after of the previous page)")
				limit := fs.Int("limit", 100, "page size (1..1000)")
				all := fs.Bool("all", false, "fetch every page")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					if r.Copier == 0 && r.Trader == 0 {
						return nil, errUsage("activity: --copier is required (or --trader, admin)")
					}
					if *since != "" {
						t, err := parseSince(*since, time.Now())
						if err != nil {
							return nil, errUsage("--since: %v", err)
						}
						r.SinceUnixNano = t.UnixNano()
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					r.Limit, r.ReadOpts = int32(*limit), e.readOpts()
					out := &ct.ListActivityResponse{Records: []*ct.ActivityRecord{}}
					for {
						resp, err := c.ListActivity(ctx, r)
						if err != nil {
							return nil, err
						}
						out.Records = append(out.Records, resp.GetRecords()...)
						out.NextAfter = resp.GetNextAfter()
						if !*all || out.NextAfter == "" {
							return out, nil
						}
						r.After = out.NextAfter
					}
				}
			}},
		{path: "quality", args: []string{"trader"}, summary: "how closely copies of a trader track it: latency P50/P99, slippage mean/P90, fill ratio (--copier: one follow)",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.GetCopyQualityRequest{}
				fs.Int64Var(&r.Trader, "trader", 0, "the trader's account ID")
				fs.Int64Var(&r.Copier, "copier", 0, "only this copier's copies (its own token)")
				window := fs.Int("window", 30, "days: 7 or 30")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					r.WindowDays, r.ReadOpts = int32(*window), e.readOpts()
					return c.GetCopyQuality(ctx, r)
				}
			}},
		{path: "settlements", summary: "profit-share settlement entries (--trader, --period, --unpaid)",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.ListSettlementsRequest{}
				fs.Int64Var(&r.Trader, "trader", 0, "one trader (0: every trader of the group)")
				fs.Int64Var(&r.Period, "period", 0, "one period (0: every period kept)")
				fs.BoolVar(&r.UnpaidOnly, "unpaid", false, "only entries not yet paid")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					r.ReadOpts = e.readOpts()
					return c.ListSettlements(ctx, r)
				}
			}},
		{path: "leaderboard", summary: "top K lead traders by a metric over all groups (--metric roi|pnl|win_rate|copier_pnl|assets_under_copy|copiers)",
			setup: func(fs *flag.FlagSet) ctlAction {
				metric := fs.String("metric", "roi", "roi, pnl, win_rate, copier_pnl, assets_under_copy or copiers")
				window := fs.Int("window", 30, "days: 7, 30 or 90 (roi and pnl)")
				k := fs.Int("k", 20, "how many traders")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					m, err := ct.LeaderMetricFromString(strings.ToUpper(*metric))
					if err != nil {
						return nil, fmt.Errorf("--metric: %q is not one of roi, pnl, win_rate, copier_pnl, assets_under_copy, copiers", *metric)
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.Leaderboard(ctx, &ct.LeaderboardRequest{Metric: m, WindowDays: int32(*window), K: int32(*k), ReadOpts: e.readOpts()})
				}
			}},
		{path: "slots", summary: "the slots a group owns, with epochs and migrations (call a node with --node)",
			setup: func(fs *flag.FlagSet) ctlAction {
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.GetSlotOwnership(ctx, &ct.GetSlotOwnershipRequest{ReadOpts: e.readOpts()})
				}
			}},
		{path: "group", summary: "one node's view of its group (raft state, indexes, members)",
			setup: func(fs *flag.FlagSet) ctlAction {
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.GroupStatus(ctx, &ct.GroupStatusRequest{ReadOpts: &ct.ReadOptions{AllowStale: true}})
				}
			}},
		{path: "status", summary: "every group: members, leader, term, commit/applied index, slots and epochs, pending orders",
			setup: func(fs *flag.FlagSet) ctlAction {
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					seeds, err := statusSeeds(ctx, e)
					if err != nil {
						return nil, err
					}
					return clusterStatus(ctx, seeds), nil
				}
			}},
	}
}

// readOpts are the queries' read options (--stale).
func (e *ctlEnv) readOpts() *ct.ReadOptions {
	if !e.g.allowStale {
		return nil
	}
	return &ct.ReadOptions{AllowStale: true}
}

// statusSeed is one group to report on, by the RPC addresses known for its members.
type statusSeed struct {
	Group int32
	Addrs []string
}

// statusReport is `ctl status`: one entry per group.
type statusReport struct {
	// Health is healthy, degraded or unreachable (see assess); the exit code follows it.
	Health string `json:"health"`
	// Problems are the reasons for a health other than healthy, one sentence each.
	Problems []string       `json:"problems,omitempty"`
	Groups   []*groupReport `json:"groups"`
}

// groupReport is a group's state: its leader's view plus every member's own.
type groupReport struct {
	Group         int32           `json:"group"`
	Leader        string          `json:"leader"`
	LeaderAddr    string          `json:"leader_addr"`
	Term          int64           `json:"term"`
	CommitIndex   int64           `json:"commit_index"`
	AppliedIndex  int64           `json:"applied_index"`
	PendingOrders int32           `json:"pending_orders"`
	Slots         []*ct.SlotRange `json:"slots"`
	Members       []*memberReport `json:"members"`
	Error         string          `json:"error,omitempty"`
}

// memberReport is one member's answer to GroupStatus (or why it gave none).
type memberReport struct {
	ID            string `json:"id"`
	RPCAddr       string `json:"rpc_addr"`
	State         string `json:"state"`
	Term          int64  `json:"term"`
	CommitIndex   int64  `json:"commit_index"`
	AppliedIndex  int64  `json:"applied_index"`
	LastLogIndex  int64  `json:"last_log_index"`
	SnapshotIndex int64  `json:"last_snapshot_index"`
	PendingOrders int32  `json:"pending_orders"`
	Error         string `json:"error,omitempty"`
}

// clusterStatus asks every member of every seed group for its status (stale reads, so a
// follower answers for itself) and the leader for the group's slots. Members a seed
// reports are added to those the seed listed. Unreachable members are reported, not fatal.
func clusterStatus(ctx context.Context, seeds []statusSeed) *statusReport {
	rep := &statusReport{Groups: make([]*groupReport, len(seeds))}
	var wg sync.WaitGroup
	for i, s := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Groups[i] = groupStatus(ctx, s)
		}()
	}
	wg.Wait()
	rep.assess()
	return rep
}

func groupStatus(ctx context.Context, seed statusSeed) *groupReport {
	g := &groupReport{Group: seed.Group}
	stale := &ct.ReadOptions{AllowStale: true}
	ask := func(addr string) (*ct.GroupStatusResponse, error) {
		c, err := dialCopyTrade([]string{addr}, timeLeft(ctx))
		if err != nil {
			return nil, err
		}
		return c.GroupStatus(ctx, &ct.GroupStatusRequest{ReadOpts: stale})
	}
	// Learn the membership from the first seed address that answers.
	addrs := append([]string(nil), seed.Addrs...)
	known := map[string]bool{}
	for _, a := range addrs {
		known[a] = true
	}
	answers := map[string]*ct.GroupStatusResponse{}
	errs := map[string]error{}
	for _, a := range seed.Addrs {
		st, err := ask(a)
		if err != nil {
			errs[a] = err
			continue
		}
		answers[a] = st
		for _, m := range st.GetMembers() {
			if m.GetRpcAddr() != "" && !known[m.GetRpcAddr()] {
				known[m.GetRpcAddr()] = true
				addrs = append(addrs, m.GetRpcAddr())
			}
		}
		break
	}
	// Ask the rest in parallel; which to ask is decided before any goroutine writes the maps.
	var rest []string
	for _, a := range addrs {
		if answers[a] == nil && errs[a] == nil {
			rest = append(rest, a)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range rest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := ask(a)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[a] = err
			} else {
				answers[a] = st
			}
		}()
	}
	wg.Wait()
	for _, a := range addrs {
		m := &memberReport{RPCAddr: a}
		if st := answers[a]; st != nil {
			m.ID, m.State, m.Term = st.GetNodeId(), st.GetState(), st.GetTerm()
			m.CommitIndex, m.AppliedIndex, m.LastLogIndex = st.GetCommitIndex(), st.GetAppliedIndex(), st.GetLastLogIndex()
			m.SnapshotIndex, m.PendingOrders = st.GetLastSnapshotIndex(), st.GetPendingOrders()
			if g.Group == 0 {
				g.Group = st.GetGroup()
			}
			if st.GetState() == "Leader" {
				g.Leader, g.LeaderAddr, g.Term = st.GetNodeId(), a, st.GetTerm()
				g.CommitIndex, g.AppliedIndex, g.PendingOrders = st.GetCommitIndex(), st.GetAppliedIndex(), st.GetPendingOrders()
			}
		} else {
			m.State, m.Error = "unreachable", describeError(errs[a])
		}
		g.Members = append(g.Members, m)
	}
	sort.Slice(g.Members, func(i, j int) bool {
		if g.Members[i].ID != g.Members[j].ID {
			return g.Members[i].ID < g.Members[j].ID
		}
		return g.Members[i].RPCAddr < g.Members[j].RPCAddr
	})
	if g.LeaderAddr == "" {
		g.Error = "no leader answered"
		return g
	}
	c, err := dialCopyTrade([]string{g.LeaderAddr}, timeLeft(ctx))
	if err == nil {
		var so *ct.GetSlotOwnershipResponse
		if so, err = c.GetSlotOwnership(ctx, &ct.GetSlotOwnershipRequest{ReadOpts: stale}); err == nil {
			g.Slots = so.GetRanges()
		}
	}
	if err != nil {
		g.Error = fmt.Sprintf("slots: %s", describeError(err))
	}
	return g
}

// maxProbedGroups bounds the groups `ctl status` asks a router about.
const maxProbedGroups = 256

// statusSeeds are the groups `ctl status` reports on: those of --topology; else the
// group of --node; else every group a --router knows (asked one by one, by group ID,
// until the router says a group is not in its topology).
func statusSeeds(ctx context.Context, e *ctlEnv) ([]statusSeed, error) {
	if e.g.topology != "" {
		t, err := router.LoadTopology(e.g.topology)
		if err != nil {
			return nil, err
		}
		out := make([]statusSeed, 0, len(t.Groups))
		for _, g := range t.Groups {
			s := statusSeed{Group: int32(g.ID)}
			for _, m := range g.Members {
				s.Addrs = append(s.Addrs, m.RPCAddr)
			}
			out = append(out, s)
		}
		return out, nil
	}
	addrs, err := e.g.addrs()
	if err != nil {
		return nil, errUsage("status needs --topology FILE, --node ADDR or --router ADDR")
	}
	if e.g.node != "" {
		return []statusSeed{{Addrs: addrs}}, nil
	}
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	var out []statusSeed
	for id := uint32(1); id <= maxProbedGroups; id++ {
		if e.g.group > 0 && uint(id) != e.g.group {
			continue
		}
		st, err := c.GroupStatus(router.WithGroup(ctx, id), &ct.GroupStatusRequest{ReadOpts: &ct.ReadOptions{AllowStale: true}})
		if convert.CodeOf(err) == ct.ErrorCode_INVALID_ARGUMENT {
			break // not in the router's topology: no more groups
		}
		s := statusSeed{Group: int32(id)}
		if _, business := convert.StatusOf(err); err != nil && !business {
			// The router itself did not answer (a group it cannot reach is a business
			// error): report no groups rather than a list of phantoms.
			if len(out) == 0 {
				return nil, errUnreachable("router %s unreachable: %s", strings.Join(addrs, ","), describeError(err))
			}
			return nil, fmt.Errorf("router %s stopped answering after %d groups: %s", strings.Join(addrs, ","), len(out), describeError(err))
		}
		if err != nil {
			// The group is known but did not answer: report it with no members.
			out = append(out, s)
			continue
		}
		for _, m := range st.GetMembers() {
			s.Addrs = append(s.Addrs, m.GetRpcAddr())
		}
		if len(s.Addrs) == 0 {
			s.Addrs = []string{st.GetLeaderAddr()}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the router at %s reported no groups", strings.Join(addrs, ","))
	}
	return out, nil
}

// parseSince reads --since: an RFC 3339 time, or a duration back from now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must be positive", v)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration (24h)", v)
	}
	return t, nil
}
