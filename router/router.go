// Package router is the stateless CopyTrade router: it learns which shard group owns
// each slot from the groups themselves, caches that and each group's leader, and
// forwards every call to the right leader, following NOT_LEADER, MOVED and MOVING.
// See DESIGN.md.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/ops"
)

// Router forwards CopyTrade calls to shard-group leaders. Its only state is caches that
// any router rebuilds from the groups: many routers may run side by side.
type Router struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	pool    *pool

	topo    atomic.Pointer[Topology]
	slots   slotMap
	leaders sync.Map // group ID (uint32) → leader RPC address (string)
	// answered: group ID (uint32) → time.Time a member last answered a refresh (health.go)
	answered sync.Map

	refreshMu  sync.Mutex
	refreshGen atomic.Uint64 // completed refreshes

	tokMu  sync.Mutex
	tok    string
	tokExp time.Time

	addr      net.Addr
	httpAddr  net.Addr // nil: no HTTP server
	servers   []func(context.Context) error
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New returns a router for topo; Start serves it.
func New(cfg Config, topo *Topology) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if topo == nil {
		return nil, fmt.Errorf("%w: no topology", ErrTopology)
	}
	if err := topo.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Router{
		cfg: cfg, log: log.With("component", "router"), metrics: newMetrics(),
		pool: newPool(cfg.ConnectTimeout), closing: make(chan struct{}),
	}
	r.topo.Store(topo)
	r.pool.tls = r.memberTLS()
	return r, nil
}

// Metrics exposes the router's collectors.
func (r *Router) Metrics() *Metrics { return r.metrics }

// Handler is the router's CopyTrade implementation (for serving it yourself).
func (r *Router) Handler() ct.CopyTrade { return &Handler{r: r} }

// Topology is the topology in force.
func (r *Router) Topology() *Topology { return r.topo.Load() }

// Start learns the slot map (best effort: a group that does not answer yet is learned
// on demand), serves CopyTrade on cfg.ListenAddr and metrics on cfg.HTTPAddr, and
// refreshes the slot map every RefreshInterval until Close.
func (r *Router) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.RefreshTimeout)
	if err := r.Refresh(ctx); err != nil {
		r.log.Warn("initial slot map incomplete; learning on demand", "err", err)
	}
	cancel()
	ln, err := kitexopt.Listen(r.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("router: listen on %s: %w", r.cfg.ListenAddr, err)
	}
	r.addr = ln.Addr()
	opts := r.serverOptions(ln)
	if r.cfg.Guard != nil {
		opts = append(opts, r.cfg.Guard.ServerOption())
	}
	run := kitexopt.Serve(copytrade.NewServer(&Handler{r: r}, opts...), ln)
	r.servers = append(r.servers, func(context.Context) error { return run.Stop() })
	r.log.Info("router serving CopyTrade", "addr", ln.Addr().String(), "groups", len(r.topo.Load().Groups))
	if r.cfg.HTTPAddr != "" || r.cfg.PprofAddr != "" {
		if err := r.serveHTTP(); err != nil {
			_ = r.Close(context.Background())
			return err
		}
	}
	r.wg.Add(1)
	go r.refresher()
	return nil
}

func (r *Router) serveHTTP() error {
	if r.cfg.HTTPAddr != "" {
		addr, stop, err := ops.ServeWithReadiness(r.cfg.HTTPAddr, r.metrics.Registry, r.Ready, r.log)
		if err != nil {
			return fmt.Errorf("router: %w", err)
		}
		r.servers = append(r.servers, stop)
		r.httpAddr = addr
	}
	if r.cfg.PprofAddr != "" {
		_, stop, err := ops.ServePprof(r.cfg.PprofAddr, r.log)
		if err != nil {
			return fmt.Errorf("router: %w", err)
		}
		r.servers = append(r.servers, stop)
	}
	return nil
}

// Addr is the address the CopyTrade service listens on (after Start).
func (r *Router) Addr() net.Addr { return r.addr }

// HTTPAddr is the address /metrics, /livez and /readyz are served on (after Start;
// nil without Config.HTTPAddr). With port 0 there it is the port that was bound.
func (r *Router) HTTPAddr() net.Addr { return r.httpAddr }

// Close stops serving and the refresher.
func (r *Router) Close(ctx context.Context) error {
	var errs []error
	r.closeOnce.Do(func() {
		close(r.closing)
		for i := len(r.servers) - 1; i >= 0; i-- {
			if err := r.servers[i](ctx); err != nil {
				errs = append(errs, err)
			}
		}
		r.wg.Wait()
		r.pool.close()
	})
	return errors.Join(errs...)
}

// Reload reads the topology file at path and, when valid, puts it in force: the slot
// map and leader caches are dropped and relearned. An invalid file changes nothing.
func (r *Router) Reload(path string) error {
	t, err := LoadTopology(path)
	if err != nil {
		return err
	}
	r.SetTopology(t)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.RefreshTimeout)
	defer cancel()
	if err := r.Refresh(ctx); err != nil {
		r.log.Warn("slot map incomplete after reload; learning on demand", "err", err)
	}
	return nil
}

// SetTopology puts a validated topology in force and forgets the caches built on the
// previous one.
func (r *Router) SetTopology(t *Topology) {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	r.topo.Store(t)
	r.slots.reset()
	r.leaders.Clear()
	r.answered.Clear()
	r.refreshGen.Add(1)
	r.log.Info("topology in force", "groups", len(t.Groups))
}

