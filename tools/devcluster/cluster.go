// Package devcluster runs a whole copytrade deployment inside one process, on loopback:
// shard groups of three raft nodes each (real TCP transport, raft-boltdb with fsync),
// a router and exchsim, the simulated trading system, served over Kitex. It is the
// body of `copytrade dev` and a fixture for tests and the bench tool.
//
// The pieces compose:
//
//	c, _ := devcluster.Start(ctx, devcluster.DefaultOptions())  // nodes, router, exchsim, keys
//	pop, _ := c.Seed(ctx, devcluster.DefaultSeedOptions())        // instruments, rules, traders, follows
//	sum, _ := c.RunWorkload(ctx, devcluster.WorkloadOptions{Traders: pop.Traders, ...})
//	fmt.Println(sum.Line())
//	c.Close()
//
// Seeding alone (Plan, SeedPlan) and the fill sink (NewRouterSink) work against any
// CopyTrade client and any exchsim.Sim, so a benchmark can point them at processes
// started by hand.
package devcluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bytedance/sonic"
	"github.com/cloudwego/kitex/client"
	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/shard"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/loopport"
)

// Options configures a dev cluster. Start from DefaultOptions.
type Options struct {
	// DataDir holds every node's raft data, the key file and the topology file. Empty:
	// a fresh directory under os.TempDir (kept after Close, so it can be inspected). It
	// must not hold an earlier run's cluster: exchsim's state lives in memory only.
	DataDir string
	// Groups is the number of shard groups (1..16); the 16384 slots are split into
	// equal consecutive ranges (two groups: 0-8191 and 8192-16383).
	Groups int
	// NodesPerGroup is each group's size (1, 3 or 5).
	NodesPerGroup int
	// Seed seeds exchsim's mark-price walks.
	Seed uint64
	// NoSync turns fsync off in the raft log stores (faster tests; never what a
	// benchmark should measure).
	NoSync bool
	// TokenTTL is the lifetime of the admin and trading-system tokens the cluster mints.
	TokenTTL time.Duration
	// StartTimeout bounds waiting for every group to elect a leader.
	StartTimeout time.Duration
	// Logger receives every component's logs; nil means a logger that discards them.
	Logger *slog.Logger
	// RaftLogLevel is the level of hashicorp/raft's own logs (elections at start are
	// warnings there, which is noise on a dev console).
	RaftLogLevel slog.Level
	// VenueFaults runs exchsim as a hostile venue (exchsim.HostileFaults(Seed)).
	VenueFaults bool
	// Limits are the per-identity rate limits of the router and of every node (see
	// DevLimits); nil: none.
	Limits map[string]auth.Limit
}

// DevLimits are auth.DefaultLimits with an admin budget large enough to seed a
// demo population quickly (the dev cluster seeds through the router as admin).
func DevLimits() map[string]auth.Limit {
	l := auth.DefaultLimits()
	l["admin"] = auth.Limit{PerSecond: 20000, Burst: 20000}
	return l
}

// DefaultOptions returns 2 groups × 3 nodes with fsync on.
func DefaultOptions() Options {
	return Options{Groups: 2, NodesPerGroup: 3, Seed: 1, TokenTTL: 7 * 24 * time.Hour, StartTimeout: 15 * time.Second,
		RaftLogLevel: slog.LevelError, Limits: DevLimits()}
}

// Validate returns nil or an error naming every problem.
func (o *Options) Validate() error {
	var errs []error
	if o.Groups < 1 || o.Groups > 16 {
		errs = append(errs, fmt.Errorf("devcluster: Groups must be in 1..16, got %d", o.Groups))
	}
	if o.NodesPerGroup != 1 && o.NodesPerGroup != 3 && o.NodesPerGroup != 5 {
		errs = append(errs, fmt.Errorf("devcluster: NodesPerGroup must be 1, 3 or 5, got %d", o.NodesPerGroup))
	}
	if o.TokenTTL < time.Minute {
		errs = append(errs, fmt.Errorf("devcluster: TokenTTL must be >= 1m, got %s", o.TokenTTL))
	}
	if o.StartTimeout <= 0 {
		errs = append(errs, fmt.Errorf("devcluster: StartTimeout must be > 0"))
	}
	return errors.Join(errs...)
}

