package shard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/copytrade/copytrade/raftfsm"
)

// Node is one member of a shard group: raft, the machine behind it, and — while it
// leads — the dispatcher, results batcher, reconciler and timers.
type Node struct {
	cfg     Config
	log     *slog.Logger
	fsm     *fsm
	raft    *raft.Raft
	raftRef atomic.Pointer[raft.Raft] // raft for the transport's peer check (set once started)
	trans   *gatedTransport
	store   *raftboltdb.BoltStore
	gw      Gateway
	metrics *Metrics

	notifyCh chan bool
	ls       atomic.Pointer[leaderState] // non-nil while this node leads
	stamp    atomic.Int64                // last TimeUnixNano stamped (monotonic per node)
	stampMu  sync.Mutex                  // stamp + raft.Apply: log order = stamp order
	marks    marks                       // latest gateway marks (leader)
	// recovered counts orders found pending at takeovers (tests, logs).
	recovered atomic.Int64
	// drainHandoffs counts leadership handed over because this node is drained.
	drainHandoffs atomic.Int64
	transferring  atomic.Int32 // leadership transfers in flight (VerifyLeader)
	// testBeforeApply, when set (tests only), runs in apply between taking the term's
	// state and raft.Apply: the window in which leadership may be lost and regained.
	testBeforeApply func(raftfsm.Command)
	// clock is the leader logic's time (time.Now; the simulation's virtual clock), and
	// propose appends a command and waits for its result (apply; the simulation's
	// in-process log). The leader logic reaches time and the log only through them.
	clock   func() time.Time
	propose func(ctx context.Context, cmd raftfsm.Command) outcome
	// confirm checks that a quorum still acknowledges the term (confirmRaft; the
	// simulation's log) to renew the dispatch lease.
	confirm func(ls *leaderState) error

	mu      sync.Mutex
	rpcAddr map[raft.ServerID]string // member → CopyTrade RPC address

	addrsMu sync.Mutex
	addrs   Addrs // the bound listeners (Addrs)

	servers   []func(context.Context) error // stop functions of the RPC and HTTP servers
	killed    atomic.Bool                   // Kill, not Shutdown: servers stop as in a crash
	ownGW     *KitexGateway                 // the gateway client New dialled; nil when the caller gave one
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New opens the node's stores, starts raft and, when cfg.Bootstrap is set and the data
// dir is empty, bootstraps the group with cfg.Members. gw is the trading gateway; nil
// dials cfg.GatewayAddrs. Servers (RPC, HTTP) are started by Start.
func New(cfg Config, gw Gateway) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("node", cfg.NodeID, "group", uint32(cfg.Group))
	var ownGW *KitexGateway // dialled here, so closed by close
	if gw == nil {
		kg, err := NewKitexGateway(cfg.GatewayAddrs, gatewayClientOptions(cfg.TLS)...)
		if err != nil {
			return nil, err
		}
		gw, ownGW = kg, kg
	}
	n := &Node{
		cfg: cfg, log: log, fsm: newFSM(), gw: gw, ownGW: ownGW, clock: time.Now,
		metrics:  newLabeledMetrics(prometheus.Labels{"group": strconv.FormatUint(uint64(cfg.Group), 10), "node": cfg.NodeID}),
		notifyCh: make(chan bool, 64),
		rpcAddr:  make(map[raft.ServerID]string),
		closing:  make(chan struct{}),
	}
	n.fsm.observe = n.metrics.observeApply
	n.propose = n.apply
	n.confirm = n.confirmRaft
	for _, m := range cfg.Members {
		n.rpcAddr[raft.ServerID(m.ID)] = m.RPCAddr
	}
	if err := n.openRaft(); err != nil {
		n.closeStores()
		if ownGW != nil {
			_ = ownGW.Close()
		}
		return nil, err
	}
	n.metrics.reg.MustRegister(newStateCollector(n)) // observe.go
	n.logRecovered()
	n.wg.Add(1)
	go n.watchLeadership()
	return n, nil
}

