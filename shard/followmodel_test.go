package shard

import (
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The follow registry as porcupine sees it: per copier (of one trader), absent or
// following with a fixed margin. Operations made through the router during faults are
// recorded with their call and return times; an operation whose outcome is unknown
// (timeout, UNAVAILABLE) may or may not have taken effect, at any time after its call:
// it is recorded as never returning (Jepsen's :info), since a write the client gave up
// on can still be applied after the client's deadline.

// opNeverReturned is the return time of an operation whose outcome is unknown.
const opNeverReturned = math.MaxInt64

type followOpKind uint8

const (
	opFollow followOpKind = iota + 1
	opUpdate
	opUnfollow
	opGet
)

type followIn struct {
	kind   followOpKind
	copier int64
	margin int64 // Follow, Update: the fixed margin set
}

type followOut struct {
	unknown bool  // no answer: the write may or may not have happened
	ok      bool  // writes: applied; Get: found
	margin  int64 // Get: the margin read
}

// followModel: state is the copier's margin, 0 when it does not follow.
var followModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[int64][]porcupine.Operation{}
		var keys []int64
		for _, op := range h {
			k := op.Input.(followIn).copier
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() []interface{} { return []interface{}{int64(0)} },
	Step: func(state, input, output interface{}) []interface{} {
		s, in, out := state.(int64), input.(followIn), output.(followOut)
		var next int64
		var ok bool
		switch in.kind {
		case opFollow:
			ok, next = s == 0, in.margin
		case opUpdate:
			ok, next = s != 0, in.margin
		case opUnfollow:
			ok, next = s != 0, 0
		case opGet:
			if out.ok == (s != 0) && (!out.ok || out.margin == s) {
				return []interface{}{s}
			}
			return nil
		}
		if !ok {
			next = s
		}
		switch {
		case out.unknown:
			return []interface{}{s, next}
		case out.ok == ok:
			return []interface{}{next}
		}
		return nil
	},
}

// checkFollowHistory reports whether ops are linearizable against the follow registry.
func checkFollowHistory(ops []porcupine.Operation) bool {
	return porcupine.CheckOperationsTimeout(followModel.ToModel(), ops, 30*time.Second) != porcupine.Illegal
}

// TestFollowModelCatchesStaleRead: the checker accepts a linearizable history and
// rejects one where a read after an acknowledged Unfollow still sees the follow.
func TestFollowModelCatchesStaleRead(t *testing.T) {
	op := func(call, ret int64, in followIn, out followOut) porcupine.Operation {
		return porcupine.Operation{Input: in, Output: out, Call: call, Return: ret}
	}
	good := []porcupine.Operation{
		op(0, 10, followIn{kind: opFollow, copier: 1, margin: 100}, followOut{ok: true}),
		op(5, 30, followIn{kind: opUpdate, copier: 1, margin: 200}, followOut{unknown: true}),
		op(20, 25, followIn{kind: opGet, copier: 1}, followOut{ok: true, margin: 100}),
		op(40, 50, followIn{kind: opGet, copier: 1}, followOut{ok: true, margin: 200}),
		op(60, 70, followIn{kind: opUnfollow, copier: 1}, followOut{ok: true}),
		op(80, 90, followIn{kind: opFollow, copier: 1, margin: 300}, followOut{ok: true}),
	}
	if !checkFollowHistory(good) {
		t.Fatal("a linearizable history was rejected")
	}
	stale := append(append([]porcupine.Operation(nil), good[:5]...),
		op(75, 78, followIn{kind: opGet, copier: 1}, followOut{ok: true, margin: 200}))
	if checkFollowHistory(stale) {
		t.Fatal("a read of a follow after its acknowledged Unfollow was accepted")
	}
	doubled := []porcupine.Operation{
		op(0, 10, followIn{kind: opFollow, copier: 2, margin: 100}, followOut{ok: true}),
		op(20, 30, followIn{kind: opFollow, copier: 2, margin: 100}, followOut{ok: true}),
	}
	if checkFollowHistory(doubled) {
		t.Fatal("two acknowledged Follows of one copier without an Unfollow were accepted")
	}
	// An Unfollow that timed out is applied after its client gave up, between two
	// acknowledged Follows (seen in make chaos: a paused leader's request applied late).
	late := []porcupine.Operation{
		op(0, 10, followIn{kind: opFollow, copier: 3, margin: 100}, followOut{ok: true}),
		op(20, opNeverReturned, followIn{kind: opUnfollow, copier: 3}, followOut{unknown: true}),
		op(40, 50, followIn{kind: opGet, copier: 3}, followOut{ok: true, margin: 100}),
		op(60, 70, followIn{kind: opFollow, copier: 3, margin: 200}, followOut{ok: true}),
	}
	if !checkFollowHistory(late) {
		t.Fatal("a timed-out Unfollow applied after its deadline was rejected")
	}
}
