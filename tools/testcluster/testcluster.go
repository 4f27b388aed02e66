// Package testcluster is test support: a real copytrade cluster on loopback (groups ×
// 3 shard nodes, one exchsim and a router) and the small helpers the cluster tests
// share. It is a normal package so that the tests of several packages (router,
// tools/rebalance) can use one copy of it, but it is meant to be imported only by
// _test.go files; no production code may import it.
//
// It imports shard and router, so it cannot be used by internal (package shard or
// package router) tests of those packages: router's cluster tests are external
// (package router_test) for that reason.
package testcluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
	"github.com/copytrade/copytrade/shard"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/faultproxy"
	"github.com/copytrade/copytrade/tools/loopport"
)

// LogEnv is the environment variable that, when set, sends the cluster's and the
// tests' logs to stderr at debug level.
const LogEnv = "TESTCLUSTER_LOG"

// Logger is a logger for tests: silent unless LogEnv is set.
func Logger() *slog.Logger {
	if os.Getenv(LogEnv) != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// WaitFor polls cond every step until it holds or timeout passes.
func WaitFor(t testing.TB, timeout, step time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(step)
	}
}

// DeadAddr is a loopback address where nothing listens for as long as t runs
// (loopport.Dead).
func DeadAddr(t testing.TB) string { return loopport.Dead(t) }

// SlotsOf is group g's (1-based) share of the slots when n groups split them evenly.
func SlotsOf(g, n int) raftfsm.SlotRange {
	per := raftfsm.NumSlots / n
	r := raftfsm.SlotRange{From: uint16((g - 1) * per), To: uint16(g*per - 1)}
	if g == n {
		r.To = raftfsm.NumSlots - 1
	}
	return r
}

// TraderIn returns n trader IDs >= from whose slots group g owns (of groups).
func TraderIn(g, groups, n int, from int64) []int64 {
	r := SlotsOf(g, groups)
	var out []int64
	for id := from; len(out) < n; id++ {
		if s := raftfsm.SlotOf(raftfsm.AccountID(id)); s >= r.From && s <= r.To {
			out = append(out, id)
		}
	}
	return out
}

// Symbol is the instrument the seeding helpers create and OpenFill trades.
const Symbol = "BTCUSDT"

// FollowSettings is a fixed-amount follow with a large allocation: every open fill
// gives the copier one order.
func FollowSettings() *ct.FollowSettings {
	return &ct.FollowSettings{
		Mode: ct.CopyMode_FIXED_AMOUNT, FixedMargin: "100", Allocation: "900000",
		LeveragePolicy: ct.LeveragePolicy_FOLLOW_TRADER, MarginPolicy: ct.MarginPolicy_FOLLOW_TRADER,
		PositionMode: ct.PositionMode_HEDGE,
	}
}

// OpenFill is an opening buy of the trader: every copier gets one order. Fill v2: the
// venue's position after it is as if every earlier trade ID was this same open, and the
// venue time is now.
func OpenFill(trader, tradeID int64) *ct.Fill {
	return &ct.Fill{Trader: trader, TradeId: tradeID, Instrument: Symbol, Side: ct.Side_BUY,
		PositionSide: ct.PositionSide_LONG, Qty: "0.01", Price: "60000", Leverage: 10,
		MarginMode: ct.MarginMode_CROSS, Equity: "100000",
		PositionAfter: fixed.FromUnits(tradeID * fixed.MustParse("0.01").Units()).String(),
		EventTimeNs:   time.Now().UnixNano()}
}

// Options shape a Cluster.
type Options struct {
	Groups int          // shard groups, 3 nodes each
	Mode   exchsim.Mode // exchsim's mode
	Auth   bool         // the same guard on the router and on every node
	// Limits, with Auth, gives the router and every node a guard of its own with these
	// rate limits (as separate processes would have); nil: one shared guard, no limits.
	Limits map[string]auth.Limit
	// Gateway, if set, is called with exchsim's address once it serves and returns
	// the address the nodes use as their gateway (e.g. a proxy in front of exchsim).
	Gateway func(simAddr string) string
	// TLS runs every hop over mutual TLS with a fresh in-memory CA (Cluster.CA): exchsim,
	// raft, the nodes' and the router's RPC; Cli and LeaderClient present a certificate
	// of role "client" (no identity for the guard: calls still need tokens).
	TLS bool
	// Router, if set, adjusts the router's configuration before it starts.
	Router func(*router.Config)
}