func (n *Node) openRaft() error {
	cfg := &n.cfg
	if err := ownerOnlyDir(cfg.DataDir); err != nil {
		return fmt.Errorf("shard: data dir: %w", err)
	}
	hl := newHCLogger("raft", n.log, cfg.RaftLogLevel)
	if err := checkRaftDB(filepath.Join(cfg.DataDir, "raft.db")); err != nil {
		return err
	}
	store, err := openLogStore(filepath.Join(cfg.DataDir, "raft.db"), cfg.NoSync)
	if err != nil {
		return err
	}
	n.store = store
	fileSnaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, cfg.SnapshotRetain, hl)
	if err != nil {
		return fmt.Errorf("shard: snapshot store: %w", err)
	}
	snapDir := filepath.Join(cfg.DataDir, "snapshots")
	if err := tighten(snapDir); err != nil {
		return fmt.Errorf("shard: snapshot store: %w", err)
	}
	if err := checkSnapshots(cfg.DataDir, store, fileSnaps); err != nil {
		return err
	}
	guard := n.diskGuard() // every write crash-stops the node on a disk fault (diskfault.go)
	stable := &guardedStable{StableStore: store, g: guard}
	snaps := &guardedSnaps{SnapshotStore: &ownerOnlySnapshots{SnapshotStore: fileSnaps, dir: snapDir}, g: guard}
	logs, err := raft.NewLogCache(4096, &guardedLogStore{LogStore: store, g: guard})
	if err != nil {
		return fmt.Errorf("shard: log cache: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.RaftBindAddr)
	if err != nil {
		return fmt.Errorf("shard: raft transport on %s: %w", cfg.RaftBindAddr, err)
	}
	adv, err := raftAdvertise(cfg.RaftAdvertiseAddr, ln.Addr())
	if err != nil {
		_ = ln.Close()
		return err
	}
	n.setAddrs(func(a *Addrs) { a.Raft, a.RaftAdvertise = ln.Addr().String(), adv.String() })
	n.trans = &gatedTransport{NetworkTransport: n.newTransport(ln, adv)}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.MaxAppendEntries = cfg.MaxAppendEntries
	rc.BatchApplyCh = cfg.BatchApplyCh
	rc.SnapshotThreshold = cfg.SnapshotThresholdEntries
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogsEntries
	rc.NotifyCh = n.notifyCh
	rc.Logger = hl
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("shard: raft config: %w", err)
	}

	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			return fmt.Errorf("shard: inspect raft state: %w", err)
		}
		if !has {
			var conf raft.Configuration
			for _, m := range cfg.Members {
				conf.Servers = append(conf.Servers, raft.Server{
					Suffrage: raft.Voter, ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.RaftAddr),
				})
			}
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, n.trans, conf); err != nil {
				return fmt.Errorf("shard: bootstrap group %d: %w", cfg.Group, err)
			}
			n.log.Info("bootstrapped raft group", "members", len(conf.Servers))
		} else {
			n.log.Info("bootstrap skipped: the data dir already holds this node's raft state (the group exists; -members is only a fallback for addresses the group has not stored)")
		}
	}
	r, err := raft.NewRaft(rc, n.fsm, logs, stable, snaps, n.trans)
	if err != nil {
		return fmt.Errorf("shard: start raft: %w", err)
	}
	n.raft = r
	n.raftRef.Store(r)
	return nil
}

// ID is this node's raft server ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// Raft exposes the raft instance (status, tests).
func (n *Node) Raft() *raft.Raft { return n.raft }

// Metrics exposes the node's Prometheus collectors.
func (n *Node) Metrics() *Metrics { return n.metrics }

// IsLeader reports whether this node leads and has finished taking over (Barrier done).
func (n *Node) IsLeader() bool {
	ls := n.ls.Load()
	if ls == nil {
		return false
	}
	select {
	case <-ls.ready:
		return ls.ctx.Err() == nil
	default:
		return false
	}
}

