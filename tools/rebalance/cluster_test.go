package rebalance

// A real cluster on loopback: 2 groups × 3 shard nodes, exchsim (no-dedup: a resent
// client order ID would be a second order) and a router, with authentication on. The
// minimal part of router/cluster_test.go the rebalance tests need.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/shard"
	"github.com/copytrade/copytrade/tools/exchsim"
)

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelError)
	os.Exit(m.Run())
}

func testLogger() *slog.Logger {
	if os.Getenv("REBALANCE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// waitFor polls cond every step until it holds or timeout passes.
func waitFor(t testing.TB, timeout, step time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(step)
	}
}

func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	out := make([]string, n)
	lns := make([]net.Listener, n)
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i], out[i] = ln, ln.Addr().String()
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

const groups = 2

// testCluster is 2 groups × 3 shard nodes, one exchsim and a router, on loopback.
type testCluster struct {
	t      testing.TB
	sim    *exchsim.Sim
	srv    *exchsim.Server
	mu     sync.Mutex
	nodes  [][]*shard.Node // [group-1][member]
	topo   *router.Topology
	key    auth.Key
	router *router.Router
	cli    copytrade.Client // to the router
	admin  context.Context  // carries an admin token
	trade  context.Context  // carries a trading-system token
	gw     *gatewayProxy    // between the nodes and exchsim
}

// gatewayProxy forwards TCP to exchsim and can cut the nodes off it (Pause), so copier
// orders stay pending until Resume.
type gatewayProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	paused bool
	conns  map[net.Conn]bool
}

func newGatewayProxy(t testing.TB, addr, target string) *gatewayProxy {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &gatewayProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.Pause() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(in)
		}
	}()
	return p
}

func (p *gatewayProxy) serve(in net.Conn) {
	p.mu.Lock()
	if p.paused {
		p.mu.Unlock()
		in.Close()
		return
	}
	p.mu.Unlock()
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		in.Close()
		return
	}
	p.mu.Lock()
	if p.paused {
		p.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	p.conns[in], p.conns[out] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(out, in); out.Close() }()
	_, _ = io.Copy(in, out)
	in.Close()
}

// Pause closes every connection and refuses new ones.
func (p *gatewayProxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *gatewayProxy) Resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}

// slotsOf is group g's (1-based) share of the slots.
func slotsOf(g int) raftfsm.SlotRange {
	per := raftfsm.NumSlots / groups
	r := raftfsm.SlotRange{From: uint16((g - 1) * per), To: uint16(g*per - 1)}
	if g == groups {
		r.To = raftfsm.NumSlots - 1
	}
	return r
}

