package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/copytrade/copytrade/router"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// RouterBackend forwards fills and learns the lead-trader set through a router.Router
// running in this process (router.New without Start: no server, the same forwarding
// code, slot map and leader caches as `copytrade router`).
type RouterBackend struct {
	R *router.Router
	// Auth, if set, adds the ingest's token to every call's context (a trading-system
	// token: SubmitFills and ListLeadTraders).
	Auth func(context.Context) context.Context
}

func (b *RouterBackend) ctx(ctx context.Context) context.Context {
	if b.Auth != nil {
		return b.Auth(ctx)
	}
	return ctx
}

// ForwardFills implements Forwarder with router.ForwardFills.
func (b *RouterBackend) ForwardFills(ctx context.Context, req *ct.SubmitFillsRequest) ([]*ct.FillOutcome, error) {
	return b.R.ForwardFills(b.ctx(ctx), req)
}

// LeadTraders implements LeadSource: every group of the router's topology, each read
// from its leader (so a trader whose ApplyTrader was acknowledged before the call is in
// the answer), page by page.
func (b *RouterBackend) LeadTraders(ctx context.Context) ([]int64, error) {
	h := b.R.Handler()
	var out []int64
	var errs []error
	for _, g := range b.R.Topology().Groups {
		after := int64(0)
		for {
			resp, err := h.ListLeadTraders(router.WithGroup(b.ctx(ctx), g.ID), &ct.ListLeadTradersRequest{AfterTrader: after})
			if err != nil {
				errs = append(errs, fmt.Errorf("group %d: %w", g.ID, err))
				break
			}
			out = append(out, resp.Traders...)
			if resp.NextAfterTrader == 0 {
				break
			}
			after = resp.NextAfterTrader
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ingest: lead traders: %w", errors.Join(errs...))
	}
	return out, nil
}
