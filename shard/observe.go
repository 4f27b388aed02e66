package shard

// What a node reports about its group at scrape time and in its logs, read from the
// machine and raft rather than counted as events: slot ownership and epochs, slots left
// frozen by a migration (and for how long), raft indexes, term and contact.

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/copytrade/copytrade/raftfsm"
)

// FrozenMigration is a migration whose slots this group still holds frozen.
type FrozenMigration struct {
	ID       raftfsm.MigrationID
	Slots    int
	Target   raftfsm.GroupID
	FrozenAt time.Time // zero: not recorded (frozen before version-2 snapshots)
}

// FrozenMigrations lists the migrations that hold slots of this replica frozen.
func (n *Node) FrozenMigrations() []FrozenMigration {
	var out []FrozenMigration
	n.fsm.read(func(m *raftfsm.Machine) {
		count := map[raftfsm.MigrationID]int{}
		var order []raftfsm.MigrationID
		for s := range raftfsm.NumSlots {
			si := m.SlotInfo(uint16(s))
			if si.State != raftfsm.SlotFrozen {
				continue
			}
			if count[si.Migration] == 0 {
				order = append(order, si.Migration)
			}
			count[si.Migration]++
		}
		for _, id := range order {
			f := FrozenMigration{ID: id, Slots: count[id]}
			if g, ok := m.MigrationInfo(id); ok {
				f.Target = g.Target
				if g.FrozenAt > 0 {
					f.FrozenAt = time.Unix(0, g.FrozenAt)
				}
			}
			out = append(out, f)
		}
	})
	return out
}

// FrozenLogInterval is how often a leader logs the migrations that keep slots frozen.
const FrozenLogInterval = time.Minute

// runFrozenWatch logs, on the leader, every migration that keeps slots frozen, with how
// long: a killed rebalance otherwise leaves them frozen silently (`copytrade rebalance
// resume` or abort finishes it; `ctl migrations` lists them).
func (n *Node) runFrozenWatch(ls *leaderState) {
	defer ls.wg.Done()
	t := time.NewTicker(FrozenLogInterval)
	defer t.Stop()
	for {
		for _, f := range n.FrozenMigrations() {
			args := []any{"migration", uint64(f.ID), "slots", f.Slots, "target", uint32(f.Target)}
			if !f.FrozenAt.IsZero() {
				args = append(args, "frozen_for", time.Since(f.FrozenAt).Round(time.Second), "frozen_since", f.FrozenAt.UTC())
			}
			n.log.Warn("slots frozen by an unfinished migration (resume or abort it with copytrade rebalance)", args...)
		}
		select {
		case <-ls.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stateCollector reads the node's state at scrape time.
type stateCollector struct {
	n                                              *Node
	slots, epoch, frozenAge, frozenOldest, members *prometheus.Desc
	term, commit, applied, lastLog, snapIdx        *prometheus.Desc
	lastContact, drained                           *prometheus.Desc
}

func newStateCollector(n *Node) *stateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &stateCollector{
		n:            n,
		slots:        d("copytrade_slots", "Slots of this group by state (this replica's applied view).", "state"),
		epoch:        d("copytrade_slot_epoch_max", "Highest epoch among the slots this group owns or froze."),
		frozenAge:    d("copytrade_migration_frozen_seconds", "How long a migration has kept this group's slots frozen.", "migration"),
		frozenOldest: d("copytrade_slots_frozen_oldest_seconds", "Age of the oldest freeze still holding slots (0: none frozen)."),
		members:      d("copytrade_group_members", "Voters in the raft configuration."),
		drained:      d("copytrade_node_drained", "1 while this node is drained (keeps out of leadership)."),
		term:         d("copytrade_raft_term", "Current raft term."),
		commit:       d("copytrade_raft_commit_index", "Raft commit index."),
		applied:      d("copytrade_raft_applied_index", "Index applied to the machine."),
		lastLog:      d("copytrade_raft_last_log_index", "Last index in the raft log."),
		snapIdx:      d("copytrade_raft_last_snapshot_index", "Index of the last snapshot."),
		lastContact:  d("copytrade_raft_last_contact_seconds", "Since a follower last heard from the leader (0 on the leader)."),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.slots, c.epoch, c.frozenAge, c.frozenOldest, c.members, c.drained,
		c.term, c.commit, c.applied, c.lastLog, c.snapIdx, c.lastContact} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	var byState [4]int
	var epoch uint64
	n.fsm.read(func(m *raftfsm.Machine) {
		for s := range raftfsm.NumSlots {
			si := m.SlotInfo(uint16(s))
			if int(si.State) < len(byState) {
				byState[si.State]++
			}
			if (si.State == raftfsm.SlotOwned || si.State == raftfsm.SlotFrozen) && si.Epoch > epoch {
				epoch = si.Epoch
			}
		}
	})
	gauge(c.slots, float64(byState[raftfsm.SlotOwned]), "owned")
	gauge(c.slots, float64(byState[raftfsm.SlotFrozen]), "frozen")
	gauge(c.slots, float64(byState[raftfsm.SlotReleased]), "released")
	gauge(c.epoch, float64(epoch))
	oldest := 0.0
	for _, f := range n.FrozenMigrations() {
		age := 0.0
		if !f.FrozenAt.IsZero() {
			age = time.Since(f.FrozenAt).Seconds()
		}
		gauge(c.frozenAge, age, strconv.FormatUint(uint64(f.ID), 10))
		oldest = max(oldest, age)
	}
	gauge(c.frozenOldest, oldest)
	drained := 0.0
	if n.isDrained(n.cfg.NodeID) {
		drained = 1
	}
	gauge(c.drained, drained)
	if n.raft == nil {
		return
	}
	st := n.raft.Stats()
	num := func(k string) float64 { v, _ := strconv.ParseFloat(st[k], 64); return v }
	gauge(c.term, num("term"))
	gauge(c.commit, num("commit_index"))
	gauge(c.applied, num("applied_index"))
	gauge(c.lastLog, num("last_log_index"))
	gauge(c.snapIdx, num("last_snapshot_index"))
	contact := 0.0
	if n.raft.State() != raft.Leader {
		if lc := n.raft.LastContact(); !lc.IsZero() {
			contact = time.Since(lc).Seconds()
		}
	}
	gauge(c.lastContact, contact)
	if cf := n.raft.GetConfiguration(); cf.Error() == nil {
		voters := 0
		for _, s := range cf.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters++
			}
		}
		gauge(c.members, float64(voters))
	}
}

