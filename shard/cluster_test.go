package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/faultproxy"
)

// waitFor polls cond every step until it holds or timeout passes.
func waitFor(t testing.TB, timeout, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(step)
	}
}

// proxy is a faultproxy on port 0 in front of target ("": none yet), closed with the test.
func proxy(t testing.TB, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// behind makes cfg a node that binds port 0 behind the proxies raftPx and rpcPx, whose
// addresses are its member addresses (the raft one advertised); route points them at
// the node once it runs.
func behind(cfg *Config, raftPx, rpcPx *faultproxy.Proxy) Member {
	cfg.RaftBindAddr, cfg.RaftAdvertiseAddr, cfg.RPCAddr = "127.0.0.1:0", raftPx.Addr(), "127.0.0.1:0"
	return Member{ID: cfg.NodeID, RaftAddr: raftPx.Addr(), RPCAddr: rpcPx.Addr()}
}

// route points raftPx and rpcPx at n's listeners (n nil: at nothing, connections are
// refused).
func route(n *Node, raftPx, rpcPx *faultproxy.Proxy) {
	var a Addrs
	if n != nil {
		a = n.Addrs()
	}
	raftPx.SetTarget(a.Raft)
	rpcPx.SetTarget(a.RPC)
}

func testLogger() *slog.Logger {
	if os.Getenv("SHARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// recordingGateway remembers every client order ID sent and can be switched off.
type recordingGateway struct {
	Gateway
	mu   sync.Mutex
	sent map[string]int // PlaceOrders sends per ID (not orders created)
}

func (g *recordingGateway) PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	g.mu.Lock()
	for _, o := range req.Orders {
		g.sent[o.ClientOrderId]++
	}
	g.mu.Unlock()
	return g.Gateway.PlaceOrders(ctx, req)
}

func (g *recordingGateway) ids() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.sent))
	for id := range g.sent {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// cluster is a 3-node group in the test process. Nothing in it picks a free port,
// releases it and binds it later (another test's process could take it in between):
// nodes and exchsim bind port 0, and the addresses the group's configuration, the
// gateway client and the tests use are proxies in front of them (tools/faultproxy),
// made first and pointed at a node's listeners whenever it starts, at nothing while it
// is down, so a restarted node binds new ports and nothing else changes.
type cluster struct {
	mu     sync.Mutex // guards nodes: fills run beside kills and restarts
	t      testing.TB
	dir    string
	cfgs   []Config
	nodes  []*Node
	sim    *exchsim.Sim
	srv    *exchsim.Server
	gwPx   *faultproxy.Proxy // in front of exchsim: serveGateway
	gw     *recordingGateway
	raftPx []*faultproxy.Proxy // member i's raft address
	rpcPx  []*faultproxy.Proxy // member i's RPC address
}

type clusterOpts struct {
	mode   exchsim.Mode
	mutate func(*Config)
	faults exchsim.Faults // exchsim misbehaves (venueFaults is the usual set)
	sim    func(*exchsim.Config)
}

func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	sc := exchsim.DefaultConfig()
	sc.Mode = o.mode
	sc.MarkStepInterval = 0
	sc.Faults = o.faults
	sc.Logger = testLogger()
	if o.sim != nil {
		o.sim(&sc)
	}
	sim, err := exchsim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: t.TempDir(), sim: sim, gwPx: proxy(t, "")}
	c.serveGateway()
	kg, err := NewKitexGateway([]string{c.gwPx.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kg.Close() })
	c.gw = &recordingGateway{Gateway: kg, sent: map[string]int{}}
	var members []Member
	for i := 0; i < 3; i++ {
		c.raftPx, c.rpcPx = append(c.raftPx, proxy(t, "")), append(c.rpcPx, proxy(t, ""))
		members = append(members, Member{ID: fmt.Sprintf("n%d", i+1), RaftAddr: c.raftPx[i].Addr(), RPCAddr: c.rpcPx[i].Addr()})
	}
	for i := 0; i < 3; i++ {
		cfg := DefaultConfig()
		cfg.NodeID = members[i].ID
		cfg.Group = 1
		cfg.DataDir = fmt.Sprintf("%s/%s", c.dir, members[i].ID)
		behind(&cfg, c.raftPx[i], c.rpcPx[i])
		cfg.Members = members
		cfg.Bootstrap = true
		cfg.HeartbeatTimeout = 300 * time.Millisecond
		cfg.ElectionTimeout = 300 * time.Millisecond
		cfg.LeaderLeaseTimeout = 150 * time.Millisecond
		cfg.DispatchTimeout = 400 * time.Millisecond
		cfg.FenceMargin = 100 * time.Millisecond
		cfg.ReconcileInterval = 50 * time.Millisecond
		cfg.ReconcileMaxBackoff = 400 * time.Millisecond
		cfg.RequestTimeout = 5 * time.Second
		cfg.MarkPriceInterval = 0
		cfg.SettlementPeriod = 0
		cfg.Logger = testLogger()
		if o.mutate != nil {
			o.mutate(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
	}
	c.nodes = make([]*Node, 3)
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(c.stopAll)
	return c
}

// serveGateway (re)starts exchsim on port 0 behind c.gwPx.
func (c *cluster) serveGateway() {
	c.t.Helper()
	srv, err := exchsim.Serve(c.sim, "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	c.srv = srv
	c.gwPx.SetTarget(srv.Addr().String())
}

// stopGateway stops exchsim; its address refuses connections until serveGateway.
func (c *cluster) stopGateway() error {
	c.gwPx.SetTarget("")
	return c.srv.Stop()
}

// member is node i's entry in the group's configuration (its proxies' addresses).
func (c *cluster) member(i int) Member {
	return c.cfgs[i].Members[i]
}

// memberOf is n's entry in the group's configuration.
func (c *cluster) memberOf(n *Node) Member {
	for i, cfg := range c.cfgs {
		if cfg.NodeID == n.ID() {
			return c.member(i)
		}
	}
	c.t.Fatalf("%s is not a member", n.ID())
	return Member{}
}

func (c *cluster) start(i int) {
	c.t.Helper()
	n, err := New(c.cfgs[i], c.gw)
	if err != nil {
		c.t.Fatalf("start %s: %v", c.cfgs[i].NodeID, err)
	}
	if err := n.Start(); err != nil {
		c.t.Fatalf("serve %s: %v", c.cfgs[i].NodeID, err)
	}
	route(n, c.raftPx[i], c.rpcPx[i])
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
}

// live returns the running nodes' slots (nil for a stopped one).
func (c *cluster) live() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// leaderNode waits for a ready leader. (A kill between leader() and the read of its
// slot left nil here; the chaos test's fill stream then panicked.)
func (c *cluster) leaderNode() *Node {
	c.t.Helper()
	for {
		if n := c.live()[c.leader()]; n != nil {
			return n
		}
	}
}

func (c *cluster) kill(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n != nil {
		route(nil, c.raftPx[i], c.rpcPx[i]) // nothing reaches the ports it is about to release
		_ = n.Kill()
	}
}

func (c *cluster) stopAll() {
	for i := range c.nodes {
		c.kill(i)
	}
	_ = c.srv.Stop()
}

// leader waits for a ready leader and returns its index.
func (c *cluster) leader() int {
	c.t.Helper()
	idx := -1
	waitFor(c.t, 10*time.Second, 10*time.Millisecond, func() bool {
		for i, n := range c.live() {
			if n != nil && n.IsLeader() {
				var g raftfsm.GroupID
				n.Read(func(m *raftfsm.Machine) { g = m.Group() })
				if g != 0 {
					idx = i
					return true
				}
			}
		}
		return false
	})
	return idx
}

func (c *cluster) cmd(cmd raftfsm.Command) *raftfsm.Result {
	c.t.Helper()
	for attempt := 0; ; attempt++ {
		n := c.leaderNode()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, _, err := n.Command(ctx, cmd, false)
		cancel()
		if _, ok := err.(*raftfsm.Refusal); err == nil || ok {
			return res // a refusal may be a retry's view of an earlier attempt that committed
		}
		if attempt > 20 {
			c.t.Errorf("command %T: %v", cmd, err)
			return &raftfsm.Result{Refusal: &raftfsm.Refusal{Msg: err.Error()}}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pendingZero waits until every live replica has no pending order and the same applied index.
func (c *cluster) settled(timeout time.Duration) {
	c.t.Helper()
	state := func() (ok bool, desc string) {
		var idx uint64
		ok = true
		for _, n := range c.live() {
			if n == nil {
				continue
			}
			var p int
			var a uint64
			n.Read(func(m *raftfsm.Machine) { p, a = len(m.PendingOrders()), m.AppliedIndex() })
			desc += fmt.Sprintf(" %s(leader=%v applied=%d pending=%d)", n.ID(), n.IsLeader(), a, p)
			if p != 0 || (idx != 0 && a != idx) {
				ok = false
			}
			idx = a
		}
		return ok, desc
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, desc := state()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("not settled within %s: replicas%s", timeout, desc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Workload helpers.

const (
	testTrader = raftfsm.AccountID(1_000_001)
	testSymbol = "BTCUSDT"
)

func dec(s string) fixed.Dec { return fixed.MustParse(s) }

// seed creates the instrument, a trader and copiers follows with mixed copy modes
// (one third each), hedge and one-way accounts.
func (c *cluster) seed(trader raftfsm.AccountID, copiers int, firstCopier int64) []raftfsm.AccountID {
	c.t.Helper()
	c.cmd(&raftfsm.InstrumentUpsert{Instrument: raftfsm.Instrument{
		Symbol: testSymbol, LotStep: dec("0.001"), TickSize: dec("0.1"), MinQty: dec("0.001"),
		MinNotional: dec("5"), MaxLeverage: 125,
	}})
	if r := c.cmd(&raftfsm.TraderApply{Trader: trader, Stats: raftfsm.ApplicantStats{Equity: dec("100000")},
		Config: raftfsm.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 2000}}); r.Refusal != nil && r.Refusal.Code != raftfsm.CodeTraderExists {
		c.t.Fatalf("apply: %v", r.Refusal)
	}
	out := make([]raftfsm.AccountID, copiers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < copiers; i++ {
		id := raftfsm.AccountID(firstCopier + int64(i))
		out[i] = id
		mode := exchsim.Hedge
		pm := raftfsm.Hedge
		if i%5 == 4 {
			mode, pm = exchsim.OneWay, raftfsm.OneWay
		}
		if _, _, err := c.sim.CreateAccount(int64(id), dec("1000000"), mode); err != nil {
			c.t.Fatal(err)
		}
		s := raftfsm.FollowSettings{
			Allocation: dec("20000"), LeveragePolicy: raftfsm.LeverageFollowTrader,
			MarginPolicy: raftfsm.MarginFollowTrader, PositionMode: pm,
		}
		switch i % 3 {
		case 0:
			s.Mode, s.FixedMargin = raftfsm.FixedAmount, dec("100")
		case 1:
			s.Mode, s.Multiplier = raftfsm.Multiplier, dec("0.05")
		case 2:
			s.Mode = raftfsm.Proportional
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if r := c.cmd(&raftfsm.Follow{Copier: id, Trader: trader, Settings: s}); r.Refusal != nil && r.Refusal.Code != raftfsm.CodeFollowExists {
				c.t.Errorf("follow %d: %v", id, r.Refusal)
			}
		}()
	}
	wg.Wait()
	return out
}

// fill submits one fill to the leader (retrying until it is accepted), waiting for
// ACKED, and returns the orders it planned.
func (c *cluster) fill(trader raftfsm.AccountID, tradeID int64, side raftfsm.Side, pos raftfsm.PosSide, qty string) (planned int) {
	c.t.Helper()
	f := raftfsm.TradeFill{
		Trader: trader, TradeID: tradeID, Instrument: testSymbol, Side: side, PosSide: pos,
		Qty: dec(qty), Price: dec("60000"), Leverage: 10, MarginMode: raftfsm.Cross, Equity: dec("100000"),
	}
	orderSeq := func() (seq uint64) {
		c.leaderNode().Read(func(m *raftfsm.Machine) {
			if tv, ok := m.Trader(trader); ok {
				seq = tv.OrderSeq
			}
		})
		return seq
	}
	before := orderSeq()
	var last error
	venueV2(c.leaderNode(), &f)
	for attempt := 0; attempt < 100; attempt++ {
		n := c.leaderNode()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		o := n.SubmitFill(ctx, f, true, time.Now())
		cancel()
		switch o.Code {
		case 0:
			return int(o.OrdersPlanned)
		case 1012: // DUPLICATE_FILL
			if attempt == 0 {
				c.t.Fatalf("fill %d: DUPLICATE_FILL on the first send", tradeID)
			}
			// An earlier attempt committed and then failed (leader lost, deadline while
			// waiting for results): its orders are the trader's order sequence since
			// (orphan closes planned meanwhile included).
			return int(orderSeq() - before)
		}
		last = fmt.Errorf("code %d: %s", o.Code, o.Message)
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("fill %d never accepted; last: %v", tradeID, last)
	return 0
}

// checkLedgers asserts: every order ID sent exists exactly once at exchsim, and each
// copier's attributed position in every replica equals exchsim's position.
func (c *cluster) checkLedgers(copiers []raftfsm.AccountID, trader raftfsm.AccountID) {
	c.t.Helper()
	dups, missing := 0, 0
	for _, id := range c.gw.ids() {
		switch n := c.sim.OrderCount(id); {
		case n > 1:
			dups++
		case n == 0:
			missing++
		}
	}
	if st := c.sim.Stats(); st.OrdersCreated != int64(len(c.gw.ids())) {
		c.t.Errorf("exchsim created %d orders for %d distinct client order IDs", st.OrdersCreated, len(c.gw.ids()))
	}
	if dups != 0 || missing != 0 {
		c.t.Errorf("orders: %d duplicated, %d missing at exchsim (of %d IDs)", dups, missing, len(c.gw.ids()))
	}
	for _, n := range c.live() {
		if n == nil {
			continue
		}
		bad := 0
		n.Read(func(m *raftfsm.Machine) {
			for _, cp := range copiers {
				f, ok := m.Follow(cp, trader)
				var mine [3]fixed.Dec
				if ok {
					for _, p := range f.Positions {
						mine[p.Side] += p.Qty
					}
				}
				for _, side := range []raftfsm.PosSide{raftfsm.Long, raftfsm.Short} {
					want := mine[side]
					var got fixed.Dec
					if ok && f.Settings.PositionMode == raftfsm.OneWay {
						p, _ := c.sim.PositionOf(int64(cp), testSymbol, exchsim.Both)
						if side == raftfsm.Long && p.Qty > 0 {
							got = p.Qty
						} else if side == raftfsm.Short && p.Qty < 0 {
							got = -p.Qty
						}
					} else {
						p, _ := c.sim.PositionOf(int64(cp), testSymbol, exchsim.PositionSide(side))
						got = p.Qty
					}
					if got != want {
						if bad < 5 {
							c.t.Errorf("%s: copier %d side %d: ledger %s, exchsim %s", n.ID(), cp, side, want, got)
						}
						bad++
					}
				}
			}
		})
		if bad > 0 {
			c.t.Errorf("%s: %d copier positions differ from exchsim", n.ID(), bad)
		}
	}
}

func asNotLeader(err error, target **NotLeaderError) bool {
	return errorsAs(err, target)
}

var errorsAs = errors.As
