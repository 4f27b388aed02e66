package exchsim

import (
	"math/rand/v2"
	"testing"
)

// TestIDIndex: every stored hash is found with its value through several growths,
// absent hashes read 0, and slot returns the same cell for a present hash. Hashes
// share their low bits on purpose (the shard is chosen by them, so the probe must not
// start from them) and some collide in the probe range.
func TestIDIndex(t *testing.T) {
	var x idIndex
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[uint64]uint32{}
	for i := range 100_000 {
		h := rng.Uint64()&^0xff | 0x2a
		if i%10 == 0 {
			h = uint64(i) << 8 // consecutive probe positions
		}
		c := x.slot(h)
		if _, ok := want[h]; ok != (*c != 0) {
			t.Fatalf("slot(%x) = %d, present %v", h, *c, ok)
		}
		*c = uint32(i + 1)
		want[h] = uint32(i + 1)
	}
	if x.n != len(want) {
		t.Errorf("n = %d, want %d", x.n, len(want))
	}
	for h, v := range want {
		if got := x.get(h); got != v {
			t.Fatalf("get(%x) = %d, want %d", h, got, v)
		}
	}
	for range 10_000 {
		h := rng.Uint64()
		if _, ok := want[h]; !ok && x.get(h) != 0 {
			t.Fatalf("get of an absent hash %x = %d", h, x.get(h))
		}
	}
	var empty idIndex
	if empty.get(42) != 0 {
		t.Error("get on an empty index")
	}
}
