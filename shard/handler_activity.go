package shard

import (
	"context"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// ListActivity answers a copier's (or, admin, a trader's) copy decisions from the
// machine's activity history: any replica at the same applied index answers the same.
func (h *Handler) ListActivity(ctx context.Context, req *ct.ListActivityRequest) (*ct.ListActivityResponse, error) {
	q, err := convert.ActivityQuery(req)
	if err != nil {
		return nil, bizErr(err)
	}
	opts := req.GetReadOpts()
	if opts == nil {
		opts = &ct.ReadOptions{}
	}
	out := &ct.ListActivityResponse{Records: []*ct.ActivityRecord{}}
	if err := h.read(ctx, opts, func(m *raftfsm.Machine) {
		recs, more := m.Activity(q)
		out.Records = make([]*ct.ActivityRecord, len(recs))
		for i := range recs {
			out.Records[i] = convert.ActivityView(&recs[i])
		}
		if more && len(recs) > 0 {
			out.NextAfter = convert.ActivityCursor(recs[len(recs)-1].Cursor())
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// SetActivityConfig sets this group's activity retention and consecutive-failure stop.
func (h *Handler) SetActivityConfig(ctx context.Context, req *ct.SetActivityConfigRequest) (*ct.CommandResponse, error) {
	c, err := convert.ActivityConfig(req)
	return h.command(ctx, &c, err, 0, 0)
}
