package router

import (
	"context"
	"sync"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// Leaderboard asks every group for its top K and merges them: the top K over all
// groups is within the union of each group's top K.
func (h *Handler) Leaderboard(ctx context.Context, req *ct.LeaderboardRequest) (*ct.LeaderboardResponse, error) {
	if _, _, _, err := convert.LeaderboardQuery(req); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var mu sync.Mutex
	var boards [][]*ct.LeaderRow
	err := h.r.scatter(ctx, "Leaderboard", safe, func(ctx context.Context, _ uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := c.Leaderboard(ctx, req, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		boards = append(boards, resp.GetRows())
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ct.LeaderboardResponse{Rows: convert.MergeLeaderboards(req.GetMetric(), int(req.GetK()), boards...)}, nil
}
