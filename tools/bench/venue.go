package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// VenueResult is what a hostile venue (--venue-faults) did over the run and where it
// left the copy loop once the scenarios ended: every order the cluster planned is
// placed (filled at the venue), rejected, still pending (reconciled after the fence;
// the bench waits up to VenueSettle for them) or quarantined (a contract-breaking
// report, waiting for `ctl orders resolve`).
type VenueResult struct {
	FaultsInjected int64 `json:"faults_injected"` // rejects, bad reports, late/reordered/duplicated answers
	OrdersExpired  int64 `json:"orders_expired"`  // refused EXPIRED: never executed
	BadReports     int64 `json:"bad_reports"`     // contract-breaking reports sent
	OrdersCreated  int64 `json:"orders_created"`  // executed at the venue, rejected ones included
	OrdersRejected int64 `json:"orders_rejected"`
	Pending        int64 `json:"pending"`     // still pending in the groups after the wait
	Quarantined    int64 `json:"quarantined"` // QUARANTINED in the groups
}

// VenueSettle bounds the wait for pending orders after the scenarios.
const VenueSettle = 15 * time.Second

// venueOutcome reads exchsim's counters from its /metrics and the groups' pending and
// quarantined orders through the router.
func (r *runner) venueOutcome(ctx context.Context, groups int) (*VenueResult, error) {
	res := &VenueResult{}
	deadline := time.Now().Add(VenueSettle)
	for {
		res.Pending = 0
		for g := 1; g <= groups; g++ {
			st, err := r.groupStatus(ctx, uint32(g))
			if err != nil {
				return nil, fmt.Errorf("bench: venue outcome: group %d status: %w", g, err)
			}
			res.Pending += int64(st.GetPendingOrders())
		}
		if res.Pending == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	for g := 1; g <= groups; g++ {
		cctx, cancel := context.WithTimeout(router.WithGroup(auth.WithToken(ctx, r.cluster.AdminToken), uint32(g)), 5*time.Second)
		resp, err := r.ct.ListOrders(cctx, &ct.ListOrdersRequest{QuarantinedOnly: true, Limit: 10000, ReadOpts: &ct.ReadOptions{}})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("bench: venue outcome: group %d quarantined orders: %w", g, err)
		}
		res.Quarantined += int64(len(resp.GetOrders()))
	}
	if r.cluster.ExchsimHTTP == "" {
		return res, nil
	}
	fams, err := scrape(ctx, "http://"+r.cluster.ExchsimHTTP+"/metrics")
	if err != nil {
		return nil, err
	}
	for name, dst := range map[string]*int64{
		"copytrade_exchsim_faults_injected_total": &res.FaultsInjected,
		"copytrade_exchsim_orders_expired_total":  &res.OrdersExpired,
		"copytrade_exchsim_bad_reports_total":     &res.BadReports,
		"copytrade_exchsim_orders_created_total":  &res.OrdersCreated,
		"copytrade_exchsim_orders_rejected_total": &res.OrdersRejected,
	} {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) == 0 {
			r.missing = append(r.missing, "exchsim: "+name)
			continue
		}
		*dst = int64(f.GetMetric()[0].GetCounter().GetValue())
	}
	return res, nil
}

// write prints the venue line of the table.
func (v *VenueResult) write(w io.Writer) {
	fmt.Fprintf(w, "venue (--venue-faults): faults=%d expired=%d bad_reports=%d executed=%d rejected_at_venue=%d; afterwards pending=%d quarantined=%d\n",
		v.FaultsInjected, v.OrdersExpired, v.BadReports, v.OrdersCreated, v.OrdersRejected, v.Pending, v.Quarantined)
}
