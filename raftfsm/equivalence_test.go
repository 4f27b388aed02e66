package raftfsm

import (
	"math/rand/v2"
	"testing"
)

// TestSnapshotRestoreEquivalence: for random command sequences,
// restore(snapshot at k) then apply(k+1..n) gives the same state hash as
// applying 1..n straight through, for several k.
func TestSnapshotRestoreEquivalence(t *testing.T) {
	const n = 600
	for seed := uint64(1); seed <= 8; seed++ {
		// Record the log of a straight run.
		rec := newHarness(t)
		var log [][]byte
		var hashes [][32]byte
		var snaps [][]byte
		g := &gen{c: prng{rand.New(rand.NewPCG(seed, 7))}, m: rec.m}
		cmds := g.setup()
		for i := 0; i < n; i++ {
			var cmd Command
			if i < len(cmds) {
				cmd = cmds[i]
			} else {
				cmd = g.next()
			}
			legacyFill(rec.m, cmd, rec.now+1_000_000_000)
			log = append(log, Encode(Envelope{TimeUnixNano: rec.now + 1_000_000_000, Cmd: cmd}))
			rec.apply(cmd)
			hashes = append(hashes, rec.m.Hash())
			snaps = append(snaps, rec.m.Snapshot())
		}
		first := rec.index - uint64(n) + 1 // index of log[0]
		for _, k := range []int{0, 1, 7, n / 3, n / 2, n - 2} {
			m := New()
			if err := m.Restore(snaps[k]); err != nil {
				t.Fatalf("seed %d: restore at %d: %v", seed, k, err)
			}
			if m.Hash() != hashes[k] {
				t.Fatalf("seed %d: hash after restore at %d differs", seed, k)
			}
			for j := k + 1; j < n; j++ {
				m.Apply(first+uint64(j), log[j])
				if err := m.CheckInvariants(); err != nil {
					t.Fatalf("seed %d k %d: after %d: %v", seed, k, j, err)
				}
			}
			if m.Hash() != hashes[n-1] {
				t.Fatalf("seed %d: restore at %d then apply differs from straight through", seed, k)
			}
		}
	}
}

// FuzzApply: random valid command sequences drawn from the fuzz input keep
// every invariant (the harness checks after each entry) and never panic.
func FuzzApply(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x00\x02\x00\x03\x00\x10\x00\x20\x00\x30\x01\x00\x02\x00\x03\x00"))
	seed := make([]byte, 512)
	for i := range seed {
		seed[i] = byte(i * 37)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t)
		src := &fuzzBytes{b: data}
		g := &gen{c: src, m: h.m}
		for _, cmd := range g.setup() {
			h.apply(cmd)
		}
		for i := 0; i < 400 && !src.done(); i++ {
			h.apply(g.next())
		}
	})
}
