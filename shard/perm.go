package shard

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// A node's data (raft log, snapshots, their metadata) is its owner's only: the data dir
// is 0700, its directories 0700 and its files 0600. raft-boltdb creates raft.db 0600;
// hashicorp/raft's file snapshot store creates directories 0755 and files with the
// umask's default, so the snapshot store is wrapped and tightens each snapshot once it
// is written. The data dir itself being 0700 already closes the window in between.

// ownerOnlyDir creates dir 0700 (or tightens an existing one) and everything under it.
func ownerOnlyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return tighten(dir)
}

// tighten sets every directory under root (root included) to 0700 and every regular
// file to 0600. Symbolic links are not followed.
func tighten(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return chmodIf(path, d, 0o700)
		case d.Type().IsRegular():
			return chmodIf(path, d, 0o600)
		}
		return nil
	})
}

func chmodIf(path string, d fs.DirEntry, mode fs.FileMode) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	if info.Mode().Perm() == mode {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("restrict %s to its owner: %w", path, err)
	}
	return nil
}

// ownerOnlySnapshots is a raft.SnapshotStore whose snapshots are tightened (tighten)
// when their sink is closed.
type ownerOnlySnapshots struct {
	raft.SnapshotStore
	dir string // the store's directory (<data>/snapshots)
}

func (s *ownerOnlySnapshots) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.SnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	return &ownerOnlySink{SnapshotSink: sink, dir: s.dir}, nil
}

type ownerOnlySink struct {
	raft.SnapshotSink
	dir string
}

func (s *ownerOnlySink) Close() error {
	if err := s.SnapshotSink.Close(); err != nil {
		return err
	}
	return tighten(s.dir)
}
