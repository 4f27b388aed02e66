package shard

import (
	"fmt"

	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// openLogStore opens the raft log and stable store (bbolt) at path. Every commit is
// fsync'd unless noSync (tests and benchmarks only).
func openLogStore(path string, noSync bool) (*raftboltdb.BoltStore, error) {
	store, err := raftboltdb.New(raftboltdb.Options{Path: path, NoSync: noSync})
	if err != nil {
		return nil, fmt.Errorf("shard: open log store: %w", err)
	}
	return store, nil
}
