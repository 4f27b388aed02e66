package shard

import (
	"context"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Leaderboard answers this group's top K lead traders by a metric (a router merges
// every group's answer).
func (h *Handler) Leaderboard(ctx context.Context, req *ct.LeaderboardRequest) (*ct.LeaderboardResponse, error) {
	metric, window, k, err := convert.LeaderboardQuery(req)
	if err != nil {
		return nil, bizErr(err)
	}
	var rows []raftfsm.LeaderRow
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		rows = m.Leaderboard(metric, window, k)
	}); err != nil {
		return nil, err
	}
	return &ct.LeaderboardResponse{Rows: convert.LeaderRowsView(rows)}, nil
}
