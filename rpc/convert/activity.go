package convert

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Activity pages (ListActivity).
const (
	DefaultActivityPage = 100
	MaxActivityPage     = int(ct.MAX_ACTIVITY_PAGE)
)

// ActivityQuery validates a ListActivity request into the machine's query.
// Copier or trader (or both) must be set.
func ActivityQuery(req *ct.ListActivityRequest) (raftfsm.ActivityQuery, error) {
	var q raftfsm.ActivityQuery
	if req == nil {
		return q, fieldErr("req", "is required")
	}
	if req.Copier < 0 {
		return q, fieldErr("copier", "must be > 0, or 0 for every copier of trader")
	}
	if req.Trader < 0 {
		return q, fieldErr("trader", "must be > 0, or 0 for every trader of copier")
	}
	if req.Copier == 0 && req.Trader == 0 {
		return q, fieldErr("copier", "is required unless trader is set")
	}
	if req.SinceUnixNano < 0 {
		return q, fieldErr("since_unix_nano", "must be >= 0")
	}
	if req.Limit < 0 || int(req.Limit) > MaxActivityPage {
		return q, fieldErr("limit", "must be 0..%d", MaxActivityPage)
	}
	after, err := ParseActivityCursor(req.After)
	if err != nil {
		return q, err
	}
	q = raftfsm.ActivityQuery{Copier: raftfsm.AccountID(req.Copier), Trader: raftfsm.AccountID(req.Trader),
		Since: req.SinceUnixNano, After: after, Limit: int(req.Limit)}
	if q.Limit == 0 {
		q.Limit = DefaultActivityPage
	}
	return q, nil
}

// ActivityCursor is the opaque page cursor after a: "time.trader.id".
func ActivityCursor(c raftfsm.ActivityCursor) string {
	return strconv.FormatInt(c.Time, 10) + "." + strconv.FormatInt(int64(c.Trader), 10) + "." + strconv.FormatUint(c.ID, 10)
}

// ParseActivityCursor reads ActivityCursor's form ("" = the start).
func ParseActivityCursor(s string) (raftfsm.ActivityCursor, error) {
	var c raftfsm.ActivityCursor
	if s == "" {
		return c, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(s) > 64 {
		return c, fieldErr("after", "is not a cursor from next_after")
	}
	t, err1 := strconv.ParseInt(parts[0], 10, 64)
	tr, err2 := strconv.ParseInt(parts[1], 10, 64)
	id, err3 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return c, fieldErr("after", "is not a cursor from next_after")
	}
	return raftfsm.ActivityCursor{Time: t, Trader: raftfsm.AccountID(tr), ID: id}, nil
}

// ActivityView is the Thrift form of one record.
func ActivityView(a *raftfsm.Activity) *ct.ActivityRecord {
	out := &ct.ActivityRecord{
		Copier: int64(a.Copier), Trader: int64(a.Trader), Id: int64(a.ID), TimeUnixNano: a.Time,
		Origin: a.Origin.String(), Instrument: a.Instrument, Effect: ct.OrderEffect(a.Effect), Side: ct.Side(a.Side),
		TradeId: a.TradeID, SignalTimeUnixNano: a.SignalTime, SignalPrice: s(a.SignalPrice),
		Qty: s(a.Qty), LimitPrice: s(a.LimitPrice), FilledQty: s(a.FilledQty), AvgPrice: s(a.AvgPrice), Fee: s(a.Fee),
		ClientOrderId: a.ClientOrderID, Reason: a.Reason, ResultTimeUnixNano: a.ResultTime,
	}
	switch a.Kind {
	case raftfsm.ActivityOrder:
		out.Kind = "ORDER"
		out.Status = a.Status.String()
	case raftfsm.ActivitySkip:
		out.Kind = "SKIP"
		out.SkipReason = a.Skip.String()
		if a.Cap != raftfsm.CapNone {
			out.Cap = a.Cap.String()
		}
	default:
		out.Kind = fmt.Sprintf("KIND_%d", a.Kind)
	}
	return out
}

// ActivityConfig validates SetActivityConfig.
func ActivityConfig(req *ct.SetActivityConfigRequest) (raftfsm.ActivityConfig, error) {
	var c raftfsm.ActivityConfig
	if req == nil {
		return c, fieldErr("req", "is required")
	}
	maxSec := raftfsm.MaxActivityKeepNanos / 1e9
	if req.KeepSeconds < 0 || req.KeepSeconds > maxSec {
		return c, fieldErr("keep_seconds", "must be 0..%d (400 days; 0 = 30 days)", maxSec)
	}
	if req.KeepPerFollow < 0 || req.KeepPerFollow > raftfsm.MaxActivityKeepPerFollow {
		return c, fieldErr("keep_per_follow", "must be 0..%d (0 = %d)", raftfsm.MaxActivityKeepPerFollow, raftfsm.DefaultActivityKeepPerFollow)
	}
	if req.MaxConsecutiveFailures < 0 || req.MaxConsecutiveFailures > raftfsm.MaxMaxConsecutiveFailures {
		return c, fieldErr("max_consecutive_failures", "must be 0..%d (0 = %d)", raftfsm.MaxMaxConsecutiveFailures, raftfsm.DefaultMaxConsecutiveFailures)
	}
	return raftfsm.ActivityConfig{KeepNanos: req.KeepSeconds * 1e9, KeepPerFollow: req.KeepPerFollow,
		MaxConsecutiveFailures: req.MaxConsecutiveFailures}, nil
}

