package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestRouterLeaderboard: the router merges every group's board into one top K, in the
// order a single group would use (metric descending, trader ID ascending), and refuses
// a bad window without asking any group.
func TestRouterLeaderboard(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 2, Mode: exchsim.Strict})
	g1 := testcluster.TraderIn(1, 2, 2, 4_000_000)
	g2 := testcluster.TraderIn(2, 2, 2, 4_000_000)
	copiers := map[int64]int{g1[0]: 3, g1[1]: 1, g2[0]: 2, g2[1]: 3}
	next := int64(8_000_000)
	for _, tr := range []int64{g1[0], g1[1], g2[0], g2[1]} {
		c.Seed([]int64{tr}, copiers[tr], next)
		next += 100
	}
	ctx, cancel := context.WithTimeout(c.Admin, 20*time.Second)
	defer cancel()

	resp, err := c.Cli.Leaderboard(ctx, &ct.LeaderboardRequest{Metric: ct.LeaderMetric_COPIERS, WindowDays: 7, K: 3})
	if err != nil {
		t.Fatalf("leaderboard: %v", err)
	}
	three := []int64{g1[0], g2[1]}
	if three[0] > three[1] {
		three[0], three[1] = three[1], three[0]
	}
	want := []int64{three[0], three[1], g2[0]}
	if len(resp.Rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %v", len(resp.Rows), len(want), resp.Rows)
	}
	for i, r := range resp.Rows {
		if r.Trader != want[i] || r.Rank != int32(i+1) || int(r.Copiers) != copiers[want[i]] {
			t.Errorf("row %d = trader %d rank %d copiers %d; want trader %d rank %d copiers %d",
				i, r.Trader, r.Rank, r.Copiers, want[i], i+1, copiers[want[i]])
		}
	}

	all, err := c.Cli.Leaderboard(ctx, &ct.LeaderboardRequest{Metric: ct.LeaderMetric_COPIERS, WindowDays: 30, K: 10})
	if err != nil || len(all.Rows) != 4 || all.Rows[3].Trader != g1[1] {
		t.Fatalf("k=10: rows %v err %v; want all 4 traders, %d last", all.GetRows(), err, g1[1])
	}

	_, err = c.Cli.Leaderboard(ctx, &ct.LeaderboardRequest{Metric: ct.LeaderMetric_ROI, WindowDays: 5, K: 3})
	if convert.CodeOf(err) != ct.ErrorCode_INVALID_ARGUMENT {
		t.Fatalf("window 5: got %v, want INVALID_ARGUMENT", err)
	}
}
