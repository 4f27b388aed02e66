package exchsim

import (
	"context"
	"errors"
	"testing"

	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// TestApplicantStatsFromHistory: the venue's statistics follow the account's own
// orders: one winning and one losing close give 2 closed trades at a 50 % win rate,
// opening orders are not trades, other accounts' orders do not count, and ROI is the
// equity's change over the net deposits.
func TestApplicantStatsFromHistory(t *testing.T) {
	s := newSim(t, nil)
	const acct, other = 501, 502
	if st, err := s.ApplicantStats(acct); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("unknown account: %+v %v", st, err)
	}
	round := func(a int64, exit string) {
		place1(t, s, mkt(a, "BTCUSDT", Buy, Long, "0.1"))
		if err := s.SetMark("BTCUSDT", d(exit)); err != nil {
			t.Fatal(err)
		}
		o := mkt(a, "BTCUSDT", Sell, Long, "0.1")
		o.ReduceOnly = true
		place1(t, s, o)
		if err := s.SetMark("BTCUSDT", d("60000")); err != nil {
			t.Fatal(err)
		}
	}
	round(acct, "61000")                                 // +~100 before fees: a win
	round(acct, "59000")                                 // -~100: a loss
	round(other, "70000")                                // someone else's win
	place1(t, s, mkt(acct, "BTCUSDT", Buy, Long, "0.1")) // open, not closed: not a trade
	st, err := s.ApplicantStats(acct)
	if err != nil {
		t.Fatal(err)
	}
	if st.ClosedTrades != 2 || st.WinRateBps != 5000 {
		t.Fatalf("stats %+v, want 2 closed trades at 5000 bps", st)
	}
	snap, _ := s.AccountSnapshot(acct)
	if st.Equity != snap.Equity || st.ROIBps >= 0 { // two round trips of fees and a spread: a loss
		t.Fatalf("stats %+v, equity %s: want the snapshot's equity and a negative ROI", st, snap.Equity)
	}
	ost, _ := s.ApplicantStats(other)
	if ost.ClosedTrades != 1 || ost.WinRateBps != 10000 || ost.ROIBps <= 0 {
		t.Fatalf("other account %+v, want 1 winning trade and a positive ROI", ost)
	}
	// Over the handler, as a node sees it.
	resp, err := NewHandler(s).ApplicantStats(context.Background(), &gateway.ApplicantStatsRequest{Account: other})
	if err != nil || resp.ClosedTrades != 1 || resp.WinRateBps != 10000 || resp.Equity != ost.Equity.String() {
		t.Fatalf("handler: %+v %v", resp, err)
	}
}
