package convert

import (
	"cmp"
	"slices"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// LeaderboardQuery validates a leaderboard request: a known metric, a window of 7, 30
// or 90 days and 1 <= k <= MAX_LEADERBOARD_K. The IDL's metric values equal raftfsm's
// (pinned by TestLeaderMetricValues).
func LeaderboardQuery(req *ct.LeaderboardRequest) (metric raftfsm.LeaderMetric, windowDays, k int, err error) {
	m := req.GetMetric()
	if m < ct.LeaderMetric_ROI || m > ct.LeaderMetric_COPIERS {
		return 0, 0, 0, fieldErr("metric", "must be one of ROI, PNL, WIN_RATE, COPIER_PNL, ASSETS_UNDER_COPY, COPIERS; got %d", m)
	}
	switch w := req.GetWindowDays(); w {
	case 7, 30, 90:
	default:
		return 0, 0, 0, fieldErr("window_days", "must be 7, 30 or 90; got %d", w)
	}
	if k := req.GetK(); k < 1 || k > ct.MAX_LEADERBOARD_K {
		return 0, 0, 0, fieldErr("k", "must be in 1..%d; got %d", ct.MAX_LEADERBOARD_K, k)
	}
	return raftfsm.LeaderMetric(m), int(req.GetWindowDays()), int(req.GetK()), nil
}

// LeaderRowsView converts a group's board.
func LeaderRowsView(rows []raftfsm.LeaderRow) []*ct.LeaderRow {
	out := make([]*ct.LeaderRow, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = &ct.LeaderRow{
			Rank: int32(r.Rank), Trader: int64(r.Trader), WindowDays: int32(r.WindowDays),
			RoiBps: r.ROIBps, Pnl: s(r.PnL), WinRateBps: r.WinRateBps, Wins: r.Wins, Losses: r.Losses,
			MaxDrawdownBps: r.MaxDrawdownBps, Copiers: int32(r.Copiers),
			AssetsUnderCopy: s(r.AssetsUnderCopy), CopierPnl: s(r.CopierPnL),
		}
	}
	return out
}

// MergeLeaderboards merges groups' boards into the top k over all of them, ordered as
// a group orders its own (metric descending, trader ID ascending), ranks renumbered.
// A group's rows come from its machine, so their decimals parse; one that does not
// ranks as 0.
func MergeLeaderboards(metric ct.LeaderMetric, k int, boards ...[]*ct.LeaderRow) []*ct.LeaderRow {
	var all []*ct.LeaderRow
	for _, b := range boards {
		all = append(all, b...)
	}
	slices.SortFunc(all, func(a, b *ct.LeaderRow) int {
		if c := cmp.Compare(leaderKey(b, metric), leaderKey(a, metric)); c != 0 {
			return c
		}
		return cmp.Compare(a.GetTrader(), b.GetTrader())
	})
	all = all[:min(k, len(all))]
	for i, r := range all {
		r.Rank = int32(i + 1)
	}
	return all
}

func leaderKey(r *ct.LeaderRow, metric ct.LeaderMetric) int64 {
	dec := func(v string) int64 {
		d, err := fixed.Parse(v)
		if err != nil {
			return 0
		}
		return d.Units()
	}
	switch metric {
	case ct.LeaderMetric_ROI:
		return r.GetRoiBps()
	case ct.LeaderMetric_PNL:
		return dec(r.GetPnl())
	case ct.LeaderMetric_WIN_RATE:
		return r.GetWinRateBps()
	case ct.LeaderMetric_COPIER_PNL:
		return dec(r.GetCopierPnl())
	case ct.LeaderMetric_ASSETS_UNDER_COPY:
		return dec(r.GetAssetsUnderCopy())
	}
	return int64(r.GetCopiers())
}