func newTestCluster(t testing.TB) *testCluster {
	t.Helper()
	sc := exchsim.DefaultConfig()
	sc.Mode = exchsim.NoDedup
	sc.MarkStepInterval = 0
	sc.Logger = testLogger()
	sim, err := exchsim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 2+6*groups)
	c := &testCluster{t: t, sim: sim, topo: &router.Topology{}}
	if c.srv, err = exchsim.Serve(sim, addrs[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	c.gw = newGatewayProxy(t, addrs[1+6*groups], addrs[0])
	if c.key, err = auth.GenerateKey("k1"); err != nil {
		t.Fatal(err)
	}
	ks, _ := auth.NewKeySet(c.key)
	guard, err := auth.NewGuard(auth.Config{Keys: ks, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c.nodes = make([][]*shard.Node, groups)
	for g := 1; g <= groups; g++ {
		var members []shard.Member
		spec := router.GroupSpec{ID: uint32(g)}
		for i := range 3 {
			base := 1 + 6*(g-1) + 2*i
			m := shard.Member{ID: fmt.Sprintf("g%dn%d", g, i+1), RaftAddr: addrs[base], RPCAddr: addrs[base+1]}
			members = append(members, m)
			spec.Members = append(spec.Members, router.MemberSpec{ID: m.ID, RaftAddr: m.RaftAddr, RPCAddr: m.RPCAddr})
		}
		c.topo.Groups = append(c.topo.Groups, spec)
		for i := range 3 {
			cfg := shard.DefaultConfig()
			cfg.NodeID = members[i].ID
			cfg.Group = raftfsm.GroupID(g)
			cfg.BootstrapSlots = []raftfsm.SlotRange{slotsOf(g)}
			cfg.DataDir = fmt.Sprintf("%s/%s", dir, members[i].ID)
			cfg.RaftBindAddr = members[i].RaftAddr
			cfg.RPCAddr = members[i].RPCAddr
			cfg.GatewayAddrs = []string{c.gw.ln.Addr().String()}
			cfg.Members = members
			cfg.Bootstrap = true
			cfg.HeartbeatTimeout = 100 * time.Millisecond
			cfg.ElectionTimeout = 100 * time.Millisecond
			cfg.LeaderLeaseTimeout = 50 * time.Millisecond
			cfg.DispatchTimeout = 400 * time.Millisecond
			cfg.FenceMargin = 100 * time.Millisecond
			cfg.ReconcileInterval = 50 * time.Millisecond
			cfg.ReconcileMaxBackoff = 400 * time.Millisecond
			cfg.MarkPriceInterval = 0
			cfg.SettlementPeriod = 0
			cfg.NoSync = true
			cfg.Logger = testLogger()
			cfg.ServerOptions = append(cfg.ServerOptions, guard.ServerOption())
			n, err := shard.New(cfg, nil)
			if err != nil {
				t.Fatalf("node %s: %v", cfg.NodeID, err)
			}
			if err := n.Start(); err != nil {
				t.Fatalf("serve %s: %v", cfg.NodeID, err)
			}
			c.nodes[g-1] = append(c.nodes[g-1], n)
		}
	}
	for g := 1; g <= groups; g++ {
		c.leader(g)
	}
	rc := router.DefaultConfig()
	rc.ListenAddr = "127.0.0.1:0"
	rc.RequestTimeout = 10 * time.Second
	rc.BackoffMax = 100 * time.Millisecond
	rc.Logger = testLogger()
	rc.Guard, rc.Key = guard, c.key
	if c.router, err = router.New(rc, c.topo); err != nil {
		t.Fatal(err)
	}
	if err := c.router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.router.Close(context.Background()) })
	if c.cli, err = shard.NewClient([]string{c.router.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	c.admin = c.as(auth.RoleAdmin, "ops")
	c.trade = c.as(auth.RoleTradingSystem, "ts")
	return c
}

// as is a context carrying a token for role (identity id).
func (c *testCluster) as(role auth.Role, id string) context.Context {
	c.t.Helper()
	tok, err := auth.Mint(c.key, id, role, time.Hour)
	if err != nil {
		c.t.Fatal(err)
	}
	return auth.WithToken(context.Background(), tok)
}

func (c *testCluster) stop() {
	c.mu.Lock()
	nodes := c.nodes
	c.mu.Unlock()
	for _, g := range nodes {
		for _, n := range g {
			if n != nil {
				_ = n.Kill()
			}
		}
	}
	_ = c.srv.Stop()
}

// leader waits for group g's ready leader and returns its member index.
func (c *testCluster) leader(g int) int {
	c.t.Helper()
	idx := -1
	waitFor(c.t, 10*time.Second, 10*time.Millisecond, fmt.Sprintf("group %d leader", g), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, n := range c.nodes[g-1] {
			if n != nil && n.IsLeader() {
				var gid raftfsm.GroupID
				n.Read(func(m *raftfsm.Machine) { gid = m.Group() })
				if gid != 0 {
					idx = i
					return true
				}
			}
		}
		return false
	})
	return idx
}

// killLeader kills group g's current leader (it stays down).
func (c *testCluster) killLeader(g int) {
	c.t.Helper()
	i := c.leader(g)
	c.mu.Lock()
	n := c.nodes[g-1][i]
	c.nodes[g-1][i] = nil
	c.mu.Unlock()
	if n != nil {
		_ = n.Kill()
	}
}

// leaderClient is a direct client to group g's leader.
func (c *testCluster) leaderClient(g int) copytrade.Client {
	c.t.Helper()
	cli, err := shard.NewClient([]string{c.topo.Groups[g-1].Members[c.leader(g)].RPCAddr})
	if err != nil {
		c.t.Fatal(err)
	}
	return cli
}

// settled waits until no live replica holds a pending order and each group's replicas
// are at the same applied index.
func (c *testCluster) settled(timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, 20*time.Millisecond, "orders settled", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, g := range c.nodes {
			var idx uint64
			for _, n := range g {
				if n == nil {
					continue
				}
				var p int
				var a uint64
				n.Read(func(m *raftfsm.Machine) { p, a = len(m.PendingOrders()), m.AppliedIndex() })
				if p != 0 || (idx != 0 && a != idx) {
					return false
				}
				idx = a
			}
		}
		return true
	})
}

