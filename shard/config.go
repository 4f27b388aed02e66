package shard

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// Member is one voter of the group, as every node's config lists it.
type Member struct {
	// ID is the raft server ID (unique within the group), e.g. "n1".
	ID string
	// RaftAddr is the host:port the member's raft transport advertises.
	RaftAddr string
	// RPCAddr is the host:port of its CopyTrade Kitex server: the NOT_LEADER hint.
	RPCAddr string
}

// SettlementPeriod is how often profit share is settled.
type SettlementPeriod uint8

const (
	// SettleDaily settles at 00:00 UTC; period numbers are days since the Unix epoch.
	SettleDaily SettlementPeriod = iota + 1
	// SettleWeekly settles at Monday 00:00 UTC; period numbers are weeks since the Monday
	// before the Unix epoch (1969-12-29).
	SettleWeekly
)

// Config configures one node of a shard group. Start from DefaultConfig.
type Config struct {
	// NodeID is this node's raft server ID; it must appear in Members.
	NodeID string
	// Group is the shard group's ID (> 0), written by the bootstrap entry.
	Group raftfsm.GroupID
	// BootstrapSlots are the slots the group owns when it is created (epoch 1). Empty
	// means all of them (a single-group deployment).
	BootstrapSlots []raftfsm.SlotRange
	// DataDir holds raft.db (log and stable store, bbolt) and snapshots/.
	DataDir string
	// RaftBindAddr is the host:port the raft transport listens on; port 0 binds a
	// port the kernel picks (Node.Addrs reports it).
	RaftBindAddr string
	// RaftAdvertiseAddr is the address other members dial; empty means the address
	// the raft listener is bound to.
	RaftAdvertiseAddr string
	// RPCAddr is the host:port the CopyTrade Kitex server listens on; empty: no server
	// (tests that drive the Node directly).
	RPCAddr string
	// HTTPAddr serves /metrics; empty: not served.
	HTTPAddr string
	// PprofAddr serves /debug/pprof/ on a listener of its own; empty (the default): no
	// profiles.
	PprofAddr string
	// TLS, when set, is the node's certificate (naming this node of this group) and the
	// deployment's CA: raft runs over mutual TLS and accepts only this group's members
	// (transport_tls.go). Nil: plain TCP, allowed on loopback addresses only unless
	// Insecure is set.
	TLS *tlsconf.Store
	// Insecure allows raft and RPC without TLS on non-loopback addresses (development).
	Insecure bool
	// GatewayAddrs are the TradingGateway endpoints (host:port); the Kitex client balances
	// over them. Ignored when the node is given a Gateway directly.
	GatewayAddrs []string
	// Members are the group's voters. A new group is bootstrapped with all of them; a
	// replacement node lists the current members plus itself and is added by AddMember.
	Members []Member
	// Bootstrap creates the group when the data dir holds no raft state. Set it on the
	// initial members only, never on a replacement node.
	Bootstrap bool

	// HeartbeatTimeout is how long a follower waits without contact before it stands for
	// election (raft.Config.HeartbeatTimeout).
	HeartbeatTimeout time.Duration
	// ElectionTimeout is how long a candidate waits for an election (raft.Config).
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader stays leader without contact with a quorum.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout bounds how long a follower waits to learn a new commit index when no
	// entries flow (raft.Config.CommitTimeout).
	CommitTimeout time.Duration
	// MaxAppendEntries is the most entries sent in one AppendEntries request (>= 256).
	MaxAppendEntries int
	// BatchApplyCh makes raft's apply channel as large as MaxAppendEntries so concurrent
	// proposals are batched into one disk write.
	BatchApplyCh bool
	// SnapshotThresholdEntries is how many new entries trigger a snapshot.
	SnapshotThresholdEntries uint64
	// SnapshotInterval is how often raft checks the threshold.
	SnapshotInterval time.Duration
	// SnapshotRetain is how many snapshots are kept on disk.
	SnapshotRetain int
	// TrailingLogsEntries is how many entries are kept in the log after a snapshot, so a
	// slightly lagging follower catches up without a snapshot install.
	TrailingLogsEntries uint64
	// NoSync turns fsync off in the log store. Tests and benchmarks of the floor only;
	// never in production.
	NoSync bool

	// DispatchBatchSize is the most orders in one PlaceOrders request (1..5000).
	DispatchBatchSize int
	// DispatchParallelism is how many PlaceOrders requests one fan-out sends at once.
	DispatchParallelism int
	// DispatchTimeout is the deadline of one PlaceOrders / QueryOrders request. A request
	// whose deadline passed is never resent blindly: the order is queried first.
	DispatchTimeout time.Duration
	// FenceMargin is added to DispatchTimeout and LeaderLeaseTimeout when waiting for
	// another sender's in-flight requests to have landed or failed (see DESIGN.md).
	FenceMargin time.Duration
	// ResultsBatchWindow is how long gateway results are gathered into one OrderResults
	// command.
	ResultsBatchWindow time.Duration
	// ReconcileInterval is how often the leader looks for pending orders nobody is
	// dispatching (after a gateway failure or a leader change); it backs off up to
	// ReconcileMaxBackoff while the gateway keeps failing.
	ReconcileInterval time.Duration
	// ReconcileMaxBackoff caps the reconciler's backoff.
	ReconcileMaxBackoff time.Duration
	// RequestTimeout is a request's budget when the caller sets none.
	RequestTimeout time.Duration
	// MarkPriceInterval is how often the leader proposes mark prices from the gateway;
	// 0 disables it.
	MarkPriceInterval time.Duration
	// SettlementPeriod is daily or weekly (UTC); 0 disables automatic settlement.
	SettlementPeriod SettlementPeriod
	// SettlementFrom is the first period the leader settles by itself; 0 means the
	// period before the one running when the group first settles (no back-fill of
	// history older than that).
	SettlementFrom uint64
	// SettlementAccount is the exchange's profit-share account. A copier's entry is paid
	// by a transfer copier → SettlementAccount, a trader's total (Copier == 0) by a
	// transfer SettlementAccount → trader. 0: copier entries are paid copier → trader
	// directly and a trader's total needs no transfer (recorded as paid).
	SettlementAccount int64
	// ShutdownTransferTimeout bounds the leadership transfer of a graceful shutdown.
	ShutdownTransferTimeout time.Duration

	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// RaftLogLevel is the level of hashicorp/raft's own logs ("warn" keeps tests quiet).
	RaftLogLevel slog.Level

	// OnDiskFault is called once, synchronously, when a raft store write fails (see
	// diskfault.go); it must crash-stop the node. nil: log the error and exit the
	// process with ExitDiskFault. Tests pass a hook that kills the Node.
	OnDiskFault func(error)
	// Failpoints make chosen raft store writes fail (fault-injection tests); nil in
	// production.
	Failpoints *Failpoints
	// RaftPeerAddrs maps each peer's ID to the address this node dials it at instead
	// of the configured one (a fault proxy per link in tests); it must list every peer
	// when set. nil in production.
	RaftPeerAddrs map[string]string
	// Clock is the wall clock the leader stamps commands with and settles by; nil is
	// time.Now. Tests inject one that jumps (clock.go).
	Clock func() time.Time

	// ServerOptions are appended to the CopyTrade Kitex server's options, e.g. the
	// auth middleware: (*auth.Guard).ServerOption().
	ServerOptions []server.Option
}