// Cluster is a running dev cluster.
type Cluster struct {
	opts    Options
	log     *slog.Logger
	dir     string
	layout  *layout
	keyFile string

	exch   *exchsim.Server
	groups [][]*shard.Node // by group, then member
	rt     *router.Router
	cli    *shard.Client // to the router; Close closes it

	key        auth.Key
	guard      *auth.Guard // the router's; every node has its own, with the same keys and limits
	adminToken string
	tradeToken string
	closeOnce  sync.Once
	closeErr   error
}

// layout is every listening address, written to the data dir for reference.
type layout struct {
	Exchsim  string           `json:"exchsim"`
	Router   string           `json:"router"`
	Topology *router.Topology `json:"topology"`
}

const (
	layoutFile   = "layout.json"
	topologyFile = "topology.json"
	keysFile     = "keys.json"
)

// Start brings up exchsim, every shard group (bootstrapping them on a fresh data dir)
// and the router, waits until every group has a leader and the router knows every
// slot's owner, and mints an admin and a trading-system token.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if err := c.prepareKeys(); err != nil {
		return nil, err
	}
	if err := c.startExchsim(); err != nil {
		return nil, err
	}
	if err := c.startGroups(); err != nil {
		return nil, err
	}
	if err := c.waitLeaders(ctx); err != nil {
		return nil, err
	}
	if err := c.startRouter(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// prepareDir creates the data dir and picks (or reloads) every address.
func (c *Cluster) prepareDir() error {
	c.dir = c.opts.DataDir
	if c.dir == "" {
		d, err := os.MkdirTemp("", "copytrade-dev-")
		if err != nil {
			return fmt.Errorf("devcluster: data dir: %w", err)
		}
		c.dir = d
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("devcluster: data dir: %w", err)
	}
	path := filepath.Join(c.dir, layoutFile)
	if _, err := os.Stat(path); err == nil {
		// exchsim keeps its accounts, positions and trade IDs in memory only: a second
		// run against the same raft state would replay trade IDs the groups have seen.
		return fmt.Errorf("devcluster: %s holds an earlier run's cluster; exchsim's state is not kept between runs, so use a fresh data dir", c.dir)
	}
	n := 2 + c.opts.Groups*c.opts.NodesPerGroup*2
	addrs, err := freeAddrs(n)
	if err != nil {
		return err
	}
	l := &layout{Exchsim: addrs[0], Router: addrs[1], Topology: &router.Topology{}}
	next := 2
	for g := 1; g <= c.opts.Groups; g++ {
		gs := router.GroupSpec{ID: uint32(g)}
		for m := 1; m <= c.opts.NodesPerGroup; m++ {
			gs.Members = append(gs.Members, router.MemberSpec{
				ID: fmt.Sprintf("g%dn%d", g, m), RaftAddr: addrs[next], RPCAddr: addrs[next+1],
			})
			next += 2
		}
		l.Topology.Groups = append(l.Topology.Groups, gs)
	}
	c.layout = l
	data, err := sonic.ConfigStd.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("devcluster: encode layout: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("devcluster: write layout: %w", err)
	}
	topo, err := sonic.ConfigStd.MarshalIndent(l.Topology, "", "  ")
	if err != nil {
		return fmt.Errorf("devcluster: encode topology: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, topologyFile), topo, 0o644); err != nil {
		return fmt.Errorf("devcluster: write topology: %w", err)
	}
	return nil
}

// freeAddrs reserves n loopback ports below the kernel's ephemeral range (loopport):
// the members' addresses are in the group's configuration before they start.
func freeAddrs(n int) ([]string, error) {
	out, err := loopport.Reserve(n)
	if err != nil {
		return nil, fmt.Errorf("devcluster: %w", err)
	}
	return out, nil
}

// prepareKeys loads the data dir's key file or writes a fresh one, and mints tokens.
func (c *Cluster) prepareKeys() error {
	c.keyFile = filepath.Join(c.dir, keysFile)
	ks, err := auth.LoadKeys(c.keyFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("devcluster: %w", err)
		}
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return fmt.Errorf("devcluster: key secret: %w", err)
		}
		if err := auth.WriteKeyFile(c.keyFile, auth.Key{ID: "dev1", Secret: secret}); err != nil {
			return fmt.Errorf("devcluster: %w", err)
		}
		if ks, err = auth.LoadKeys(c.keyFile); err != nil {
			return fmt.Errorf("devcluster: %w", err)
		}
	}
	c.key = ks.Active()
	if c.adminToken, err = auth.Mint(c.key, "dev-admin", auth.RoleAdmin, c.opts.TokenTTL); err != nil {
		return fmt.Errorf("devcluster: admin token: %w", err)
	}
	if c.tradeToken, err = auth.Mint(c.key, "dev-exchsim", auth.RoleTradingSystem, c.opts.TokenTTL); err != nil {
		return fmt.Errorf("devcluster: trading-system token: %w", err)
	}
	return nil
}