// Read runs fn on this replica's machine under the read lock, without any leadership
// check (stale reads, tests). fn must not keep references into the machine.
func (n *Node) Read(fn func(m *raftfsm.Machine)) { n.fsm.read(fn) }

// StateHash is the hash of this replica's machine state and the index it covers.
func (n *Node) StateHash() (hash [32]byte, applied uint64) {
	n.fsm.read(func(m *raftfsm.Machine) { hash, applied = m.Hash(), m.AppliedIndex() })
	return
}

// Snapshot asks raft for a snapshot now.
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("shard: snapshot: %w", err)
	}
	return nil
}

// leaderHint is the current leader's ID and RPC address, as far as this node knows.
func (n *Node) leaderHint() *NotLeaderError {
	addr, id := n.raft.LeaderWithID()
	e := &NotLeaderError{LeaderID: string(id)}
	if id != "" {
		e.LeaderAddr = n.memberRPCAddr(id)
		if e.LeaderAddr == "" {
			e.LeaderAddr = string(addr) // the raft address: a router maps it with its topology
		}
	}
	return e
}

func (n *Node) watchLeadership() {
	defer n.wg.Done()
	for {
		select {
		case leader := <-n.notifyCh:
			if leader {
				n.becomeLeader()
			} else {
				n.stepDown("lost leadership")
			}
		case <-n.closing:
			n.stepDown("shutting down")
			return
		}
	}
}

// AddMember adds a replacement (or new) voter; call it on the leader. The new node
// must run with the group's config (Bootstrap off) and an empty data dir.
func (n *Node) AddMember(ctx context.Context, m Member) (uint64, error) {
	if !n.IsLeader() {
		return 0, n.leaderHint()
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return 0, n.raftErr("configuration", err)
	}
	if err := checkMember(m, cf.Configuration().Servers); err != nil {
		return 0, fmt.Errorf("shard: add member: %w", err)
	}
	if err := n.probeMember(ctx, m); err != nil {
		return 0, fmt.Errorf("shard: add member %s: %w", m.ID, err)
	}
	// Stored first: once it votes, every replica knows its addresses.
	if m.RPCAddr != "" {
		if _, err := n.storeMember(ctx, &raftfsm.MemberUpdate{Action: raftfsm.MemberSet, ID: m.ID, RaftAddr: m.RaftAddr, RPCAddr: m.RPCAddr}); err != nil {
			return 0, fmt.Errorf("shard: add member %s: %w", m.ID, err)
		}
	}
	f := n.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, timeLeft(ctx, n.cfg.RequestTimeout))
	if err := f.Error(); err != nil {
		return 0, n.raftErr("add member "+m.ID, err)
	}
	n.mu.Lock()
	n.rpcAddr[raft.ServerID(m.ID)] = m.RPCAddr
	n.mu.Unlock()
	n.log.Info("added member", "member", m.ID, "raft_addr", m.RaftAddr, "rpc_addr", m.RPCAddr)
	return f.Index(), nil
}

// RemoveMember removes a member from the group; call it on the leader.
func (n *Node) RemoveMember(ctx context.Context, id string) (uint64, error) {
	if !n.IsLeader() {
		return 0, n.leaderHint()
	}
	f := n.raft.RemoveServer(raft.ServerID(id), 0, timeLeft(ctx, n.cfg.RequestTimeout))
	if err := f.Error(); err != nil {
		return 0, n.raftErr("remove member "+id, err)
	}
	idx := f.Index()
	// Forgotten after: a member removed from the configuration but still stored is
	// harmless (the configuration says who votes); the next leader would not re-store
	// it, as it stores only members of the configuration.
	if i, err := n.storeMember(ctx, &raftfsm.MemberUpdate{Action: raftfsm.MemberRemove, ID: id}); err != nil {
		n.log.Warn("removed member still stored", "member", id, "err", err)
	} else {
		idx = i
	}
	n.log.Info("removed member", "member", id)
	return idx, nil
}

