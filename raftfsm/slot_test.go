package raftfsm

import (
	"strconv"
	"testing"
)

func TestSlotVectors(t *testing.T) {
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16-XMODEM(123456789) = %#04x, want 0x31C3", got)
	}
	// Redis documents CLUSTER KEYSLOT foo = 12182.
	if got := crc16([]byte("foo")) % NumSlots; got != 12182 {
		t.Fatalf("key slot of foo = %d, want 12182", got)
	}
	// Pinned once, cross-checked with an independent bitwise CRC16-XMODEM.
	// They must never change.
	vectors := []struct {
		id   AccountID
		slot uint16
	}{
		{1, 9842},
		{2, 5649},
		{42, 8000},
		{1001, 15391},
		{123456789, 12739},
		{9_000_000_001, 2575},
		{-7, 13838},
		{9223372036854775807, 13677},
		{-9223372036854775808, 3298},
	}
	for _, v := range vectors {
		if got := SlotOf(v.id); got != v.slot {
			t.Errorf("SlotOf(%d) = %d, want %d", v.id, got, v.slot)
		}
	}
	// Agrees with the definition on a spread of IDs.
	for id := AccountID(-1000); id < 100000; id += 7 {
		want := crc16([]byte(strconv.FormatInt(int64(id), 10))) % NumSlots
		if got := SlotOf(id); got != want {
			t.Fatalf("SlotOf(%d) = %d, want %d", id, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = SlotOf(123456789) }); n != 0 {
		t.Errorf("SlotOf allocates %v times", n)
	}
}

func BenchmarkSlotOf(b *testing.B) {
	b.ReportAllocs()
	id := AccountID(1_000_000_007)
	var sink uint16
	for b.Loop() {
		sink += SlotOf(id)
		id++
	}
	_ = sink
}