// DefaultConfig returns LAN timeouts and fan-out settings; the caller fills in the
// node, group, addresses, members and data dir. See DESIGN.md for the choices.
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:         300 * time.Millisecond,
		ElectionTimeout:          300 * time.Millisecond,
		LeaderLeaseTimeout:       200 * time.Millisecond,
		CommitTimeout:            50 * time.Millisecond,
		MaxAppendEntries:         512,
		BatchApplyCh:             true,
		SnapshotThresholdEntries: 8192,
		SnapshotInterval:         30 * time.Second,
		SnapshotRetain:           2,
		TrailingLogsEntries:      10240,
		DispatchBatchSize:        500,
		DispatchParallelism:      8,
		DispatchTimeout:          2 * time.Second,
		FenceMargin:              250 * time.Millisecond,
		ResultsBatchWindow:       time.Millisecond,
		ReconcileInterval:        250 * time.Millisecond,
		ReconcileMaxBackoff:      5 * time.Second,
		RequestTimeout:           5 * time.Second,
		MarkPriceInterval:        time.Second,
		SettlementPeriod:         SettleDaily,
		ShutdownTransferTimeout:  5 * time.Second,
		RaftLogLevel:             slog.LevelWarn,
	}
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("shard: invalid config")

// Validate returns nil or an error listing every problem as a plain sentence.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.NodeID == "" {
		bad("NodeID must be set.")
	}
	if c.Group == 0 {
		bad("Group must be > 0.")
	}
	if c.DataDir == "" {
		bad("DataDir must be set.")
	}
	if _, _, err := net.SplitHostPort(c.RaftBindAddr); err != nil {
		bad("RaftBindAddr must be host:port, got %q.", c.RaftBindAddr)
	}
	if c.RaftAdvertiseAddr != "" {
		if _, _, err := net.SplitHostPort(c.RaftAdvertiseAddr); err != nil {
			bad("RaftAdvertiseAddr must be host:port, got %q.", c.RaftAdvertiseAddr)
		}
	}
	if c.RPCAddr != "" {
		if _, _, err := net.SplitHostPort(c.RPCAddr); err != nil {
			bad("RPCAddr must be host:port, got %q.", c.RPCAddr)
		}
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("HTTPAddr must be host:port, got %q.", c.HTTPAddr)
		}
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			bad("PprofAddr must be host:port, got %q.", c.PprofAddr)
		}
	}
	for _, a := range c.GatewayAddrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("GatewayAddrs must be host:port, got %q.", a)
		}
	}
	seen := map[string]bool{}
	self := false
	for _, m := range c.Members {
		if m.ID == "" || m.RaftAddr == "" {
			bad("every member needs an ID and a RaftAddr, got %+v.", m)
		}
		if seen[m.ID] {
			bad("member %q is listed twice.", m.ID)
		}
		seen[m.ID] = true
		self = self || m.ID == c.NodeID
	}
	if !self {
		bad("Members must list this node (%q).", c.NodeID)
	}
	for _, r := range c.BootstrapSlots {
		if r.From > r.To || r.To >= raftfsm.NumSlots {
			bad("BootstrapSlots range %d..%d must satisfy From <= To < %d.", r.From, r.To, raftfsm.NumSlots)
		}
	}
	if c.HeartbeatTimeout < 5*time.Millisecond || c.ElectionTimeout < c.HeartbeatTimeout {
		bad("HeartbeatTimeout must be >= 5ms and ElectionTimeout >= HeartbeatTimeout, got %s and %s.", c.HeartbeatTimeout, c.ElectionTimeout)
	}
	if c.LeaderLeaseTimeout <= 0 || c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		bad("LeaderLeaseTimeout must be in (0, HeartbeatTimeout], got %s.", c.LeaderLeaseTimeout)
	}
	if c.CommitTimeout <= 0 {
		bad("CommitTimeout must be > 0.")
	}
	if c.MaxAppendEntries < 256 || c.MaxAppendEntries > 1024 {
		bad("MaxAppendEntries must be in 256..1024 (raft's own limit), got %d.", c.MaxAppendEntries)
	}
	if c.SnapshotThresholdEntries == 0 || c.SnapshotInterval <= 0 || c.SnapshotRetain < 1 {
		bad("SnapshotThresholdEntries, SnapshotInterval and SnapshotRetain must be > 0.")
	}
	if c.DispatchBatchSize < 1 || c.DispatchBatchSize > 5000 {
		bad("DispatchBatchSize must be in 1..5000, got %d.", c.DispatchBatchSize)
	}
	if c.DispatchParallelism < 1 || c.DispatchParallelism > 256 {
		bad("DispatchParallelism must be in 1..256, got %d.", c.DispatchParallelism)
	}
	if c.DispatchTimeout <= 0 || c.FenceMargin < 0 {
		bad("DispatchTimeout must be > 0 and FenceMargin >= 0.")
	}
	if c.ResultsBatchWindow <= 0 || c.ResultsBatchWindow > time.Second {
		bad("ResultsBatchWindow must be in (0, 1s], got %s.", c.ResultsBatchWindow)
	}
	if c.ReconcileInterval <= 0 || c.ReconcileMaxBackoff < c.ReconcileInterval {
		bad("ReconcileInterval must be > 0 and ReconcileMaxBackoff >= ReconcileInterval.")
	}
	if c.RequestTimeout <= 0 {
		bad("RequestTimeout must be > 0.")
	}
	if c.MarkPriceInterval < 0 {
		bad("MarkPriceInterval must be >= 0.")
	}
	if c.SettlementPeriod > SettleWeekly {
		bad("SettlementPeriod must be 0 (off), daily or weekly.")
	}
	if c.ShutdownTransferTimeout <= 0 {
		bad("ShutdownTransferTimeout must be > 0.")
	}
	errs = append(errs, c.validateTransport()...)
	return errors.Join(errs...)
}

// fence is how long a new leader waits before it decides that an order the gateway
// does not know was never sent: a deposed leader notices within LeaderLeaseTimeout,
// and any request it had in flight has landed or failed DispatchTimeout after it
// was sent.
func (c *Config) fence() time.Duration {
	return c.LeaderLeaseTimeout + c.DispatchTimeout + c.FenceMargin
}
