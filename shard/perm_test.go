package shard

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestDataAtRestOwnerOnly: every directory a node writes is 0700 and every file 0600 —
// the raft log, snapshots and their metadata — including a data dir that existed
// with looser modes before the node started.
func TestDataAtRestOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	pre := filepath.Join(dir, "pre")
	if err := os.MkdirAll(filepath.Join(pre, "snapshots"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pre, "stray"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, clusterOpts{mode: exchsim.Strict, mutate: func(cfg *Config) {
		if cfg.NodeID == "n1" {
			cfg.DataDir = pre
		}
	}})
	c.seed(raftfsm.AccountID(1), 3, 1000)
	c.settled(10 * time.Second)
	for _, n := range c.live() {
		if err := n.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	var files int
	for _, cfg := range c.cfgs {
		if err := filepath.WalkDir(cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			} else {
				files++
			}
			if info.Mode().Perm() != want {
				t.Errorf("%s: mode %#o, want %#o", path, info.Mode().Perm(), want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if files < 3*3 { // raft.db, and a snapshot's meta.json and state.bin on each node
		t.Fatalf("only %d files under the data dirs", files)
	}
}
