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

// Admin calls. Instruments, rules and settlement are per group state that every group
// needs, so the router broadcasts them to every group (or to the one named with
// WithGroup); group calls (slot migration, membership, no-op, status, ownership) go to
// the group named with WithGroup, which they require.

// broadcastCommand sends a replayable command (an upsert: a resend after an unknown
// outcome answers as the first send) to every group and merges the answers:
// the lowest group's index and timings, the orders planned summed.
func (h *Handler) broadcastCommand(ctx context.Context, method string, verr error,
	call func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error)) (*ct.CommandResponse, error) {
	if verr != nil {
		return nil, h.invalid(verr)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var mu sync.Mutex
	answers := map[uint32]*ct.CommandResponse{}
	err := h.r.scatter(ctx, method, safe, func(ctx context.Context, g uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := call(ctx, c, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		answers[g] = resp
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mergeCommands(answers), nil
}

func mergeCommands(answers map[uint32]*ct.CommandResponse) *ct.CommandResponse {
	ids := make([]uint32, 0, len(answers))
	for g := range answers {
		ids = append(ids, g)
	}
	slices.Sort(ids)
	var out *ct.CommandResponse
	for _, g := range ids {
		a := answers[g]
		if out == nil {
			c := *a
			out = &c
			continue
		}
		out.OrdersPlanned += a.GetOrdersPlanned()
		out.Placed += a.GetPlaced()
		out.Rejected += a.GetRejected()
		out.Pending += a.GetPending()
	}
	return out
}

func (h *Handler) UpsertInstrument(ctx context.Context, req *ct.UpsertInstrumentRequest) (*ct.CommandResponse, error) {
	_, verr := convert.Instrument(req)
	return h.broadcastCommand(ctx, "UpsertInstrument", verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.UpsertInstrument(ctx, req, o...)
	})
}

func (h *Handler) SetRules(ctx context.Context, req *ct.SetRulesRequest) (*ct.CommandResponse, error) {
	_, verr := convert.Rules(req)
	return h.broadcastCommand(ctx, "SetRules", verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SetRules(ctx, req, o...)
	})
}

// Settle settles the period in every group; entries are merged by settlement ID and the
// index is the lowest group's.
func (h *Handler) Settle(ctx context.Context, req *ct.SettleRequest) (*ct.SettleResponse, error) {
	if _, err := convert.Settle(req); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var mu sync.Mutex
	out := &ct.SettleResponse{}
	lowest := uint32(0)
	err := h.r.scatter(ctx, "Settle", once, func(ctx context.Context, g uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := c.Settle(ctx, req, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		out.Entries = append(out.Entries, resp.GetEntries()...)
		if lowest == 0 || g < lowest {
			lowest, out.Index = g, resp.GetIndex()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out.Entries, func(a, b *ct.SettlementEntry) int { return cmp.Compare(a.GetSettlementId(), b.GetSettlementId()) })
	return out, nil
}

// group forwards a group call to the group named with WithGroup.
func group[R any](h *Handler, ctx context.Context, method string, mode resend, verr error,
	call func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (R, error)) (R, error) {
	var zero R
	if verr != nil {
		return zero, h.invalid(verr)
	}
	g, err := targetGroup(ctx)
	if err != nil {
		return zero, err
	}
	if g == 0 {
		return zero, h.invalid(invalidField("group", fmt.Sprintf("%s is a group call: name the group in metainfo %s (router.WithGroup)", method, GroupKey)))
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var resp R
	_, err = h.r.byGroup(ctx, method, g, mode, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
		resp, err = call(ctx, c, o...)
		return err
	})
	return resp, err
}

func migrationErr(v int64) error {
	_, err := convert.Migration(v)
	return err
}

func (h *Handler) SlotFreeze(ctx context.Context, req *ct.SlotFreezeRequest) (*ct.CommandResponse, error) {
	_, verr := convert.SlotFreeze(req)
	return group(h, ctx, "SlotFreeze", safe, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SlotFreeze(ctx, req, o...)
	})
}

func (h *Handler) SlotExport(ctx context.Context, req *ct.SlotExportRequest) (*ct.SlotExportResponse, error) {
	return group(h, ctx, "SlotExport", safe, migrationErr(req.GetMigration()), func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.SlotExportResponse, error) {
		return c.SlotExport(ctx, req, o...)
	})
}

func (h *Handler) SlotImport(ctx context.Context, req *ct.SlotImportRequest) (*ct.CommandResponse, error) {
	_, verr := convert.SlotImport(req)
	return group(h, ctx, "SlotImport", safe, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SlotImport(ctx, req, o...)
	})
}

func (h *Handler) SlotRelease(ctx context.Context, req *ct.SlotReleaseRequest) (*ct.CommandResponse, error) {
	return group(h, ctx, "SlotRelease", safe, migrationErr(req.GetMigration()), func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SlotRelease(ctx, req, o...)
	})
}

func (h *Handler) SlotAbort(ctx context.Context, req *ct.SlotAbortRequest) (*ct.CommandResponse, error) {
	return group(h, ctx, "SlotAbort", safe, migrationErr(req.GetMigration()), func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SlotAbort(ctx, req, o...)
	})
}

func (h *Handler) SlotUnfreeze(ctx context.Context, req *ct.SlotUnfreezeRequest) (*ct.CommandResponse, error) {
	return group(h, ctx, "SlotUnfreeze", safe, migrationErr(req.GetMigration()), func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SlotUnfreeze(ctx, req, o...)
	})
}

func (h *Handler) GetSlotOwnership(ctx context.Context, req *ct.GetSlotOwnershipRequest) (*ct.GetSlotOwnershipResponse, error) {
	return group(h, ctx, "GetSlotOwnership", safe, nil, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.GetSlotOwnershipResponse, error) {
		return c.GetSlotOwnership(ctx, req, o...)
	})
}

func (h *Handler) GroupStatus(ctx context.Context, req *ct.GroupStatusRequest) (*ct.GroupStatusResponse, error) {
	return group(h, ctx, "GroupStatus", safe, nil, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.GroupStatusResponse, error) {
		return c.GroupStatus(ctx, req, o...)
	})
}

func (h *Handler) Noop(ctx context.Context, req *ct.NoopRequest) (*ct.NoopResponse, error) {
	return group(h, ctx, "Noop", safe, nil, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.NoopResponse, error) {
		return c.Noop(ctx, req, o...)
	})
}

func (h *Handler) AddMember(ctx context.Context, req *ct.AddMemberRequest) (*ct.MembershipResponse, error) {
	var verr error
	if req.GetId() == "" || req.GetRaftAddr() == "" || req.GetRpcAddr() == "" {
		verr = invalidField("id", "id, raft_addr and rpc_addr are required")
	}
	return group(h, ctx, "AddMember", once, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.MembershipResponse, error) {
		return c.AddMember(ctx, req, o...)
	})
}

func (h *Handler) RemoveMember(ctx context.Context, req *ct.RemoveMemberRequest) (*ct.MembershipResponse, error) {
	var verr error
	if req.GetId() == "" {
		verr = invalidField("id", "is required")
	}
	return group(h, ctx, "RemoveMember", once, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.MembershipResponse, error) {
		return c.RemoveMember(ctx, req, o...)
	})
}

func (h *Handler) TransferLeadership(ctx context.Context, req *ct.TransferLeadershipRequest) (*ct.MembershipResponse, error) {
	return group(h, ctx, "TransferLeadership", once, nil, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.MembershipResponse, error) {
		return c.TransferLeadership(ctx, req, o...)
	})
}
