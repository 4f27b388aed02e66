package shard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/hashicorp/raft"
)

// Disk faults. Every write raft makes to its log store, stable store and snapshot
// store goes through a guard: the first write that fails (EIO, ENOSPC, a failed fsync)
// makes the guard sticky — every later call fails too — and calls the node's disk
// fault handler, which crash-stops the node (Config.OnDiskFault; by default the
// process exits). A disk that failed a write cannot be trusted about what it holds
// (the fsyncgate lesson): the node must not go on voting or acknowledging on top of
// it; after a restart on a healthy disk, raft recovers from what was durably written
// and the rest of the group. Nothing the node acknowledged is lost because raft only
// acknowledges (votes, AppendEntries success, commits) after the store call returned
// nil.
//
// For tests, Failpoints make a chosen write fail with a chosen error.

// ErrDiskFault wraps every error the guarded stores return once a write has failed.
var ErrDiskFault = errors.New("shard: disk fault")

// DiskOp names a guarded store operation, for failpoints.
type DiskOp string

// The guarded write operations.
const (
	OpStoreLogs     DiskOp = "store_logs"     // LogStore.StoreLog / StoreLogs
	OpDeleteRange   DiskOp = "delete_range"   // LogStore.DeleteRange (compaction)
	OpStableSet     DiskOp = "stable_set"     // StableStore.Set / SetUint64 (term, vote)
	OpSnapshotWrite DiskOp = "snapshot_write" // a snapshot sink's Write / Close
)

// Failpoints make guarded writes fail, for fault-injection tests. The zero value fails
// nothing; it is safe for concurrent use.
type Failpoints struct {
	mu    sync.Mutex
	rules map[DiskOp]*failRule
}

type failRule struct {
	after int // calls of the op that still succeed
	err   error
}

// FailAfter makes the op fail with err after n more successful calls (n = 0: the next
// call fails). err is typically syscall.EIO or syscall.ENOSPC.
func (f *Failpoints) FailAfter(op DiskOp, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules == nil {
		f.rules = map[DiskOp]*failRule{}
	}
	f.rules[op] = &failRule{after: n, err: err}
}

// Clear removes every failpoint.
func (f *Failpoints) Clear() {
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
}

// hit reports the error op must fail with now, or nil.
func (f *Failpoints) hit(op DiskOp) error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rules[op]
	if r == nil {
		return nil
	}
	if r.after > 0 {
		r.after--
		return nil
	}
	return r.err
}

// diskGuard is shared by the three guarded stores of one node.
type diskGuard struct {
	fp      *Failpoints
	onFault func(error)

	mu     sync.Mutex
	failed error // the first fault, sticky
}

// check runs before a write: an earlier fault or a failpoint fails it.
func (g *diskGuard) check(op DiskOp) error {
	g.mu.Lock()
	failed := g.failed
	g.mu.Unlock()
	if failed != nil {
		return failed
	}
	if err := g.fp.hit(op); err != nil {
		return g.fault(op, &failpointError{op: op, err: err})
	}
	return nil
}

// result runs after a write: its error, if any, becomes the sticky fault.
func (g *diskGuard) result(op DiskOp, err error) error {
	if err == nil {
		return nil
	}
	return g.fault(op, err)
}

func (g *diskGuard) fault(op DiskOp, err error) error {
	g.mu.Lock()
	first := g.failed == nil
	if first {
		g.failed = fmt.Errorf("%w: %s: %w", ErrDiskFault, op, err)
	}
	failed := g.failed
	g.mu.Unlock()
	if first && g.onFault != nil {
		g.onFault(failed) // crash-stops the node; may not return (process exit)
	}
	return failed
}

type failpointError struct {
	op  DiskOp
	err error
}

func (e *failpointError) Error() string { return "failpoint " + string(e.op) + ": " + e.err.Error() }
func (e *failpointError) Unwrap() error { return e.err }

// guardedLogStore is raft's LogStore with writes guarded. Reads pass through: raft
// reads what it wrote successfully.
type guardedLogStore struct {
	raft.LogStore
	g *diskGuard
}

func (s *guardedLogStore) StoreLog(l *raft.Log) error {
	if err := s.g.check(OpStoreLogs); err != nil {
		return err
	}
	return s.g.result(OpStoreLogs, s.LogStore.StoreLog(l))
}

func (s *guardedLogStore) StoreLogs(ls []*raft.Log) error {
	if err := s.g.check(OpStoreLogs); err != nil {
		return err
	}
	return s.g.result(OpStoreLogs, s.LogStore.StoreLogs(ls))
}

func (s *guardedLogStore) DeleteRange(lo, hi uint64) error {
	if err := s.g.check(OpDeleteRange); err != nil {
		return err
	}
	return s.g.result(OpDeleteRange, s.LogStore.DeleteRange(lo, hi))
}

// guardedStable is raft's StableStore (current term, last vote) with writes guarded.
type guardedStable struct {
	raft.StableStore
	g *diskGuard
}

func (s *guardedStable) Set(k, v []byte) error {
	if err := s.g.check(OpStableSet); err != nil {
		return err
	}
	return s.g.result(OpStableSet, s.StableStore.Set(k, v))
}

func (s *guardedStable) SetUint64(k []byte, v uint64) error {
	if err := s.g.check(OpStableSet); err != nil {
		return err
	}
	return s.g.result(OpStableSet, s.StableStore.SetUint64(k, v))
}

// guardedSnaps is raft's SnapshotStore whose sinks' writes are guarded.
type guardedSnaps struct {
	raft.SnapshotStore
	g *diskGuard
}

func (s *guardedSnaps) Create(v raft.SnapshotVersion, index, term uint64, c raft.Configuration, ci uint64, t raft.Transport) (raft.SnapshotSink, error) {
	if err := s.g.check(OpSnapshotWrite); err != nil {
		return nil, err
	}
	sink, err := s.SnapshotStore.Create(v, index, term, c, ci, t)
	if err != nil {
		return nil, s.g.result(OpSnapshotWrite, err)
	}
	return &guardedSink{SnapshotSink: sink, g: s.g}, nil
}

type guardedSink struct {
	raft.SnapshotSink
	g *diskGuard
}

func (s *guardedSink) Write(p []byte) (int, error) {
	if err := s.g.check(OpSnapshotWrite); err != nil {
		_ = s.SnapshotSink.Cancel()
		return 0, err
	}
	n, err := s.SnapshotSink.Write(p)
	return n, s.g.result(OpSnapshotWrite, err)
}

func (s *guardedSink) Close() error {
	if err := s.g.check(OpSnapshotWrite); err != nil {
		_ = s.SnapshotSink.Cancel()
		return err
	}
	return s.g.result(OpSnapshotWrite, s.SnapshotSink.Close())
}

var _ io.WriteCloser = (*guardedSink)(nil)

// ExitDiskFault is the exit code of a node process crash-stopped by a disk fault.
const ExitDiskFault = 75

// diskGuard builds the node's guard: the fault handler logs and crash-stops.
func (n *Node) diskGuard() *diskGuard {
	return &diskGuard{fp: n.cfg.Failpoints, onFault: func(err error) {
		n.log.Error("disk fault: crash-stopping the node; restart it on a healthy disk", "err", err)
		if n.cfg.OnDiskFault != nil {
			n.cfg.OnDiskFault(err)
			return
		}
		os.Exit(ExitDiskFault)
	}}
}