func (c *Cluster) startExchsim() error {
	cfg := exchsim.DefaultConfig()
	cfg.ListenAddr = c.layout.Exchsim
	cfg.Seed = c.opts.Seed
	cfg.Logger = c.log.With("component", "exchsim")
	if c.opts.VenueFaults {
		cfg.Faults = exchsim.HostileFaults(c.opts.Seed)
	}
	sim, err := exchsim.New(cfg)
	if err != nil {
		return fmt.Errorf("devcluster: exchsim: %w", err)
	}
	srv, err := exchsim.Serve(sim, cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("devcluster: %w", err)
	}
	c.exch = srv
	return nil
}

// slotRanges splits the slots into groups equal consecutive ranges.
func slotRanges(groups int) [][]raftfsm.SlotRange {
	out := make([][]raftfsm.SlotRange, groups)
	per := raftfsm.NumSlots / groups
	for g := range groups {
		from := g * per
		to := from + per - 1
		if g == groups-1 {
			to = raftfsm.NumSlots - 1
		}
		out[g] = []raftfsm.SlotRange{{From: uint16(from), To: uint16(to)}}
	}
	return out
}

func (c *Cluster) startGroups() error {
	// Nodes check tokens too (design §6): the router forwards its caller's token and
	// signs its own calls (slot map, group status) with role router.
	guard, err := c.newGuard()
	if err != nil {
		return err
	}
	c.guard = guard
	ranges := slotRanges(c.opts.Groups)
	for gi, gs := range c.layout.Topology.Groups {
		members := make([]shard.Member, len(gs.Members))
		for i, m := range gs.Members {
			members[i] = shard.Member{ID: m.ID, RaftAddr: m.RaftAddr, RPCAddr: m.RPCAddr}
		}
		var nodes []*shard.Node
		for _, m := range gs.Members {
			cfg := shard.DefaultConfig()
			cfg.NodeID = m.ID
			cfg.Group = raftfsm.GroupID(gs.ID)
			cfg.BootstrapSlots = ranges[gi]
			cfg.DataDir = filepath.Join(c.dir, fmt.Sprintf("g%d", gs.ID), m.ID)
			cfg.RaftBindAddr = m.RaftAddr
			cfg.RPCAddr = m.RPCAddr
			cfg.GatewayAddrs = []string{c.layout.Exchsim}
			cfg.Members = members
			cfg.Bootstrap = true // only when the data dir holds no raft state
			cfg.NoSync = c.opts.NoSync
			cfg.Logger = c.log
			if err := configureNode(&cfg, c); err != nil {
				return err
			}
			n, err := shard.New(cfg, nil)
			if err != nil {
				return fmt.Errorf("devcluster: node %s: %w", m.ID, err)
			}
			nodes = append(nodes, n)
			if err := n.Start(); err != nil {
				c.groups = append(c.groups, nodes)
				return fmt.Errorf("devcluster: node %s: %w", m.ID, err)
			}
		}
		c.groups = append(c.groups, nodes)
	}
	return nil
}

