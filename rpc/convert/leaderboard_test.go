package convert

import (
	"errors"
	"testing"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func TestLeaderMetricValues(t *testing.T) {
	pairs := []struct {
		idl ct.LeaderMetric
		fsm raftfsm.LeaderMetric
	}{
		{ct.LeaderMetric_ROI, raftfsm.LeaderROI}, {ct.LeaderMetric_PNL, raftfsm.LeaderPnL},
		{ct.LeaderMetric_WIN_RATE, raftfsm.LeaderWinRate}, {ct.LeaderMetric_COPIER_PNL, raftfsm.LeaderCopierPnL},
		{ct.LeaderMetric_ASSETS_UNDER_COPY, raftfsm.LeaderAssetsUnderCopy}, {ct.LeaderMetric_COPIERS, raftfsm.LeaderCopiers},
	}
	for _, p := range pairs {
		if int64(p.idl) != int64(p.fsm) {
			t.Errorf("%v = %d in the IDL, %d in raftfsm", p.idl, p.idl, p.fsm)
		}
	}
}

func TestLeaderboardQueryRefusals(t *testing.T) {
	for _, tc := range []struct {
		req   *ct.LeaderboardRequest
		field string
	}{
		{&ct.LeaderboardRequest{Metric: 0, WindowDays: 7, K: 1}, "metric"},
		{&ct.LeaderboardRequest{Metric: 7, WindowDays: 7, K: 1}, "metric"},
		{&ct.LeaderboardRequest{Metric: ct.LeaderMetric_PNL, WindowDays: 14, K: 1}, "window_days"},
		{&ct.LeaderboardRequest{Metric: ct.LeaderMetric_PNL, WindowDays: 90, K: 0}, "k"},
		{&ct.LeaderboardRequest{Metric: ct.LeaderMetric_PNL, WindowDays: 90, K: ct.MAX_LEADERBOARD_K + 1}, "k"},
	} {
		_, _, _, err := LeaderboardQuery(tc.req)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%v: got %v, want a refusal naming %q", tc.req, err, tc.field)
		}
	}
	m, w, k, err := LeaderboardQuery(&ct.LeaderboardRequest{Metric: ct.LeaderMetric_ROI, WindowDays: 30, K: 5})
	if err != nil || m != raftfsm.LeaderROI || w != 30 || k != 5 {
		t.Fatalf("valid request: %v %d %d %v", m, w, k, err)
	}
}

func TestMergeLeaderboards(t *testing.T) {
	row := func(trader int64, pnl string) *ct.LeaderRow { return &ct.LeaderRow{Trader: trader, Pnl: pnl} }
	a := []*ct.LeaderRow{row(5, "10.5"), row(2, "-3")}
	b := []*ct.LeaderRow{row(9, "10.5"), row(1, "100"), row(3, "0.00000001")}
	got := MergeLeaderboards(ct.LeaderMetric_PNL, 4, a, b)
	want := []int64{1, 5, 9, 3} // 100, then the 10.5 tie by trader ID, then 0.00000001; -3 cut by k
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Trader != want[i] || r.Rank != int32(i+1) {
			t.Errorf("row %d: trader %d rank %d, want trader %d rank %d", i, r.Trader, r.Rank, want[i], i+1)
		}
	}
}
