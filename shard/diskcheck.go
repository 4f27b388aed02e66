package shard

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// Start-up checks of the data dir. A torn or corrupted raft.db or snapshot must stop
// the node at start with an error that names the file and what is wrong — not a panic
// deep in bbolt or raft later (a read past a truncated file's end is a SIGBUS; a log
// that starts after the newest readable snapshot makes raft panic when it applies).
// The operator's fix is to wipe the member's data dir and let it rejoin (it receives
// a snapshot from the leader), see docs/operations.md.

// ErrCorruptStore wraps every error of the start-up data dir checks.
var ErrCorruptStore = errors.New("shard: corrupt data dir")

// checkRaftDB verifies raft.db (when it exists) before raft-boltdb opens it: the file
// is at least as long as its meta page says, and bbolt's consistency check passes.
func checkRaftDB(path string) (err error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorruptStore, path, err)
	}
	if st.Size() == 0 {
		return nil // created but never initialized: bbolt initializes it
	}
	// A corrupt page can make bbolt panic or fault while walking it: turn both into
	// an error here, where nothing else runs yet.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: bbolt failed reading it: %v", ErrCorruptStore, path, r)
		}
	}()
	// Opened read-write, as raft-boltdb will, so bbolt reads the freelist here (a
	// read-only open defers it to a goroutine of its own, where a panic is fatal).
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorruptStore, path, err)
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		if want := tx.Size(); st.Size() < want {
			return fmt.Errorf("%w: %s is %d bytes but its meta page says %d: the file is truncated (torn write)",
				ErrCorruptStore, path, st.Size(), want)
		}
		// Read every page in this goroutine (bbolt's Tx.Check walks in one of its own,
		// where a corrupt page's panic could not be recovered).
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error { return walkBucket(b) })
	})
}

func walkBucket(b *bbolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				return walkBucket(nb)
			}
		}
		return nil
	})
}

// checkSnapshots verifies the snapshot store against the log: every snapshot directory
// has readable metadata, the newest snapshot's data matches its CRC, and when the log
// was compacted (its first index > 1) a snapshot covers everything before it.
func checkSnapshots(dir string, logs raft.LogStore, snaps raft.SnapshotStore) error {
	sdir := filepath.Join(dir, "snapshots")
	ents, err := os.ReadDir(sdir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s: %w", ErrCorruptStore, sdir, err)
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue // a .tmp directory is a snapshot a crash interrupted: raft ignores it
		}
		mp := filepath.Join(sdir, e.Name(), "meta.json")
		b, err := os.ReadFile(mp)
		if err != nil {
			return fmt.Errorf("%w: snapshot %s: %w", ErrCorruptStore, e.Name(), err)
		}
		var meta raft.SnapshotMeta
		if err := json.Unmarshal(b, &meta); err != nil {
			return fmt.Errorf("%w: snapshot %s: meta.json is not valid: %w", ErrCorruptStore, e.Name(), err)
		}
	}
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("%w: list snapshots: %w", ErrCorruptStore, err)
	}
	var covered uint64
	if len(list) > 0 {
		newest := list[0]
		_, rc, err := snaps.Open(newest.ID) // the file store verifies the CRC here
		if err != nil {
			return fmt.Errorf("%w: snapshot %s (index %d): %w", ErrCorruptStore, newest.ID, newest.Index, err)
		}
		_ = rc.Close()
		covered = newest.Index
	}
	first, err := logs.FirstIndex()
	if err != nil {
		return fmt.Errorf("%w: raft.db: first index: %w", ErrCorruptStore, err)
	}
	if first > 1 && covered < first-1 {
		return fmt.Errorf("%w: raft.db's log starts at index %d but no readable snapshot covers index %d (newest snapshot: %d)",
			ErrCorruptStore, first, first-1, covered)
	}
	return nil
}
