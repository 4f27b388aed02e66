package shard

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// logBatch is n log entries of size bytes each from index first, as the leader's
// dispatchLogs and a follower's AppendEntries hand them to the store.
func logBatch(first uint64, n, size int) []*raft.Log {
	out := make([]*raft.Log, n)
	for i := range out {
		data := bytes.Repeat([]byte{byte(i)}, size)
		out[i] = &raft.Log{Index: first + uint64(i), Term: 1, Type: raft.LogCommand, Data: data}
	}
	return out
}

// BenchmarkLogStoreAppend: one fsync'd StoreLogs of 8 entries of 600 bytes (a fill
// and order-results entries under load), then the oldest entries are deleted as raft
// compacts after a snapshot, so the file keeps a steady size and free pages as it
// does in a running node. "bbolt-defaults" is the store as raft-boltdb opens it by
// default (as openLogStore opens it), "etcd-freelist" as etcd runs it (NoFreelistSync,
// map freelist): measured no different in CPU here, so the node keeps the defaults
// (docs/benchmarks.md). cpu-ns/op (user + system, the fsync's kernel work included) is the
// figure to compare; ns/op is mostly waiting for the disk.
func BenchmarkLogStoreAppend(b *testing.B) {
	for _, v := range []struct {
		name string
		opts *bolt.Options
	}{{"bbolt-defaults", nil},
		{"etcd-freelist", &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType}}} {
		b.Run(v.name, func(b *testing.B) {
			s, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(b.TempDir(), "raft.db"), BoltOptions: v.opts})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const batch, keep = 8, 4096
			next := uint64(1)
			b.ResetTimer()
			cpu0 := processCPU(b)
			for range b.N {
				if err := s.StoreLogs(logBatch(next, batch, 600)); err != nil {
					b.Fatal(err)
				}
				next += batch
				if next > keep+batch && (next/batch)%64 == 0 {
					if err := s.DeleteRange(1, next-keep); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkDiskSync is the floor under BenchmarkLogStoreAppend: the CPU of one
// 4 KB pwrite followed by fdatasync, and of an fdatasync alone, on the disk the test's
// temporary directory is on. A bbolt transaction does two fdatasyncs (its pages, then
// its meta page), so a commit costs at least twice "write+fdatasync" on every node
// (docs/benchmarks.md, "What a commit costs here").
func BenchmarkDiskSync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, 1<<20), 0); err != nil { // allocated: no size change
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	page := make([]byte, 4096)
	for _, write := range []bool{true, false} {
		name := "fdatasync"
		if write {
			name = "write+fdatasync"
		}
		b.Run(name, func(b *testing.B) {
			cpu0 := processCPU(b)
			for i := range b.N {
				if write {
					if _, err := f.WriteAt(page, int64(i%256)*4096); err != nil {
						b.Fatal(err)
					}
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is this process's user+system CPU time so far: what a benchmark whose wall
// time is an fsync on a shared disk costs in CPU.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLogStoreReopen: entries written through openLogStore are there after a reopen
// (the freelist, when not synced, is rebuilt on open), and the store accepts more.
func TestLogStoreReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	s, err := openLogStore(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(logBatch(1, 100, 300)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 50); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = openLogStore(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if first != 51 || last != 100 {
		t.Fatalf("after reopen: first %d last %d, want 51 100", first, last)
	}
	var l raft.Log
	if err := s.GetLog(77, &l); err != nil || len(l.Data) != 300 || l.Data[0] != 76 {
		t.Fatalf("entry 77 after reopen: %v %d", err, len(l.Data))
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
		t.Fatalf("CurrentTerm after reopen: %d %v", v, err)
	}
	if err := s.StoreLogs(logBatch(101, 100, 300)); err != nil {
		t.Fatal(err)
	}
}
