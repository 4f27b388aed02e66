package shard

import (
	"fmt"
	"testing"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// TestNotLeaderSaysWhetherAppended: NOT_LEADER carries outcome=unknown exactly when
// leadership was lost after the command entered the log, so a router never resends a
// command that may still commit.
func TestNotLeaderSaysWhetherAppended(t *testing.T) {
	for _, appended := range []bool{false, true} {
		err := bizErr(fmt.Errorf("shard: propose: %w", &NotLeaderError{LeaderID: "n2", LeaderAddr: "127.0.0.1:2", Appended: appended}))
		st, ok := convert.StatusOf(err)
		if !ok || st.Code != ct.ErrorCode_NOT_LEADER || st.Extra[ct.EXTRA_LEADER_ADDR] != "127.0.0.1:2" {
			t.Fatalf("appended=%v: %v, want NOT_LEADER naming the leader", appended, err)
		}
		if got := st.Extra[convert.ExtraOutcome] == convert.ExtraOutcomeUnknown; got != appended {
			t.Errorf("appended=%v: outcome unknown=%v (%v)", appended, got, err)
		}
	}
}
