package raftfsm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func init() { separateGolden[OpMemberUpdate] = "TestMemberUpdateGolden" }

// goldenMemberUpdate pins MemberUpdate's encoding (the log format: never change it).
var goldenMemberUpdate = MemberUpdate{Action: MemberSet, ID: "n4", RaftAddr: "10.0.0.4:7001", RPCAddr: "10.0.0.4:7101"}

const goldenMemberUpdateHex = "021b8cc88980e6adb4a62f01026e340d31302e302e302e343a373030310d31302e302e302e343a37313031"

func TestMemberUpdateGolden(t *testing.T) {
	b := Encode(Envelope{TimeUnixNano: goldenTime, Cmd: goldenMemberUpdate})
	if got := hex.EncodeToString(b); got != goldenMemberUpdateHex {
		t.Fatalf("the MemberUpdate log format changed (old logs would not replay)\n got: %s\nwant: %s", got, goldenMemberUpdateHex)
	}
	want, _ := hex.DecodeString(goldenMemberUpdateHex)
	env, err := Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env, Envelope{TimeUnixNano: goldenTime, Cmd: &goldenMemberUpdate}) {
		t.Fatalf("decoded %+v", env.Cmd)
	}
	for _, c := range []Command{&MemberUpdate{}, &MemberUpdate{Action: MemberDrain, ID: "n1"}} {
		b := Encode(Envelope{TimeUnixNano: -1, Cmd: c})
		got, err := Decode(b)
		if err != nil || !reflect.DeepEqual(got.Cmd, c) || !bytes.Equal(Encode(got), b) {
			t.Fatalf("round trip of %+v: %+v, %v", c, got.Cmd, err)
		}
	}
}

func TestMemberUpdateApply(t *testing.T) {
	m := New()
	idx := uint64(0)
	apply := func(c MemberUpdate) *Refusal {
		idx++
		return m.ApplyEnvelope(idx, Envelope{TimeUnixNano: 1, Cmd: &c}).Refusal
	}
	must := func(c MemberUpdate) {
		t.Helper()
		if r := apply(c); r != nil {
			t.Fatalf("%+v refused: %v", c, r)
		}
	}
	must(MemberUpdate{Action: MemberSet, ID: "n2", RaftAddr: "h2:1", RPCAddr: "h2:2"})
	must(MemberUpdate{Action: MemberSet, ID: "n1", RaftAddr: "h1:1", RPCAddr: "h1:2"})
	must(MemberUpdate{Action: MemberDrain, ID: "n1"})
	must(MemberUpdate{Action: MemberSet, ID: "n1", RaftAddr: "h1:1", RPCAddr: "h1:3"}) // keeps the drain
	want := []GroupMember{{ID: "n1", RaftAddr: "h1:1", RPCAddr: "h1:3", Drained: true}, {ID: "n2", RaftAddr: "h2:1", RPCAddr: "h2:2"}}
	if got := m.Members(); !reflect.DeepEqual(got, want) {
		t.Fatalf("members %+v, want %+v", got, want)
	}
	must(MemberUpdate{Action: MemberUndrain, ID: "n1"})
	must(MemberUpdate{Action: MemberRemove, ID: "n2"})
	must(MemberUpdate{Action: MemberRemove, ID: "n2"}) // idempotent
	if got := m.Members(); len(got) != 1 || got[0].Drained || got[0].ID != "n1" {
		t.Fatalf("after undrain and remove: %+v", got)
	}
	for _, c := range []struct {
		cmd   MemberUpdate
		field string
	}{
		{MemberUpdate{ID: "n1"}, "Action"},
		{MemberUpdate{Action: 9, ID: "n1"}, "Action"},
		{MemberUpdate{Action: MemberSet, RaftAddr: "h:1", RPCAddr: "h:2"}, "ID"},
		{MemberUpdate{Action: MemberSet, ID: strings.Repeat("x", MaxMemberIDLen+1), RaftAddr: "h:1", RPCAddr: "h:2"}, "ID"},
		{MemberUpdate{Action: MemberSet, ID: "n3", RaftAddr: "nohost", RPCAddr: "h:2"}, "RaftAddr"},
		{MemberUpdate{Action: MemberSet, ID: "n3", RaftAddr: "h:1", RPCAddr: "h:"}, "RPCAddr"},
		{MemberUpdate{Action: MemberDrain, ID: "n3"}, "ID"},
		{MemberUpdate{Action: MemberRemove, ID: "n1", RPCAddr: "h:2"}, "RPCAddr"},
	} {
		r := apply(c.cmd)
		if r == nil || r.Code != CodeInvalidArgument || !strings.HasPrefix(r.Msg, c.field+":") {
			t.Errorf("%+v: refusal %v, want INVALID_ARGUMENT naming %s", c.cmd, r, c.field)
		}
	}
	if got := m.Members(); len(got) != 1 {
		t.Fatalf("refusals changed the membership: %+v", got)
	}
}

// TestSnapshotMembers: the members survive a snapshot round trip, and a version-1
// snapshot (written before members were stored) still restores, with none.
func TestSnapshotMembers(t *testing.T) {
	m := New()
	m.ApplyEnvelope(1, Envelope{Cmd: &MemberUpdate{Action: MemberSet, ID: "n1", RaftAddr: "h1:1", RPCAddr: "h1:2"}})
	m.ApplyEnvelope(2, Envelope{Cmd: &MemberUpdate{Action: MemberDrain, ID: "n1"}})
	snap := m.Snapshot()
	if snap[0] != snapshotVersion {
		t.Fatalf("version %d", snap[0])
	}
	r := New()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Members(), m.Members()) || r.Hash() != m.Hash() {
		t.Fatalf("restored members %+v, want %+v", r.Members(), m.Members())
	}

	// Only the current version is read (fill contract v2 changed the layout), and a
	// current body without its members section is not valid.
	empty := New().Snapshot()
	body := bytes.Clone(empty[:len(empty)-checksumLen-1]) // drop the members count (0)
	body[0] = snapshotVersion
	if err := r.Restore(binary.BigEndian.AppendUint64(body, hashBytes(body))); !errors.Is(err, ErrDecode) {
		t.Fatalf("version 2 without members: %v", err)
	}
}
