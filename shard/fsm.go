package shard

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/raftfsm"
)

// fsm is the thin raft.FSM adapter around a raftfsm.Machine: it hands committed
// command entries to the machine and nothing else. mu serializes Apply, Snapshot and
// Restore with the node's reads (RLock).
type fsm struct {
	mu sync.RWMutex
	m  *raftfsm.Machine

	// observe receives each entry's apply duration; nil: none.
	observe func(op raftfsm.Op, d time.Duration)
}

var (
	_ raft.FSM         = (*fsm)(nil)
	_ raft.BatchingFSM = (*fsm)(nil)
)

func newFSM() *fsm { return &fsm{m: raftfsm.New()} }

// Apply applies one entry. Non-command entries (configuration, barrier, no-op of raft
// itself) change nothing. An undecodable command panics inside the machine: a replica
// must not skip an entry the others applied.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apply(l)
}

// ApplyBatch applies a batch of committed entries under one lock.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range logs {
		if l.Type == raft.LogCommand {
			out[i] = f.apply(l)
		}
	}
	return out
}

func (f *fsm) apply(l *raft.Log) *raftfsm.Result {
	if f.observe == nil {
		return f.m.Apply(l.Index, l.Data)
	}
	t := time.Now()
	r := f.m.Apply(l.Index, l.Data)
	f.observe(r.Op, time.Since(t))
	return r
}

// Snapshot captures the machine's state now; Persist encodes and writes it later,
// concurrently with Apply. raft calls Snapshot on the FSM's goroutine, so what it
// costs stalls every entry: BeginSnapshot encodes all but the activity history
// there and freezes the history (copy-on-write, raftfsm/activity_freeze.go), whose
// encoding (most of the bytes: 300 ms for 10,000 full logs) Persist does.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock() // BeginSnapshot marks the logs as shared: a write
	defer f.mu.Unlock()
	return &fsmSnapshot{p: f.m.BeginSnapshot()}, nil
}

// Restore discards the machine's state and replaces it with the snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("shard: read snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.m.Restore(data); err != nil {
		return fmt.Errorf("shard: restore snapshot (%d bytes): %w", len(data), err)
	}
	return nil
}

// read runs fn with the machine under the read lock.
func (f *fsm) read(fn func(m *raftfsm.Machine)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.m)
}

type fsmSnapshot struct{ p *raftfsm.PendingSnapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.p.Bytes()); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("shard: write snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