// waitLeaders waits until every group has a leader that finished taking over.
func (c *Cluster) waitLeaders(ctx context.Context) error {
	deadline := time.Now().Add(c.opts.StartTimeout)
	for gi := range c.groups {
		for c.Leader(gi+1) == nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("devcluster: group %d elected no leader within %s", gi+1, c.opts.StartTimeout)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("devcluster: waiting for leaders: %w", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

func (c *Cluster) startRouter(ctx context.Context) error {
	cfg := router.DefaultConfig()
	cfg.ListenAddr = c.layout.Router
	cfg.Guard = c.guard
	cfg.Key = c.key
	cfg.Logger = c.log
	rt, err := router.New(cfg, c.layout.Topology)
	if err != nil {
		return fmt.Errorf("devcluster: router: %w", err)
	}
	if err := rt.Start(); err != nil {
		return fmt.Errorf("devcluster: router: %w", err)
	}
	c.rt = rt
	// The router learns the slot map at Start; make sure it knows every slot.
	for {
		if err := rt.Refresh(ctx); err == nil && c.routerKnowsAll() {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: router slot map: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// shard.NewClient's pool of long connections (rpc/kitexopt) is sized for seeding's
	// 256 calls in flight.
	cli, err := shard.NewClient([]string{rt.Addr().String()}, client.WithRPCTimeout(30*time.Second), client.WithConnectTimeout(time.Second))
	if err != nil {
		return fmt.Errorf("devcluster: %w", err)
	}
	c.cli = cli
	return nil
}

func (c *Cluster) routerKnowsAll() bool {
	for _, r := range slotRanges(c.opts.Groups) {
		for _, s := range []uint16{r[0].From, r[0].To} {
			if g, _ := c.rt.SlotOwner(s); g == 0 {
				return false
			}
		}
	}
	return true
}

func (c *Cluster) newGuard() (*auth.Guard, error) {
	ks, err := auth.NewKeySet(c.key)
	if err != nil {
		return nil, fmt.Errorf("devcluster: %w", err)
	}
	g, err := auth.NewGuard(auth.Config{Keys: ks, Limits: c.opts.Limits, Logger: c.log})
	if err != nil {
		return nil, fmt.Errorf("devcluster: %w", err)
	}
	return g, nil
}

// DataDir is the directory holding the cluster's data, key file and topology.
func (c *Cluster) DataDir() string { return c.dir }

// KeyFile is the path of the key file tokens are signed with.
func (c *Cluster) KeyFile() string { return c.keyFile }

// TopologyFile is the path of the router topology file (for `copytrade router` and
// `copytrade ctl status --topology`).
func (c *Cluster) TopologyFile() string { return filepath.Join(c.dir, topologyFile) }

// RouterAddr is the router's CopyTrade address.
func (c *Cluster) RouterAddr() string { return c.rt.Addr().String() }

// ExchsimAddr is exchsim's TradingGateway address.
func (c *Cluster) ExchsimAddr() string { return c.exch.Addr().String() }

// AdminToken is a token with role admin, valid for Options.TokenTTL.
func (c *Cluster) AdminToken() string { return c.adminToken }

// TradingSystemToken is a token with role trading-system (submits fills).
func (c *Cluster) TradingSystemToken() string { return c.tradeToken }

// Client is a CopyTrade client connected to the router; attach a token with
// auth.WithToken (AdminContext does it for the admin token).
func (c *Cluster) Client() copytrade.Client { return c.cli }

// AdminContext returns ctx carrying the admin token.
func (c *Cluster) AdminContext(ctx context.Context) context.Context {
	return auth.WithToken(ctx, c.adminToken)
}

// Sim is the simulated trading system.
func (c *Cluster) Sim() *exchsim.Sim { return c.exch.Sim() }

// Router is the cluster's router.
func (c *Cluster) Router() *router.Router { return c.rt }

// Topology is the groups and their members' addresses.
func (c *Cluster) Topology() *router.Topology { return c.layout.Topology }

// Nodes are group g's nodes (g from 1).
func (c *Cluster) Nodes(g int) []*shard.Node { return c.groups[g-1] }

// Leader is group g's leader (g from 1), nil while it has none.
func (c *Cluster) Leader(g int) *shard.Node {
	if g < 1 || g > len(c.groups) {
		return nil
	}
	for _, n := range c.groups[g-1] {
		if n.IsLeader() {
			return n
		}
	}
	return nil
}

// Close stops the router, every node (without leadership transfer: the whole cluster
// goes) and exchsim. The data dir is kept.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c.cli != nil {
			_ = c.cli.Close()
		}
		if c.rt != nil {
			if err := c.rt.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("devcluster: router: %w", err))
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, g := range c.groups {
			for _, n := range g {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := n.Kill(); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("devcluster: node %s: %w", n.ID(), err))
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		if c.exch != nil {
			if err := c.exch.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("devcluster: exchsim: %w", err))
			}
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// configureNode is where node-side settings beyond the shard defaults go (one place,
// so the dev cluster's nodes all agree).
func configureNode(cfg *shard.Config, c *Cluster) error {
	// Dev nodes answer quickly when the whole cluster stops at once.
	cfg.ShutdownTransferTimeout = time.Second
	cfg.RaftLogLevel = c.opts.RaftLogLevel
	// Each node its own guard, as each would be its own process: its rate limits
	// count the calls it serves, not the router's.
	g, err := c.newGuard()
	if err != nil {
		return err
	}
	cfg.ServerOptions = append(cfg.ServerOptions, g.ServerOption())
	return nil
}
