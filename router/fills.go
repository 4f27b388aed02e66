package router

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// Fills are the one write the router resends after an ambiguous failure (a member that
// took the request and then died, timed out or lost leadership): the machine
// deduplicates fills by (trader, trade ID), so a resend applies nothing twice. When a
// resend is answered DUPLICATE_FILL, the earlier attempt is what applied the fill: the
// caller gets a success whose outcome code is DUPLICATE_FILL (SubmitFill answers it as a
// response, not an error). See DESIGN.md, "Exactly once through the router".

// duplicateMsg is the message of a fill an earlier attempt of the same call applied.
const duplicateMsg = "applied: an earlier attempt of this call reached the group before it failed over; the resend was deduplicated (trader, trade_id)"

// nodeBudget caps a request's timeout_ms by what is left of ctx, less a margin, so the
// node answers before the router's deadline.
func nodeBudget(ctx context.Context, ms int32) int32 {
	dl, ok := ctx.Deadline()
	if !ok {
		return ms
	}
	left := time.Until(dl)
	left -= max(2*time.Millisecond, left/20)
	l := int32(max(left.Milliseconds(), 1))
	if ms == 0 || l < ms {
		return l
	}
	return ms
}

func (h *Handler) SubmitFill(ctx context.Context, req *ct.SubmitFillRequest) (*ct.SubmitFillResponse, error) {
	if _, err := convert.SubmitFill(req); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, req.GetTimeoutMs())
	defer cancel()
	trader := req.Fill.Trader
	var resp *ct.SubmitFillResponse
	tr, err := h.r.bySlot(ctx, "SubmitFill", trader, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
		fwd := *req
		fwd.Trader = trader
		fwd.TimeoutMs = nodeBudget(ctx, req.TimeoutMs)
		resp, err = c.SubmitFill(ctx, &fwd, o...)
		return err
	})
	if err != nil && tr.ambiguous && convert.CodeOf(err) == ct.ErrorCode_DUPLICATE_FILL {
		o := convert.Outcome(req.Fill, ct.ErrorCode_DUPLICATE_FILL, duplicateMsg)
		return &ct.SubmitFillResponse{Outcome: o}, nil
	}
	return resp, err
}

// SubmitFills validates the batch at the edge and forwards it (ForwardFills).
func (h *Handler) SubmitFills(ctx context.Context, req *ct.SubmitFillsRequest) (*ct.SubmitFillsResponse, error) {
	out, err := h.r.ForwardFills(ctx, req)
	if err != nil {
		return nil, h.invalid(err)
	}
	return &ct.SubmitFillsResponse{Outcomes: out}, nil
}

// ForwardFills is the router's fill forwarding, shared by the SubmitFills handler and
// by the Kafka ingest (package ingest), which runs a Router in process without serving
// it. It validates req (an error names the field when the batch as a whole is invalid;
// a fill failing validation gets an INVALID_ARGUMENT outcome), splits the rest by
// owning group, forwards the parts in parallel and answers one outcome per fill in
// input order. Fills whose outcome says NOT_LEADER, MOVED, NOT_OWNED or MOVING are
// sent again (to the new owner, after a backoff for MOVING) until the deadline (ctx's,
// req.timeout_ms or RequestTimeout); every other outcome is final. The caller's token
// rides along from ctx.
func (r *Router) ForwardFills(ctx context.Context, req *ct.SubmitFillsRequest) ([]*ct.FillOutcome, error) {
	_, errs, err := convert.SubmitFills(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := r.bounded(ctx, req.GetTimeoutMs())
	defer cancel()
	out := make([]*ct.FillOutcome, len(req.Fills))
	ambiguous := make([]bool, len(req.Fills))
	var pending []int
	for i, e := range errs {
		if e != nil {
			r.metrics.refusals.WithLabelValues(ct.ErrorCode_INVALID_ARGUMENT.String()).Inc()
			out[i] = convert.Outcome(req.Fills[i], ct.ErrorCode_INVALID_ARGUMENT, e.Error())
			continue
		}
		pending = append(pending, i)
	}
	backoff := 0
	for round := 0; len(pending) > 0; round++ {
		if round > 0 && (ctx.Err() != nil || round >= r.cfg.MaxAttempts || !r.sleep(ctx, &backoff)) {
			break
		}
		byGroup := map[uint32][]int{}
		seen := r.refreshGen.Load()
		for _, i := range pending {
			rt := r.slots.get(slotOf(req.Fills[i].Trader))
			if rt.group == 0 {
				_ = r.refresh(ctx, seen)
				rt = r.slots.get(slotOf(req.Fills[i].Trader))
			}
			if rt.group == 0 {
				out[i] = convert.Outcome(req.Fills[i], ct.ErrorCode_UNAVAILABLE,
					fmt.Sprintf("router: no group is known to own slot %d", slotOf(req.Fills[i].Trader)))
				continue
			}
			byGroup[rt.group] = append(byGroup[rt.group], i)
		}
		var mu sync.Mutex
		var next []int
		relearn := false
		var wg sync.WaitGroup
		for g, idx := range byGroup {
			wg.Add(1)
			go func() {
				defer wg.Done()
				part := &ct.SubmitFillsRequest{Fills: make([]*ct.Fill, len(idx)), Wait: req.Wait}
				for k, i := range idx {
					part.Fills[k] = req.Fills[i]
				}
				var resp *ct.SubmitFillsResponse
				tr, err := r.byGroup(ctx, "SubmitFills", g, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
					p := *part
					p.TimeoutMs = nodeBudget(ctx, req.TimeoutMs)
					resp, err = c.SubmitFills(ctx, &p, o...)
					return err
				})
				mu.Lock()
				defer mu.Unlock()
				for _, i := range idx {
					ambiguous[i] = ambiguous[i] || tr.ambiguous
				}
				if err == nil && len(resp.GetOutcomes()) != len(idx) {
					err = fmt.Errorf("router: group %d answered %d outcomes for %d fills", g, len(resp.GetOutcomes()), len(idx))
				}
				if err != nil {
					st, _ := convert.StatusOf(bizErr(err))
					for _, i := range idx {
						out[i] = convert.Outcome(req.Fills[i], st.Code, st.Msg)
					}
					return
				}
				for k, i := range idx {
					o := resp.Outcomes[k]
					out[i] = o
					switch o.GetCode() {
					case ct.ErrorCode_NOT_LEADER:
						ambiguous[i] = true
						r.leaders.Delete(g)
						r.metrics.follows.WithLabelValues("not_leader").Inc()
						next = append(next, i)
					case ct.ErrorCode_MOVED:
						r.metrics.follows.WithLabelValues("moved").Inc()
						if !r.slots.offer(slotOf(o.Trader), uint32(o.Group), uint64(o.Epoch)) {
							relearn = true
						}
						next = append(next, i)
					case ct.ErrorCode_NOT_OWNED:
						relearn = true
						r.metrics.follows.WithLabelValues("not_owned").Inc()
						next = append(next, i)
					case ct.ErrorCode_MOVING:
						r.metrics.follows.WithLabelValues("moving").Inc()
						next = append(next, i)
					case ct.ErrorCode_DUPLICATE_FILL:
						if ambiguous[i] {
							o.Message = duplicateMsg
						}
					}
				}
			}()
		}
		wg.Wait()
		if relearn {
			_ = r.refresh(ctx, seen)
		}
		pending = next
	}
	return out, nil
}