// TransferLeadership hands leadership to id ("" = any up-to-date voter).
func (n *Node) TransferLeadership(id string) error {
	if !n.IsLeader() {
		return n.leaderHint()
	}
	start := n.raft.LeadershipTransfer
	if id != "" {
		var addr raft.ServerAddress
		cf := n.raft.GetConfiguration()
		if err := cf.Error(); err != nil {
			return n.raftErr("configuration", err)
		}
		for _, s := range cf.Configuration().Servers {
			if s.ID == raft.ServerID(id) {
				addr = s.Address
			}
		}
		if addr == "" {
			return fmt.Errorf("shard: transfer leadership: %q is not a member", id)
		}
		start = func() raft.Future { return n.raft.LeadershipTransferToServer(raft.ServerID(id), addr) }
	}
	if err := n.handOver(start); err != nil {
		return n.raftErr("transfer leadership", err)
	}
	return nil
}

// handOver runs a leadership transfer and waits for it. While one is in flight reads
// do not trust the lease: the target is elected without waiting for the followers'
// timeouts (VerifyLeader).
func (n *Node) handOver(start func() raft.Future) error {
	n.transferring.Add(1)
	defer n.transferring.Add(-1)
	return start().Error()
}

// Shutdown stops the node gracefully: if it leads, leadership is transferred first (so
// the group does not wait out an election timeout), then servers, raft and stores stop.
func (n *Node) Shutdown(ctx context.Context) error {
	if n.IsLeader() {
		done := make(chan error, 1)
		go func() { done <- n.handOver(n.raft.LeadershipTransfer) }()
		select {
		case err := <-done:
			if err != nil {
				n.log.Warn("leadership transfer before shutdown failed", "err", err)
			}
		case <-time.After(n.cfg.ShutdownTransferTimeout):
			n.log.Warn("leadership transfer before shutdown timed out")
		case <-ctx.Done():
		}
	}
	return n.close(ctx)
}

// Kill stops the node abruptly, as a crash would: no leadership transfer, raft and
// servers stop, in-flight dispatches are cancelled. For fault-injection tests.
func (n *Node) Kill() error {
	n.killed.Store(true)
	return n.close(context.Background())
}

func (n *Node) close(ctx context.Context) error {
	var errs []error
	n.closeOnce.Do(func() {
		n.stepDown("stopping")
		for i := len(n.servers) - 1; i >= 0; i-- {
			if err := n.servers[i](ctx); err != nil {
				errs = append(errs, err)
			}
		}
		close(n.closing)
		if n.raft != nil {
			if err := n.raft.Shutdown().Error(); err != nil {
				errs = append(errs, fmt.Errorf("shard: raft shutdown: %w", err))
			}
		}
		n.wg.Wait()
		if n.ownGW != nil {
			_ = n.ownGW.Close()
		}
		n.closeStores()
		n.log.Info("node stopped")
	})
	return errors.Join(errs...)
}

func (n *Node) closeStores() {
	if n.trans != nil {
		n.trans.closeHeartbeats() // raft answers heartbeats outside its goroutines
		_ = n.trans.Close()
	}
	if n.store != nil {
		_ = n.store.Close()
	}
}

// raftErr maps raft's errors to the node's sentinels.
func (n *Node) raftErr(what string, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		h := n.leaderHint()
		return fmt.Errorf("shard: %s: %w", what, h)
	case errors.Is(err, raft.ErrLeadershipLost):
		h := n.leaderHint()
		h.Appended = true
		return fmt.Errorf("shard: %s: %w", what, h)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("shard: %s: %w", what, ErrShutdown)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("shard: %s: %w: raft enqueue timed out", what, ErrUnavailable)
	}
	return fmt.Errorf("shard: %s: %w: %w", what, ErrUnavailable, err)
}

// timeLeft is the time until ctx's deadline, or def without one.
func timeLeft(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		if l := time.Until(d); l > 0 {
			return l
		}
		return time.Millisecond
	}
	return def
}
