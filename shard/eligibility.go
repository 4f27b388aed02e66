package shard

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// Eligibility comes from the trading system, not from the applicant (design §6): for
// an application without statistics (every account's: rpc/auth refuses an account
// that states its own) the leader asks the gateway for the applicant's track record
// and stamps it into the TraderApply command, so every replica judges the same
// numbers and the log records where they came from.

// ApplicantStats implements Gateway.
func (g *KitexGateway) ApplicantStats(ctx context.Context, req *gateway.ApplicantStatsRequest) (*gateway.ApplicantStatsResponse, error) {
	return g.c.ApplicantStats(ctx, req, timeout(ctx)...)
}

// stampApplicantStats fills c.Stats from the gateway; only the leader asks (a
// follower answers NOT_LEADER as for any command). A gateway that cannot answer is
// ErrGatewayDown; one that answers with an error (no such account) or with values out
// of range is an invalid application, naming the field.
func (n *Node) stampApplicantStats(ctx context.Context, c *raftfsm.TraderApply) error {
	if !n.IsLeader() {
		return n.leaderHint()
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.DispatchTimeout)
	defer cancel()
	resp, err := n.gw.ApplicantStats(ctx, &gateway.ApplicantStatsRequest{Account: int64(c.Trader)})
	if err != nil {
		if be, ok := kerrors.FromBizStatusError(err); ok {
			return &convert.FieldError{Field: "trader", Problem: "the trading system has no track record of it: " + be.BizMessage()}
		}
		return fmt.Errorf("shard: applicant stats of %d: %w: %w", c.Trader, ErrGatewayDown, err)
	}
	if resp.GetAccount() != int64(c.Trader) {
		return fmt.Errorf("shard: applicant stats of %d: %w: the gateway answered for account %d", c.Trader, ErrGatewayDown, resp.GetAccount())
	}
	equity := resp.GetEquity()
	if strings.HasPrefix(equity, "-") {
		equity = "0" // underwater: no equity to lead with (and ineligible under any minimum)
	}
	stats, err := convert.ApplicantStats("venue_stats", &ct.ApplicantStats{
		WinRateBps: resp.GetWinRateBps(), RoiBps: resp.GetRoiBps(), ClosedTrades: resp.GetClosedTrades(), Equity: equity,
	})
	if err != nil {
		return err
	}
	c.Stats = stats
	n.log.Info("applicant statistics from the trading system", "trader", int64(c.Trader),
		"win_rate_bps", stats.WinRateBps, "roi_bps", stats.ROIBps, "closed_trades", stats.ClosedTrades, "equity", stats.Equity.String())
	return nil
}