// FollowEx validates a follow with the options of issue 14.
func FollowEx(req *ct.FollowRequest) (raftfsm.FollowEx, error) {
	var out raftfsm.FollowEx
	f, err := Follow(req)
	if err != nil {
		return out, err
	}
	out.Follow = f
	if req.InviteCode != "" && !raftfsm.ValidInviteCode(req.InviteCode) {
		return out, fieldErr("invite_code", "must be %d..%d letters, digits, - or _", raftfsm.MinInviteCodeLen, raftfsm.MaxInviteCodeLen)
	}
	switch req.ClosePolicy {
	case ct.ClosePolicy_COPY_CLOSES, ct.ClosePolicy_LEAVE_TO_COPIER:
	default:
		return out, fieldErr("close_policy", "must be COPY_CLOSES or LEAVE_TO_COPIER")
	}
	out.InviteCode, out.ClosePolicy, out.CopyOpenPositions = req.InviteCode, raftfsm.ClosePolicy(req.ClosePolicy), req.CopyOpenPositions
	return out, nil
}

// TraderInvite validates an invite command.
func TraderInvite(req *ct.TraderInviteRequest) (raftfsm.TraderInvite, error) {
	var out raftfsm.TraderInvite
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	id, err := TraderID(req.Trader)
	if err != nil {
		return out, err
	}
	out.Trader = id
	switch req.Action {
	case ct.InviteAction_SET_PRIVATE, ct.InviteAction_SET_PUBLIC:
	case ct.InviteAction_ISSUE, ct.InviteAction_REVOKE:
		if !raftfsm.ValidInviteCode(req.Code) {
			return out, fieldErr("code", "must be %d..%d letters, digits, - or _", raftfsm.MinInviteCodeLen, raftfsm.MaxInviteCodeLen)
		}
	default:
		return out, fieldErr("action", "must be SET_PRIVATE, SET_PUBLIC, ISSUE or REVOKE")
	}
	if req.ExpiresAtUnixNano < 0 {
		return out, fieldErr("expires_at_unix_nano", "must be >= 0")
	}
	if req.MaxUses < 0 {
		return out, fieldErr("max_uses", "must be >= 0")
	}
	out.Action, out.Code, out.ExpiresAtUnixNano, out.MaxUses = raftfsm.InviteAction(req.Action), req.Code, req.ExpiresAtUnixNano, req.MaxUses
	return out, nil
}

// InvitesView is the Thrift form of a trader's invites.
func InvitesView(t *raftfsm.TraderView) *ct.ListInvitesResponse {
	out := &ct.ListInvitesResponse{InviteOnly: t.InviteOnly, Invites: make([]*ct.Invite, len(t.Invites))}
	for i, v := range t.Invites {
		out.Invites[i] = &ct.Invite{Code: v.Code, ExpiresAtUnixNano: v.ExpiresAt, MaxUses: v.MaxUses, Used: v.Used, Revoked: v.Revoked}
	}
	return out
}

// QualityView is the Thrift form of a copy quality.
func QualityView(q *raftfsm.Quality, windowDays int, copier raftfsm.AccountID) *ct.CopyQuality {
	return &ct.CopyQuality{
		WindowDays: int32(windowDays), Copier: int64(copier), Orders: int32(q.Orders), Filled: int32(q.Filled),
		LatencySamples: int32(q.Timed), LatencyP50Us: q.LatencyP50 / 1000, LatencyP99Us: q.LatencyP99 / 1000,
		SlippageMeanBps: centiBps(q.SlippageMean), SlippageP90Bps: centiBps(q.SlippageP90), FillRatioBps: q.FillRatioBps,
	}
}

// centiBps formats hundredths of a bp as a decimal with two places ("-1.05").
func centiBps(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// QualityWindow validates window_days (7 or 30; 0 = 30) into nanoseconds.
func QualityWindow(days int32) (int, int64, error) {
	switch days {
	case 0:
		days = 30
	case 7, 30:
	default:
		return 0, 0, fieldErr("window_days", "must be 7 or 30; got %d", days)
	}
	return int(days), int64(days) * 24 * 3600 * 1e9, nil
}

// ClosePolicy validates SetClosePolicy.
func ClosePolicy(req *ct.SetClosePolicyRequest) (raftfsm.FollowClosePolicy, error) {
	var out raftfsm.FollowClosePolicy
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Trader, out.Copier, err = pair(req.Trader, req.Copier); err != nil {
		return out, err
	}
	switch req.ClosePolicy {
	case ct.ClosePolicy_COPY_CLOSES, ct.ClosePolicy_LEAVE_TO_COPIER:
	default:
		return out, fieldErr("close_policy", "must be COPY_CLOSES or LEAVE_TO_COPIER")
	}
	out.ClosePolicy = raftfsm.ClosePolicy(req.ClosePolicy)
	return out, nil
}