// tradersIn returns n trader IDs >= from whose slots are in [lo, hi].
func tradersIn(lo, hi int32, n int, from int64) []int64 {
	var out []int64
	for id := from; len(out) < n; id++ {
		if s := int32(raftfsm.SlotOf(raftfsm.AccountID(id))); s >= lo && s <= hi {
			out = append(out, id)
		}
	}
	return out
}

const testSymbol = "BTCUSDT"

// seedInstrument creates the instrument in every group.
func (c *testCluster) seedInstrument() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.admin, 20*time.Second)
	defer cancel()
	if _, err := c.cli.UpsertInstrument(ctx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{
		Symbol: testSymbol, LotStep: "0.001", TickSize: "0.1", MinQty: "0.001", MinNotional: "5", MaxLeverage: 125,
	}}); err != nil {
		c.t.Fatalf("instrument: %v", err)
	}
}

// seed creates the traders and copiers follows of each (fixed amount, large allocation:
// every open fill gives every copier one order), through the router as admin.
func (c *testCluster) seed(traders []int64, copiers int, firstCopier int64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.admin, 30*time.Second)
	defer cancel()
	next := firstCopier
	for _, tr := range traders {
		if _, err := c.cli.ApplyTrader(ctx, &ct.ApplyTraderRequest{Trader: tr,
			Stats:  &ct.ApplicantStats{Equity: "100000"},
			Config: &ct.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 2000}}); err != nil {
			c.t.Fatalf("apply trader %d: %v", tr, err)
		}
		for range copiers {
			if _, err := c.cli.Follow(ctx, &ct.FollowRequest{Trader: tr, Copier: next, Settings: followSettings()}); err != nil {
				c.t.Fatalf("follow %d → %d: %v", next, tr, err)
			}
			next++
		}
	}
}

func followSettings() *ct.FollowSettings {
	return &ct.FollowSettings{
		Mode: ct.CopyMode_FIXED_AMOUNT, FixedMargin: "100", Allocation: "900000",
		LeveragePolicy: ct.LeveragePolicy_FOLLOW_TRADER, MarginPolicy: ct.MarginPolicy_FOLLOW_TRADER,
		PositionMode: ct.PositionMode_HEDGE,
	}
}

// openFill is an opening buy of the trader: every copier gets one order.
func openFill(trader, tradeID int64) *ct.Fill {
	return &ct.Fill{Trader: trader, TradeId: tradeID, Instrument: testSymbol, Side: ct.Side_BUY,
		PositionSide: ct.PositionSide_LONG, Qty: "0.01", Price: "60000", Leverage: 10,
		MarginMode: ct.MarginMode_CROSS, Equity: "100000"}
}

// fill submits one fill through the router and waits for its orders' results; a
// DUPLICATE_FILL answered after an ambiguous attempt counts as applied.
func (c *testCluster) fill(trader, tradeID int64) error {
	return c.fillWait(trader, tradeID, ct.WaitFor_ACKED)
}