// ReadyMaxLagEntries is how far this replica's applied index may trail its commit
// index and still count as caught up.
const ReadyMaxLagEntries = 1000

// Ready reports whether the node can serve: it is in a group with a leader it has heard
// from recently, its machine is bootstrapped, and it has applied what it knows to be
// committed (within ReadyMaxLagEntries). nil means ready; the error says why not.
func (n *Node) Ready() error {
	if n.raft == nil {
		return errors.New("raft not started")
	}
	st := n.raft.State()
	if st != raft.Leader && st != raft.Follower {
		return fmt.Errorf("raft state %s", st)
	}
	_, leader := n.raft.LeaderWithID()
	if leader == "" {
		return errors.New("no leader known")
	}
	if st == raft.Follower {
		stale := max(5*n.cfg.HeartbeatTimeout, time.Second)
		if lc := n.raft.LastContact(); lc.IsZero() || time.Since(lc) > stale {
			return fmt.Errorf("no contact with leader %s for over %s", leader, stale)
		}
	}
	var group raftfsm.GroupID
	var applied uint64
	n.fsm.read(func(m *raftfsm.Machine) { group, applied = m.Group(), m.AppliedIndex() })
	if group == 0 {
		return errors.New("group not bootstrapped yet")
	}
	if commit := n.raft.CommitIndex(); commit > applied+ReadyMaxLagEntries {
		return fmt.Errorf("catching up: applied %d of %d committed", applied, commit)
	}
	return nil
}

// logRecovered says, once raft has opened the stores, what the node found on disk: the
// snapshot it restored, the log beyond it, the term, and the machine's state as of the
// snapshot (the rest is re-applied as the leader confirms the commit index).
func (n *Node) logRecovered() {
	st := n.raft.Stats()
	var applied uint64
	var pending, members int
	var group raftfsm.GroupID
	n.fsm.read(func(m *raftfsm.Machine) {
		applied, pending, members, group = m.AppliedIndex(), len(m.PendingOrders()), len(m.Members()), m.Group()
	})
	if st["last_log_index"] == "0" && applied == 0 {
		n.log.Info("started with an empty data dir", "data_dir", n.cfg.DataDir)
		return
	}
	n.log.Info("recovered from the data dir", "data_dir", n.cfg.DataDir,
		"snapshot_index", st["last_snapshot_index"], "last_log_index", st["last_log_index"], "term", st["term"],
		"applied_index", applied, "machine_group", uint32(group), "pending_orders", pending, "stored_members", members)
}
