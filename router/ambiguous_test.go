package router_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// fakeMember is a group member that owns every slot and answers Follow with a fixed
// error (nil: it leads and applies), counting the calls.
type fakeMember struct {
	ct.CopyTrade // nil: methods the test does not use panic
	followErr    func() error
	follows      atomic.Int64
}

func (m *fakeMember) GetSlotOwnership(context.Context, *ct.GetSlotOwnershipRequest) (*ct.GetSlotOwnershipResponse, error) {
	return &ct.GetSlotOwnershipResponse{Group: 1, Ranges: []*ct.SlotRange{{From: 0, To: 16383, State: ct.SlotState_OWNED, Epoch: 1}}}, nil
}

func (m *fakeMember) Follow(context.Context, *ct.FollowRequest) (*ct.CommandResponse, error) {
	m.follows.Add(1)
	if err := m.followErr(); err != nil {
		return nil, err
	}
	return &ct.CommandResponse{}, nil
}

func serveFake(t *testing.T, m *fakeMember) string {
	t.Helper()
	ln, err := kitexopt.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	run := kitexopt.Serve(copytrade.NewServer(m, kitexopt.Server(ln, "copytrade", 0)...), ln)
	t.Cleanup(func() { _ = run.Kill() })
	return ln.Addr().String()
}

// TestRouterNeverResendsAfterUnknownOutcome: a member that lost leadership after it
// appended a Follow answers NOT_LEADER with outcome=unknown; the router must answer
// UNAVAILABLE (check before retrying) and not send the Follow to the next leader, which
// would apply it twice or answer a misleading FOLLOW_EXISTS. A plain NOT_LEADER (never
// appended) is still followed to the leader it names.
func TestRouterNeverResendsAfterUnknownOutcome(t *testing.T) {
	for _, tc := range []struct {
		name      string
		appended  bool
		wantCode  ct.ErrorCode
		wantAtNew int64
	}{
		{"appended", true, ct.ErrorCode_UNAVAILABLE, 0},
		{"not-appended", false, ct.ErrorCode_OK, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leader := &fakeMember{followErr: func() error { return nil }}
			leaderAddr := serveFake(t, leader)
			deposed := &fakeMember{followErr: func() error {
				if tc.appended {
					return convert.NotLeaderMaybeAppliedError("b", leaderAddr)
				}
				return convert.NotLeaderError("b", leaderAddr)
			}}
			deposedAddr := serveFake(t, deposed)
			topo := &router.Topology{Groups: []router.GroupSpec{{ID: 1, Members: []router.MemberSpec{
				{ID: "a", RaftAddr: "127.0.0.1:1", RPCAddr: deposedAddr},
				{ID: "b", RaftAddr: "127.0.0.1:2", RPCAddr: leaderAddr},
			}}}}
			cfg := router.DefaultConfig()
			cfg.ListenAddr = "127.0.0.1:0"
			rt, err := router.New(cfg, topo)
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Close(context.Background()) })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = router.HandlerForTest(rt).Follow(ctx, &ct.FollowRequest{Trader: 7, Copier: 8, Settings: testcluster.FollowSettings()})
			if code := convert.CodeOf(err); code != tc.wantCode {
				t.Fatalf("Follow: %v (code %v), want %v", err, code, tc.wantCode)
			}
			if tc.appended && !strings.Contains(err.Error(), "may still commit") {
				t.Errorf("the error does not say the outcome is unknown: %v", err)
			}
			if deposed.follows.Load() != 1 || leader.follows.Load() != tc.wantAtNew {
				t.Errorf("Follow sent %d times to the deposed member and %d to the leader; want 1 and %d",
					deposed.follows.Load(), leader.follows.Load(), tc.wantAtNew)
			}
		})
	}
}
