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
	var quality map[raftfsm.AccountID]raftfsm.Quality
	qdays := min(window, 30) // copy quality's windows are 7 and 30 days
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		rows = m.Leaderboard(metric, window, k)
		ids := make([]raftfsm.AccountID, len(rows))
		for i := range rows {
			ids[i] = rows[i].Trader
		}
		quality = m.CopyQualities(ids, int64(qdays)*24*3600*1e9)
	}); err != nil {
		return nil, err
	}
	out := convert.LeaderRowsView(rows)
	for _, r := range out {
		q := quality[raftfsm.AccountID(r.Trader)]
		r.Quality = convert.QualityView(&q, qdays, 0)
	}
	return &ct.LeaderboardResponse{Rows: out}, nil
}
