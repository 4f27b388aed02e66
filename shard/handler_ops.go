package shard

import (
	"context"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// SetDrain drains or undrains a member (admin, the leader): see membership.go.
func (h *Handler) SetDrain(ctx context.Context, req *ct.SetDrainRequest) (*ct.MembershipResponse, error) {
	ctx, cancel := h.n.requestCtx(ctx, 0)
	defer cancel()
	idx, err := h.n.SetDrained(ctx, req.GetId(), req.GetDrained())
	if err != nil {
		return nil, bizErr(err)
	}
	return &ct.MembershipResponse{Index: int64(idx)}, nil
}

// stampFrozen sets when each FROZEN range's migration froze it (source side).
func stampFrozen(m *raftfsm.Machine, ranges []*ct.SlotRange) {
	for _, r := range ranges {
		if r.GetState() != ct.SlotState_FROZEN || r.GetMigration() == 0 {
			continue
		}
		if g, ok := m.MigrationInfo(raftfsm.MigrationID(r.GetMigration())); ok && g.FrozenAt > 0 {
			r.FrozenSinceUnixMs = g.FrozenAt / 1e6
		}
	}
}
