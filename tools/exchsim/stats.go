package exchsim

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// MaxAbsROIBps bounds ApplicantStats.ROIBps (±100000 %).
const MaxAbsROIBps = 10_000_000

// ApplicantStats is an account's track record on the venue, what a shard leader asks
// for when the account applies to lead (the applicant's own word is not taken).
type ApplicantStats struct {
	Account int64
	// ClosedTrades counts the executed orders that realised PnL: each reduced or closed
	// a position. WinRateBps is the share of them whose realised PnL net of their fee
	// is positive, in basis points (0 with no closed trade).
	ClosedTrades, WinRateBps int64
	// ROIBps is (equity - net deposits) / net deposits, in basis points, clamped to
	// ±MaxAbsROIBps; net deposits are what the wallet holds apart from trading results
	// (balance - realised PnL + fees). 0 when net deposits are not positive.
	ROIBps int64
	// Equity is balance plus unrealised PnL at the marks.
	Equity fixed.Dec
}

// ApplicantStats computes account's statistics from the venue's order history and its
// wallet. It reads every recorded order (applications are rare; the store is not
// indexed by account).
func (s *Sim) ApplicantStats(account int64) (ApplicantStats, error) {
	snap, err := s.AccountSnapshot(account)
	if err != nil {
		return ApplicantStats{}, err
	}
	st := ApplicantStats{Account: account, Equity: snap.Equity}
	var wins int64
	for i := range s.orders {
		sh := &s.orders[i]
		sh.mu.Lock()
		for n := 0; n < sh.nrecs; n++ {
			r := &sh.rec(n).res
			if sh.rec(n).pending || r.account != account || r.pnl == 0 ||
				r.status != Filled && r.status != PartiallyFilled {
				continue
			}
			st.ClosedTrades++
			if net, err := fixed.Sub(r.pnl, r.fee); err == nil && net > 0 {
				wins++
			}
		}
		sh.mu.Unlock()
	}
	if st.ClosedTrades > 0 {
		st.WinRateBps = wins * 10_000 / st.ClosedTrades
	}
	// Net deposits and the ROI in big integers: no fixed-point overflow to handle.
	base := new(big.Int).SetInt64(snap.Balance.Units())
	base.Sub(base, big.NewInt(snap.RealizedPnL.Units()))
	base.Add(base, big.NewInt(snap.FeesPaid.Units()))
	if base.Sign() > 0 {
		gain := new(big.Int).Sub(big.NewInt(snap.Equity.Units()), base)
		roi := gain.Mul(gain, big.NewInt(10_000))
		roi.Quo(roi, base)
		switch {
		case roi.Cmp(big.NewInt(MaxAbsROIBps)) > 0:
			st.ROIBps = MaxAbsROIBps
		case roi.Cmp(big.NewInt(-MaxAbsROIBps)) < 0:
			st.ROIBps = -MaxAbsROIBps
		default:
			st.ROIBps = roi.Int64()
		}
	}
	return st, nil
}

// ApplicantStats implements gateway.TradingGateway: the venue's track record of an
// account. An unknown account is UNKNOWN_ACCOUNT.
func (h *Handler) ApplicantStats(ctx context.Context, req *gateway.ApplicantStatsRequest) (*gateway.ApplicantStatsResponse, error) {
	if req.GetAccount() <= 0 {
		return nil, invalid("account: must be > 0, got %d", req.GetAccount())
	}
	st, err := h.sim.ApplicantStats(req.GetAccount())
	if err != nil {
		return nil, bizError(fmt.Errorf("applicant stats: %w", err))
	}
	return &gateway.ApplicantStatsResponse{
		Account: st.Account, WinRateBps: st.WinRateBps, RoiBps: st.ROIBps, ClosedTrades: st.ClosedTrades,
		Equity: st.Equity.String(), TimeUnixNano: time.Now().UnixNano(),
	}, nil
}