// fillWait is fill with its wait mode: COMMIT answers with the copier orders still pending.
func (c *testCluster) fillWait(trader, tradeID int64, wait ct.WaitFor) error {
	ctx, cancel := context.WithTimeout(c.trade, 30*time.Second)
	defer cancel()
	resp, err := c.cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: trader, Fill: openFill(trader, tradeID), Wait: wait})
	if err != nil {
		return err
	}
	if code := resp.GetOutcome().GetCode(); code != ct.ErrorCode_OK && code != ct.ErrorCode_DUPLICATE_FILL {
		return fmt.Errorf("fill %d of %d: outcome %s", tradeID, trader, code)
	}
	return nil
}

// checkExactlyOnce asserts, for each trader, that every client order ID the machine
// assigned exists exactly once at exchsim and that the machine planned copiers ×
// applied fills orders. It returns the applied fill count per trader.
func (c *testCluster) checkExactlyOnce(traders []int64, copiers int) map[int64]uint64 {
	c.t.Helper()
	applied := map[int64]uint64{}
	for _, tr := range traders {
		var v raftfsm.TraderView
		var ok bool
		c.mu.Lock()
		for _, g := range c.nodes {
			for _, n := range g {
				if n != nil && !ok {
					n.Read(func(m *raftfsm.Machine) {
						if m.SlotInfo(raftfsm.SlotOf(raftfsm.AccountID(tr))).State == raftfsm.SlotOwned {
							v, ok = m.Trader(raftfsm.AccountID(tr))
						}
					})
				}
			}
		}
		c.mu.Unlock()
		if !ok {
			c.t.Fatalf("trader %d not found in any group", tr)
		}
		applied[tr] = v.SignalSeq
		if want := v.SignalSeq * uint64(copiers); v.OrderSeq != want {
			c.t.Errorf("trader %d: %d orders planned for %d fills × %d copiers", tr, v.OrderSeq, v.SignalSeq, copiers)
		}
		bad := 0
		for seq := uint64(1); seq <= v.OrderSeq; seq++ {
			id := "c" + strconv.FormatUint(uint64(tr), 36) + "-" + strconv.FormatUint(seq, 36)
			if n := c.sim.OrderCount(id); n != 1 {
				if bad < 5 {
					c.t.Errorf("order %s: %d at exchsim, want exactly 1", id, n)
				}
				bad++
			}
		}
		if bad > 0 {
			c.t.Errorf("trader %d: %d of %d orders not exactly once", tr, bad, v.OrderSeq)
		}
	}
	return applied
}

// ownership is group g's view of slots, read through the router from its leader.
func (c *testCluster) ownership(g uint32, slots []int32) ownership {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(router.WithGroup(c.admin, g), 10*time.Second)
	defer cancel()
	resp, err := c.cli.GetSlotOwnership(ctx, &ct.GetSlotOwnershipRequest{})
	if err != nil {
		c.t.Fatalf("ownership of group %d: %v", g, err)
	}
	return viewOf(resp.GetRanges(), slots)
}

// traderView is everything the router shows about a trader: GetTrader and every page
// of ListFollowers.
type traderView struct {
	Trader  *ct.Trader
	Follows []*ct.FollowView
}

func (c *testCluster) view(tr int64) traderView {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.admin, 15*time.Second)
	defer cancel()
	t, err := c.cli.GetTrader(ctx, &ct.GetTraderRequest{Trader: tr})
	if err != nil {
		c.t.Fatalf("GetTrader %d: %v", tr, err)
	}
	v := traderView{Trader: t.GetTrader()}
	after := int64(0)
	for {
		fl, err := c.cli.ListFollowers(ctx, &ct.ListFollowersRequest{Trader: tr, AfterCopier: after, Limit: 1000})
		if err != nil {
			c.t.Fatalf("ListFollowers %d: %v", tr, err)
		}
		v.Follows = append(v.Follows, fl.GetFollows()...)
		if after = fl.GetNextAfterCopier(); after == 0 {
			return v
		}
	}
}

// slotRange is lo..hi as a slot list.
func slotRange(lo, hi int32) []int32 {
	var out []int32
	for s := lo; s <= hi; s++ {
		out = append(out, s)
	}
	return out
}