// Cluster is Groups × 3 shard nodes, one exchsim and a router, on loopback. It is
// stopped by t's cleanup.
//
// No port is picked, released and bound later (another test's process could take it in
// between): exchsim, the nodes and the router bind port 0. The group configurations
// and Topo name proxies (tools/faultproxy), made first, one per node for raft and one
// for RPC, each pointed at the node's listener once it is bound and at nothing once it
// is killed.
type Cluster struct {
	T      testing.TB
	Sim    *exchsim.Sim
	Srv    *exchsim.Server
	Topo   *router.Topology
	Key    auth.Key
	Guard  *auth.Guard // nil without Options.Auth
	Router *router.Router
	Cli    *shard.Client   // to the router; closed when the test ends
	Admin  context.Context // carries an admin token
	CA     *tlstest.CA     // the deployment's CA with Options.TLS, else nil

	mu    sync.Mutex
	nodes [][]*shard.Node          // [group-1][member]
	px    [][][2]*faultproxy.Proxy // [group-1][member]: raft, RPC
}

// New starts a cluster and waits for every group's leader.
func New(t testing.TB, o Options) *Cluster {
	t.Helper()
	sc := exchsim.DefaultConfig()
	sc.Mode = o.Mode
	sc.MarkStepInterval = 0
	sc.Logger = Logger()
	sim, err := exchsim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{T: t, Sim: sim, Topo: &router.Topology{}}
	if o.TLS {
		c.CA = tlstest.MustCA("testcluster")
		c.Srv, err = exchsim.ServeTLS(sim, "127.0.0.1:0", c.CA.Store(tlsconf.RoleIdentity(shard.GatewayRole, "exchsim")))
	} else {
		c.Srv, err = exchsim.Serve(sim, "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	gateway := c.Srv.Addr().String()
	if o.Gateway != nil {
		gateway = o.Gateway(gateway)
	}
	if c.Key, err = auth.GenerateKey("k1"); err != nil {
		t.Fatal(err)
	}
	if o.Auth {
		ks, _ := auth.NewKeySet(c.Key)
		if c.Guard, err = auth.NewGuard(auth.Config{Keys: ks, Logger: Logger()}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	c.nodes = make([][]*shard.Node, o.Groups)
	c.px = make([][][2]*faultproxy.Proxy, o.Groups)
	for g := 1; g <= o.Groups; g++ {
		var members []shard.Member
		spec := router.GroupSpec{ID: uint32(g)}
		for i := range 3 {
			px := [2]*faultproxy.Proxy{newProxy(t), newProxy(t)}
			c.px[g-1] = append(c.px[g-1], px)
			m := shard.Member{ID: fmt.Sprintf("g%dn%d", g, i+1), RaftAddr: px[0].Addr(), RPCAddr: px[1].Addr()}
			members = append(members, m)
			spec.Members = append(spec.Members, router.MemberSpec{ID: m.ID, RaftAddr: m.RaftAddr, RPCAddr: m.RPCAddr})
		}
		c.Topo.Groups = append(c.Topo.Groups, spec)
		for i := range 3 {
			cfg := shard.DefaultConfig()
			cfg.NodeID = members[i].ID
			cfg.Group = raftfsm.GroupID(g)
			cfg.BootstrapSlots = []raftfsm.SlotRange{SlotsOf(g, o.Groups)}
			cfg.DataDir = fmt.Sprintf("%s/%s", dir, members[i].ID)
			cfg.RaftBindAddr, cfg.RaftAdvertiseAddr, cfg.RPCAddr = "127.0.0.1:0", members[i].RaftAddr, "127.0.0.1:0"
			cfg.GatewayAddrs = []string{gateway}
			cfg.Members = members
			cfg.Bootstrap = true
			cfg.HeartbeatTimeout = 300 * time.Millisecond
			cfg.ElectionTimeout = 300 * time.Millisecond
			cfg.LeaderLeaseTimeout = 150 * time.Millisecond
			cfg.DispatchTimeout = 400 * time.Millisecond
			cfg.FenceMargin = 100 * time.Millisecond
			cfg.ReconcileInterval = 50 * time.Millisecond
			cfg.ReconcileMaxBackoff = 400 * time.Millisecond
			cfg.MarkPriceInterval = 0
			cfg.SettlementPeriod = 0
			cfg.NoSync = true
			cfg.Logger = Logger()
			if c.CA != nil {
				cfg.TLS = c.CA.Store(tlsconf.NodeIdentity(uint32(g), cfg.NodeID))
			}
			if g := c.guardFor(o); g != nil {
				cfg.ServerOptions = append(cfg.ServerOptions, g.ServerOption())
			}
			n, err := shard.New(cfg, nil)
			if err != nil {
				t.Fatalf("node %s: %v", cfg.NodeID, err)
			}
			if err := n.Start(); err != nil {
				t.Fatalf("serve %s: %v", cfg.NodeID, err)
			}
			c.nodes[g-1] = append(c.nodes[g-1], n)
			c.px[g-1][i][0].SetTarget(n.Addrs().Raft)
			c.px[g-1][i][1].SetTarget(n.Addrs().RPC)
		}
	}
	for g := 1; g <= o.Groups; g++ {
		c.Leader(g)
	}
	rc := router.DefaultConfig()
	rc.ListenAddr = "127.0.0.1:0"
	rc.RequestTimeout = 10 * time.Second
	rc.BackoffMax = 100 * time.Millisecond
	rc.Logger = Logger()
	if o.Auth {
		rc.Guard, rc.Key = c.guardFor(o), c.Key
	}
	if c.CA != nil {
		rc.TLS = c.CA.Store(tlsconf.RoleIdentity("router", "r1"))
	}
	if o.Router != nil {
		o.Router(&rc)
	}
	if c.Router, err = router.New(rc, c.Topo); err != nil {
		t.Fatal(err)
	}
	if err := c.Router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Router.Close(context.Background()) })
	if c.Cli, err = shard.NewClient([]string{c.Router.Addr().String()}, c.ClientTLS()...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Cli.Close() })
	c.Admin = c.As(auth.RoleAdmin, "ops")
	return c
}

// ClientTLS are the client options of a test client: with Options.TLS, mutual TLS with
// a certificate of role "client" (any server of the CA accepted); else none.
func (c *Cluster) ClientTLS() []client.Option {
	if c.CA == nil {
		return nil
	}
	return kitexopt.TLSClient(c.CA.Store(tlsconf.RoleIdentity("client", "test")), nil)
}

// guardFor is the guard of one process: the shared one, or without limits a fresh
// one with o.Limits.
func (c *Cluster) guardFor(o Options) *auth.Guard {
	if c.Guard == nil || o.Limits == nil {
		return c.Guard
	}
	ks, _ := auth.NewKeySet(c.Key)
	g, err := auth.NewGuard(auth.Config{Keys: ks, Limits: o.Limits, Logger: Logger()})
	if err != nil {
		c.T.Fatal(err)
	}
	return g
}

// As is a context carrying a token for role (identity id).
func (c *Cluster) As(role auth.Role, id string) context.Context {
	c.T.Helper()
	tok, err := auth.Mint(c.Key, id, role, time.Hour)
	if err != nil {
		c.T.Fatal(err)
	}
	return auth.WithToken(context.Background(), tok)
}

// Account is a context carrying account id's token.
func (c *Cluster) Account(id int64) context.Context {
	return c.As(auth.AccountRole(id), strconv.FormatInt(id, 10))
}

func (c *Cluster) stop() {
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
	_ = c.Srv.Stop()
}

// Leader waits for group g's ready leader and returns its member index.
func (c *Cluster) Leader(g int) int {
	c.T.Helper()
	idx := -1
	WaitFor(c.T, 10*time.Second, 10*time.Millisecond, fmt.Sprintf("group %d leader", g), func() bool {
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

// Node is group g's member i (nil once killed).
func (c *Cluster) Node(g, i int) *shard.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[g-1][i]
}

// Kill kills group g's member i (it stays down).
func (c *Cluster) Kill(g, i int) {
	c.mu.Lock()
	n := c.nodes[g-1][i]
	c.nodes[g-1][i] = nil
	c.mu.Unlock()
	if n != nil {
		for _, p := range c.px[g-1][i] {
			p.SetTarget("") // nothing reaches the ports it is about to release
		}
		_ = n.Kill()
	}
}

// newProxy is a proxy on port 0 without a target yet, closed when t ends.
func newProxy(t testing.TB) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// KillLeader kills group g's current leader (it stays down).
func (c *Cluster) KillLeader(g int) {
	c.T.Helper()
	c.Kill(g, c.Leader(g))
}

// LeaderClient is a direct client to group g's leader.
func (c *Cluster) LeaderClient(g int) copytrade.Client {
	c.T.Helper()
	cli, err := shard.NewClient([]string{c.Topo.Groups[g-1].Members[c.Leader(g)].RPCAddr}, c.ClientTLS()...)
	if err != nil {
		c.T.Fatal(err)
	}
	c.T.Cleanup(func() { _ = cli.Close() })
	return cli
}

// AtLeader runs call against group g's current leader, and again against the next
// leader while the answer is NOT_LEADER or UNAVAILABLE (an election, which takes
// seconds on a loaded machine), until ctx ends. For idempotent calls only: migration
// steps (idempotent per migration and epoch) and reads.
func (c *Cluster) AtLeader(ctx context.Context, g int, call func(copytrade.Client) error) error {
	c.T.Helper()
	for {
		err := call(c.LeaderClient(g))
		switch convert.CodeOf(err) {
		case ct.ErrorCode_NOT_LEADER, ct.ErrorCode_UNAVAILABLE:
			if ctx.Err() != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		default:
			return err
		}
	}
}

// StateHashes is every live replica's state hash, by member ID.
func (c *Cluster) StateHashes() map[string][32]byte {
	out := map[string][32]byte{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.nodes {
		for _, n := range g {
			if n != nil {
				h, _ := n.StateHash()
				out[n.ID()] = h
			}
		}
	}
	return out
}

// Settled waits until no live replica holds a pending order and each group's replicas
// are at the same applied index.
func (c *Cluster) Settled(timeout time.Duration) {
	c.T.Helper()
	WaitFor(c.T, timeout, 20*time.Millisecond, "orders settled", func() bool {
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

// Seed creates the instrument in every group, then the traders and copiers follows of
// each (see SeedTraders), all through the router as admin.
func (c *Cluster) Seed(traders []int64, copiers int, firstCopier int64) map[int64][]int64 {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(c.Admin, 30*time.Second)
	defer cancel()
	c.seedInstrument(ctx)
	return c.seedTraders(ctx, traders, copiers, firstCopier)
}

// SeedInstrument creates the instrument in every group, through the router as admin.
func (c *Cluster) SeedInstrument() {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(c.Admin, 20*time.Second)
	defer cancel()
	c.seedInstrument(ctx)
}

// SeedTraders creates the traders and copiers follows of each (FollowSettings: every
// open fill gives every copier one order), through the router as admin. It returns
// each trader's copiers.
func (c *Cluster) SeedTraders(traders []int64, copiers int, firstCopier int64) map[int64][]int64 {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(c.Admin, 30*time.Second)
	defer cancel()
	return c.seedTraders(ctx, traders, copiers, firstCopier)
}

func (c *Cluster) seedInstrument(ctx context.Context) {
	c.T.Helper()
	if _, err := c.Cli.UpsertInstrument(ctx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{
		Symbol: Symbol, LotStep: "0.001", TickSize: "0.1", MinQty: "0.001", MinNotional: "5", MaxLeverage: 125,
	}}); err != nil {
		c.T.Fatalf("instrument: %v", err)
	}
}

func (c *Cluster) seedTraders(ctx context.Context, traders []int64, copiers int, firstCopier int64) map[int64][]int64 {
	c.T.Helper()
	out := map[int64][]int64{}
	next := firstCopier
	for _, tr := range traders {
		c.Create(ctx, fmt.Sprintf("apply trader %d", tr), ct.ErrorCode_TRADER_EXISTS, func() error {
			_, err := c.Cli.ApplyTrader(ctx, &ct.ApplyTraderRequest{Trader: tr,
				Stats: &ct.ApplicantStats{Equity: "100000"},
				// Test fills may be built long before a loaded machine applies them (a
				// Kafka backlog, a retry): a signal age limit of 10 minutes keeps their
				// opens from being skipped as SIGNAL_STALE.
				Config: &ct.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 2000, SignalMaxAgeMs: 600_000}})
			return err
		})
		for range copiers {
			cp := next
			next++
			c.Create(ctx, fmt.Sprintf("follow %d → %d", cp, tr), ct.ErrorCode_FOLLOW_EXISTS, func() error {
				_, err := c.Cli.Follow(ctx, &ct.FollowRequest{Trader: tr, Copier: cp, Settings: FollowSettings()})
				return err
			})
			out[tr] = append(out[tr], cp)
		}
	}
	return out
}

// Create runs a call that creates something once (a trader, a follow) the way a careful
// client does: an UNAVAILABLE answer (no leader yet, or leadership lost after the
// command was appended, so the outcome is unknown) is retried, and after such a retry
// exists means the earlier attempt committed. Seeds use fresh IDs, so nothing else
// created it.
func (c *Cluster) Create(ctx context.Context, what string, exists ct.ErrorCode, call func() error) {
	c.T.Helper()
	retried := false
	for {
		err := call()
		switch code := convert.CodeOf(err); {
		case err == nil, retried && code == exists:
			return
		case code == ct.ErrorCode_UNAVAILABLE && ctx.Err() == nil:
			retried = true
			time.Sleep(20 * time.Millisecond)
		default:
			c.T.Fatalf("%s: %v", what, err)
		}
	}
}

// CheckExactlyOnce asserts, for each trader, that every client order ID the machine
// assigned exists exactly once at exchsim (no-dedup mode makes a resend a second order)
// and that the machine planned copiers × applied fills orders. It returns the applied
// fill count per trader and the orders planned for them in all.
func (c *Cluster) CheckExactlyOnce(traders []int64, copiers int) (applied map[int64]uint64, planned int64) {
	c.T.Helper()
	applied = map[int64]uint64{}
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
			c.T.Fatalf("trader %d not found in any group", tr)
		}
		applied[tr] = v.SignalSeq
		if want := v.SignalSeq * uint64(copiers); v.OrderSeq != want {
			c.T.Errorf("trader %d: %d orders planned for %d fills × %d copiers", tr, v.OrderSeq, v.SignalSeq, copiers)
		}
		bad := 0
		for seq := uint64(1); seq <= v.OrderSeq; seq++ {
			id := "c" + strconv.FormatUint(uint64(tr), 36) + "-" + strconv.FormatUint(seq, 36)
			if n := c.Sim.OrderCount(id); n != 1 {
				if bad < 5 {
					c.T.Errorf("order %s: %d at exchsim, want exactly 1", id, n)
				}
				bad++
			}
		}
		if bad > 0 {
			c.T.Errorf("trader %d: %d of %d orders not exactly once", tr, bad, v.OrderSeq)
		}
		planned += int64(v.OrderSeq)
	}
	return applied, planned
}
