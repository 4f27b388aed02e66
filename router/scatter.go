package router

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// scatter runs call at the leader of every group of the topology (or only of the group
// the caller named) in parallel. Partial answers would be silently wrong (a copier with
// a missing group looks like one with fewer follows), so any group's failure fails the
// call, naming the group.
func (r *Router) scatter(ctx context.Context, method string, mode resend, call func(ctx context.Context, g uint32, c copytrade.Client, o ...callopt.Option) error) error {
	target, err := targetGroup(ctx)
	if err != nil {
		return err
	}
	var groups []uint32
	for _, g := range r.topo.Load().Groups {
		if target == 0 || g.ID == target {
			groups = append(groups, g.ID)
		}
	}
	if len(groups) == 0 {
		return convert.BizError(ct.ErrorCode_INVALID_ARGUMENT, fmt.Sprintf("group: %d is not in the router's topology", target), nil)
	}
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.byGroup(ctx, method, g, mode, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) error {
				return call(ctx, g, c, o...)
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			st, ok := convert.StatusOf(err)
			if !ok {
				return bizErr(fmt.Errorf("group %d: %w", groups[i], err))
			}
			return convert.BizError(st.Code, fmt.Sprintf("group %d: %s", groups[i], st.Msg), st.Extra)
		}
	}
	return nil
}

func (h *Handler) ListCopierFollows(ctx context.Context, req *ct.ListCopierFollowsRequest) (*ct.ListCopierFollowsResponse, error) {
	if err := positiveID("copier", req.GetCopier()); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var mu sync.Mutex
	out := &ct.ListCopierFollowsResponse{}
	err := h.r.scatter(ctx, "ListCopierFollows", safe, func(ctx context.Context, _ uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := c.ListCopierFollows(ctx, req, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		out.Follows = append(out.Follows, resp.GetFollows()...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out.Follows, func(a, b *ct.FollowView) int { return cmp.Compare(a.GetTrader(), b.GetTrader()) })
	return out, nil
}

func (h *Handler) GetPositions(ctx context.Context, req *ct.GetPositionsRequest) (*ct.GetPositionsResponse, error) {
	if err := firstErr(positiveID("copier", req.GetCopier()), optID("trader", req.GetTrader())); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	if req.Trader > 0 {
		var resp *ct.GetPositionsResponse
		_, err := h.r.bySlot(ctx, "GetPositions", req.Trader, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
			resp, err = c.GetPositions(ctx, req, o...)
			return err
		})
		return resp, err
	}
	var mu sync.Mutex
	out := &ct.GetPositionsResponse{Copier: req.Copier}
	err := h.r.scatter(ctx, "GetPositions", safe, func(ctx context.Context, _ uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := c.GetPositions(ctx, req, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		out.ByTrader = append(out.ByTrader, resp.GetByTrader()...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out.ByTrader, func(a, b *ct.CopierPositions) int { return cmp.Compare(a.GetTrader(), b.GetTrader()) })
	return out, nil
}

func (h *Handler) ListOrders(ctx context.Context, req *ct.ListOrdersRequest) (*ct.ListOrdersResponse, error) {
	if err := validateListOrders(req); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	if req.Trader > 0 {
		var resp *ct.ListOrdersResponse
		_, err := h.r.bySlot(ctx, "ListOrders", req.Trader, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
			resp, err = c.ListOrders(ctx, req, o...)
			return err
		})
		return resp, err
	}
	var mu sync.Mutex
	out := &ct.ListOrdersResponse{}
	err := h.r.scatter(ctx, "ListOrders", safe, func(ctx context.Context, _ uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := c.ListOrders(ctx, req, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		out.Orders = append(out.Orders, resp.GetOrders()...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out.Orders, func(a, b *ct.Order) int { return cmp.Compare(a.GetClientOrderId(), b.GetClientOrderId()) })
	limit := int(req.Limit)
	if limit == 0 {
		limit = convert.DefaultOrdersPage
	}
	if len(out.Orders) > limit {
		out.Orders = out.Orders[:limit]
	}
	return out, nil
}

// ListSettlements of one trader goes to its group; of every trader, to every group,
// merged by settlement ID, with last_settled_period the lowest of the groups' (the
// period every group has settled).
func (h *Handler) ListSettlements(ctx context.Context, req *ct.ListSettlementsRequest) (*ct.ListSettlementsResponse, error) {
	if err := validateListSettlements(req); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	if req.Trader > 0 {
		var resp *ct.ListSettlementsResponse
		_, err := h.r.bySlot(ctx, "ListSettlements", req.Trader, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
			resp, err = c.ListSettlements(ctx, req, o...)
			return err
		})
		return resp, err
	}
	var mu sync.Mutex
	out := &ct.ListSettlementsResponse{LastSettledPeriod: -1}
	err := h.r.scatter(ctx, "ListSettlements", safe, func(ctx context.Context, _ uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := c.ListSettlements(ctx, req, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		out.Entries = append(out.Entries, resp.GetEntries()...)
		if out.LastSettledPeriod < 0 || resp.GetLastSettledPeriod() < out.LastSettledPeriod {
			out.LastSettledPeriod = resp.GetLastSettledPeriod()
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out.Entries, func(a, b *ct.SettlementEntry) int { return cmp.Compare(a.GetSettlementId(), b.GetSettlementId()) })
	return out, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
