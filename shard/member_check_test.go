package shard

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/loopport"
)

// TestAddMemberValidates: AddMember refuses a bad ID, an address that is not
// host:port, another member's address and an address where nothing answers, as
// INVALID_ARGUMENT naming the field; the configuration is unchanged and writes still
// commit (a voter at "not-an-addr" used to join and stall every write).
func TestAddMemberValidates(t *testing.T) {
	c := newCluster(t, clusterOpts{mode: exchsim.Strict})
	leader := c.leaderNode()
	dead := loopport.Dead(t) // nothing listens there
	cases := []struct {
		name  string
		m     Member
		field string
	}{
		{"10 KB ID", Member{ID: strings.Repeat("n", 10_000), RaftAddr: dead}, "id"},
		{"empty ID", Member{ID: "", RaftAddr: dead}, "id"},
		{"ID with a space", Member{ID: "n 4", RaftAddr: dead}, "id"},
		{"ID with a newline", Member{ID: "n4\n", RaftAddr: dead}, "id"},
		{"not an address", Member{ID: "n4", RaftAddr: "not-an-addr"}, "raft_addr"},
		{"no raft address", Member{ID: "n4"}, "raft_addr"},
		{"port 0", Member{ID: "n4", RaftAddr: "127.0.0.1:0"}, "raft_addr"},
		{"port too large", Member{ID: "n4", RaftAddr: "127.0.0.1:70000"}, "raft_addr"},
		{"no host", Member{ID: "n4", RaftAddr: ":7001"}, "raft_addr"},
		{"bad rpc address", Member{ID: "n4", RaftAddr: dead, RPCAddr: "x"}, "rpc_addr"},
		{"another member's address", Member{ID: "n4", RaftAddr: c.member(0).RaftAddr}, "raft_addr"},
		{"nothing answers", Member{ID: "n4", RaftAddr: dead}, "raft_addr"},
	}
	for _, tc := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := leader.AddMember(ctx, tc.m)
		cancel()
		var fe *convert.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want a field error on %s", tc.name, err, tc.field)
			continue
		}
		if b := bizErr(err); convert.CodeOf(b) != ct.ErrorCode_INVALID_ARGUMENT {
			t.Errorf("%s: business code %v, want INVALID_ARGUMENT", tc.name, convert.CodeOf(b))
		}
	}
	cf := leader.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		t.Fatal(err)
	}
	if got := len(cf.Configuration().Servers); got != 3 {
		t.Fatalf("%d servers after refused additions, want 3", got)
	}
	// Writes still commit.
	c.seed(raftfsm.AccountID(1), 1, 1000)
}