func (r *Router) refresher() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-r.closing:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), r.cfg.RefreshTimeout)
			if err := r.Refresh(ctx); err != nil {
				r.log.Warn("slot map refresh incomplete", "err", err)
			}
			cancel()
		}
	}
}

// Refresh relearns slot ownership from every group (in parallel; any member answers,
// from its applied state). Entries only move to higher epochs. An error names the groups
// that did not answer; what the others said is kept.
func (r *Router) Refresh(ctx context.Context) error {
	return r.refresh(ctx, r.refreshGen.Load())
}

// refresh relearns the map unless a refresh completed since the caller read seen:
// concurrent callers that saw the same stale entry share one refresh.
func (r *Router) refresh(ctx context.Context, seen uint64) error {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	if r.refreshGen.Load() != seen {
		return nil
	}
	start := time.Now()
	defer func() { r.metrics.refresh.Observe(time.Since(start).Seconds()) }()
	topo := r.topo.Load()
	errs := make([]error, len(topo.Groups))
	answers := make([]*ct.GetSlotOwnershipResponse, len(topo.Groups))
	var wg sync.WaitGroup
	for i := range topo.Groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = r.ownership(ctx, &topo.Groups[i])
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a == nil {
			continue
		}
		if a.Group != 0 && uint32(a.Group) != topo.Groups[i].ID {
			errs[i] = fmt.Errorf("group %d: its members say they are group %d; fix the topology", topo.Groups[i].ID, a.Group)
			continue
		}
		r.learn(topo.Groups[i].ID, a.Ranges)
		r.answered.Store(topo.Groups[i].ID, time.Now())
	}
	r.refreshGen.Add(1)
	return errors.Join(errs...)
}

// learn offers a group's slot ranges to the map.
func (r *Router) learn(group uint32, ranges []*ct.SlotRange) {
	for _, rg := range ranges {
		if rg == nil || rg.First < 0 || rg.To >= raftfsm.NumSlots || rg.First > rg.To || rg.Epoch <= 0 {
			continue
		}
		switch rg.State {
		case ct.SlotState_OWNED, ct.SlotState_FROZEN:
			r.slots.offerRange(uint16(rg.First), uint16(rg.To), group, uint64(rg.Epoch))
		case ct.SlotState_RELEASED:
			if rg.MovedTo > 0 {
				r.slots.offerRange(uint16(rg.First), uint16(rg.To), uint32(rg.MovedTo), uint64(rg.Epoch))
			}
		}
	}
}

// ownership asks one member of g (the cached leader first) for g's slot table.
func (r *Router) ownership(ctx context.Context, g *GroupSpec) (*ct.GetSlotOwnershipResponse, error) {
	ctx = r.ownCtx(ctx)
	var errs []error
	for _, addr := range r.memberOrder(g) {
		cli, err := r.pool.get(addr)
		if err != nil {
			return nil, err
		}
		resp, err := cli.GetSlotOwnership(ctx, &ct.GetSlotOwnershipRequest{ReadOpts: &ct.ReadOptions{AllowStale: true}}, r.callOpts(ctx)...)
		if err == nil {
			r.pool.markUp(addr)
			return resp, nil
		}
		if isConnErr(err) {
			r.pool.markDown(addr)
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: group %d: no member answered GetSlotOwnership: %w", ErrUnavailable, g.ID, errors.Join(errs...))
}

// ownCtx attaches the router's own token (role router), minted from cfg.Key and
// renewed at half-life.
func (r *Router) ownCtx(ctx context.Context) context.Context {
	if r.cfg.Key.ID == "" {
		return ctx
	}
	r.tokMu.Lock()
	defer r.tokMu.Unlock()
	if r.tok == "" || time.Until(r.tokExp) < r.cfg.RouterTokenTTL/2 {
		exp := time.Now().Add(r.cfg.RouterTokenTTL)
		tok, err := auth.MintAt(r.cfg.Key, "router", auth.RoleRouter, exp)
		if err != nil {
			r.log.Error("cannot mint the router's token", "err", err)
			return ctx
		}
		r.tok, r.tokExp = tok, exp
	}
	return auth.WithToken(ctx, r.tok)
}

// memberOrder is the order in which g's members are tried: the cached leader, then the
// others in topology order, members whose connection failed recently last.
func (r *Router) memberOrder(g *GroupSpec) []string {
	out := make([]string, 0, len(g.Members))
	var down []string
	leader, _ := r.leaders.Load(g.ID)
	if l, ok := leader.(string); ok && l != "" && !r.pool.isDown(l, r.cfg.MemberDownTimeout) {
		out = append(out, l)
	}
	for _, m := range g.Members {
		if m.RPCAddr == leader {
			continue
		}
		if r.pool.isDown(m.RPCAddr, r.cfg.MemberDownTimeout) {
			down = append(down, m.RPCAddr)
			continue
		}
		out = append(out, m.RPCAddr)
	}
	if l, ok := leader.(string); ok && l != "" && r.pool.isDown(l, r.cfg.MemberDownTimeout) {
		down = append(down, l)
	}
	return append(out, down...)
}

// SlotOwner is the cached owner of slot and its epoch (0, 0 when unknown).
func (r *Router) SlotOwner(slot uint16) (group uint32, epoch uint64) {
	rt := r.slots.get(slot)
	return rt.group, rt.epoch
}

// Leader is the cached leader RPC address of group ("" when unknown).
func (r *Router) Leader(group uint32) string {
	v, _ := r.leaders.Load(group)
	s, _ := v.(string)
	return s
}
