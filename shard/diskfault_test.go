package shard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestDiskGuardIsSticky: a failpoint fails the chosen write after n successes; from
// then on every guarded write fails with ErrDiskFault and the fault handler ran once.
func TestDiskGuardIsSticky(t *testing.T) {
	dir := t.TempDir()
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var fp Failpoints
	fp.FailAfter(OpStoreLogs, 2, syscall.ENOSPC)
	var faults []error
	g := &diskGuard{fp: &fp, onFault: func(err error) { faults = append(faults, err) }}
	logs := &guardedLogStore{LogStore: store, g: g}
	stable := &guardedStable{StableStore: store, g: g}
	for i := uint64(1); i <= 2; i++ {
		if err := logs.StoreLog(&raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte("x")}); err != nil {
			t.Fatalf("write %d before the failpoint: %v", i, err)
		}
	}
	err = logs.StoreLogs([]*raft.Log{{Index: 3, Term: 1, Type: raft.LogCommand}})
	if !errors.Is(err, ErrDiskFault) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("third write: %v, want ErrDiskFault wrapping ENOSPC", err)
	}
	if last, _ := store.LastIndex(); last != 2 {
		t.Fatalf("the failed write reached the store: last index %d", last)
	}
	if err := stable.SetUint64([]byte("CurrentTerm"), 2); !errors.Is(err, ErrDiskFault) {
		t.Fatalf("a stable write after the fault: %v, want ErrDiskFault (sticky)", err)
	}
	if len(faults) != 1 {
		t.Fatalf("fault handler ran %d times, want once", len(faults))
	}
	if !strings.Contains(faults[0].Error(), "store_logs") {
		t.Errorf("fault %q does not name the operation", faults[0])
	}
}

// corruptionCluster runs a little traffic, snapshots one follower (the log compacted
// behind it), kills it and returns it for the test to damage.
func corruptionCluster(t *testing.T) (*cluster, int) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict, mutate: func(cfg *Config) {
		cfg.TrailingLogsEntries = 4
	}})
	c.seed(testTrader, 10, 5_000_000)
	for id := int64(1); id <= 10; id++ {
		c.fill(testTrader, id, raftfsm.Buy, raftfsm.Long, "0.2")
	}
	c.settled(10 * time.Second)
	fi := (c.leader() + 1) % 3
	if err := c.live()[fi].Snapshot(); err != nil {
		t.Fatal(err)
	}
	c.kill(fi)
	return c, fi
}

// TestCorruptStoreDetectedAtStart: a torn or corrupted raft.db, a snapshot whose data
// fails its CRC, an unreadable snapshot meta and a compacted log without a snapshot
// each stop New with ErrCorruptStore and a message naming the damage, not a panic.
func TestCorruptStoreDetectedAtStart(t *testing.T) {
	c, fi := corruptionCluster(t)
	dir := c.cfgs[fi].DataDir
	db := filepath.Join(dir, "raft.db")
	snapDirs, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*"))
	if len(snapDirs) == 0 {
		t.Fatal("no snapshot was written")
	}
	pristine := t.TempDir()
	if err := os.CopyFS(pristine, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(dir, os.DirFS(pristine)); err != nil {
			t.Fatal(err)
		}
	}
	newest := snapDirs[len(snapDirs)-1]
	cases := []struct {
		name   string
		damage func(t *testing.T)
		want   string
	}{
		{"truncated raft.db", func(t *testing.T) {
			st, _ := os.Stat(db)
			if err := os.Truncate(db, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "raft.db"},
		{"both meta pages garbage", func(t *testing.T) {
			overwrite(t, db, 0, 8192)
		}, "raft.db"},
		{"garbage data pages", func(t *testing.T) {
			st, _ := os.Stat(db)
			overwrite(t, db, 4*4096, int(st.Size())-4*4096)
		}, "raft.db"},
		{"snapshot state fails CRC", func(t *testing.T) {
			overwrite(t, filepath.Join(newest, "state.bin"), 0, 16)
		}, "CRC mismatch"},
		{"snapshot meta unreadable", func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(newest, "meta.json"), []byte("{\"Version\":1,"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "meta.json"},
		{"snapshot missing under a compacted log", func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(dir, "snapshots")); err != nil {
				t.Fatal(err)
			}
		}, "no readable snapshot covers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restore()
			tc.damage(t)
			n, err := New(c.cfgs[fi], c.gw)
			if err == nil {
				_ = n.Kill()
				t.Fatal("the node started on a damaged data dir")
			}
			if !errors.Is(err, ErrCorruptStore) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrCorruptStore mentioning %q", err, tc.want)
			}
		})
	}
	restore() // and the undamaged copy starts and catches up
	c.start(fi)
	c.settled(20 * time.Second)
}

// overwrite writes n bytes of a fixed garbage pattern at off.
func overwrite(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0xA5 ^ i)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
