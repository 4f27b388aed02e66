package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/bytedance/gopkg/cloud/metainfo"
	"github.com/cloudwego/kitex/client/callopt"
	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// resend says whether a call may be sent again after a failure that leaves its outcome
// unknown (the request was sent, no answer came back).
type resend bool

const (
	// safe: reads, and fills (the machine deduplicates fills by trader and trade ID).
	safe resend = true
	// once: commands. A second send could answer a refusal (FOLLOW_EXISTS, ...) for a
	// command the first send applied; the caller gets ErrAmbiguous instead.
	once resend = false
)

// attempt is one call at one member: it stores its own response and returns the error.
type attempt func(ctx context.Context, c copytrade.Client, opts ...callopt.Option) error

// trace records what happened across the attempts of one forwarded call.
type trace struct {
	attempts  int
	ambiguous bool // an earlier attempt may have been applied (sent and not answered, or NOT_LEADER)
}

// Outcome labels of the forward histogram.
const (
	outOK      = "ok"
	outRefused = "refused"
	outError   = "error"
)

// bounded applies the router's default budget when ctx has no deadline; timeoutMs > 0
// (a request's own budget) shortens it.
func (r *Router) bounded(ctx context.Context, timeoutMs int32) (context.Context, context.CancelFunc) {
	d := r.cfg.RequestTimeout
	if timeoutMs > 0 {
		d = min(d, time.Duration(timeoutMs)*time.Millisecond)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// callOpts bound one attempt by what is left of ctx.
func (r *Router) callOpts(ctx context.Context) []callopt.Option {
	opts := []callopt.Option{callopt.WithConnectTimeout(r.cfg.ConnectTimeout)}
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, callopt.WithRPCTimeout(max(time.Until(dl), time.Millisecond)))
	}
	return opts
}

// bySlot forwards a call about trader to the leader of the group owning its slot,
// following NOT_LEADER, MOVED, NOT_OWNED and MOVING until ctx's deadline or
// MaxAttempts. The caller's token rides along.
func (r *Router) bySlot(ctx context.Context, method string, trader int64, mode resend, fn attempt) (trace, error) {
	slot := slotOf(trader)
	start := time.Now()
	ctx = auth.ForwardToken(ctx, ctx)
	var tr trace
	var last error
	backoff := 0
	for tr.attempts < r.cfg.MaxAttempts && ctx.Err() == nil {
		seen := r.refreshGen.Load()
		rt := r.slots.get(slot)
		if rt.group == 0 {
			if err := r.refresh(ctx, seen); err != nil {
				last = err
			}
			if rt = r.slots.get(slot); rt.group == 0 {
				last = fmt.Errorf("%w: no group is known to own slot %d (trader %d): %w", ErrUnavailable, slot, trader, last)
				if !r.sleep(ctx, &backoff) {
					break
				}
				continue
			}
		}
		g, ok := r.topo.Load().group(rt.group)
		if !ok {
			return tr, r.done(method, start, fmt.Errorf("%w: slot %d is owned by group %d, which the topology does not list; reload a topology that has it",
				ErrUnavailable, slot, rt.group))
		}
		err := r.tryGroup(ctx, method, g, mode, fn, &tr)
		if err == nil {
			return tr, r.done(method, start, nil)
		}
		last = err
		st, biz := convert.StatusOf(err)
		switch {
		case biz && st.Code == ct.ErrorCode_MOVED:
			r.metrics.follows.WithLabelValues("moved").Inc()
			grp, _ := strconv.ParseUint(st.Extra[ct.EXTRA_GROUP], 10, 32)
			ep, _ := strconv.ParseUint(st.Extra[ct.EXTRA_EPOCH], 10, 64)
			if grp == 0 || !r.slots.offer(slot, uint32(grp), ep) {
				// Not newer than what we hold: our entry is stale in another way
				// (or the hint is); relearn from the groups.
				_ = r.refresh(ctx, seen)
				if !r.sleep(ctx, &backoff) {
					return tr, r.done(method, start, last)
				}
			}
			r.log.Debug("slot moved", "slot", slot, "group", grp, "epoch", ep)
		case biz && st.Code == ct.ErrorCode_NOT_OWNED:
			r.metrics.follows.WithLabelValues("not_owned").Inc()
			_ = r.refresh(ctx, seen)
			if !r.sleep(ctx, &backoff) {
				return tr, r.done(method, start, last)
			}
		case biz && st.Code == ct.ErrorCode_MOVING:
			r.metrics.follows.WithLabelValues("moving").Inc()
			if !r.sleep(ctx, &backoff) {
				return tr, r.done(method, start, last)
			}
		case errors.Is(err, errNoLeader):
			r.metrics.follows.WithLabelValues("no_leader").Inc()
			if !r.sleep(ctx, &backoff) {
				return tr, r.done(method, start, last)
			}
		default: // an answer (refusal), a dead group, an ambiguous command
			return tr, r.done(method, start, err)
		}
	}
	return tr, r.done(method, start, r.exhausted(ctx, fmt.Sprintf("trader %d (slot %d)", trader, slot), tr, last))
}

// byGroup forwards a call to the leader of group id, following NOT_LEADER.
func (r *Router) byGroup(ctx context.Context, method string, id uint32, mode resend, fn attempt) (trace, error) {
	start := time.Now()
	ctx = auth.ForwardToken(ctx, ctx)
	var tr trace
	g, ok := r.topo.Load().group(id)
	if !ok {
		return tr, r.done(method, start, convert.BizError(ct.ErrorCode_INVALID_ARGUMENT,
			fmt.Sprintf("group: %d is not in the router's topology", id), nil))
	}
	var last error
	backoff := 0
	for tr.attempts < r.cfg.MaxAttempts && ctx.Err() == nil {
		err := r.tryGroup(ctx, method, g, mode, fn, &tr)
		if err == nil || !errors.Is(err, errNoLeader) {
			return tr, r.done(method, start, err)
		}
		last = err
		r.metrics.follows.WithLabelValues("no_leader").Inc()
		if !r.sleep(ctx, &backoff) {
			break
		}
	}
	return tr, r.done(method, start, r.exhausted(ctx, fmt.Sprintf("group %d", id), tr, last))
}

// errNoLeader: every reachable member said NOT_LEADER without a usable hint (an
// election is running); retry after a backoff.
var errNoLeader = errors.New("no leader known")

// tryGroup runs fn at g's leader: the cached one first, then each member, hopping to
// the leader a NOT_LEADER names. A member that refuses connections is skipped. It
// returns nil, the member's error (a business error or an ambiguous failure), errNoLeader
// (wrapped) or an UNAVAILABLE naming the group when no member could be reached.
func (r *Router) tryGroup(ctx context.Context, method string, g *GroupSpec, mode resend, fn attempt, tr *trace) error {
	order := r.memberOrder(g)
	tried := make(map[string]bool, len(order))
	var errs []error
	connFailed := 0
	next := func() string {
		for _, a := range order {
			if !tried[a] {
				return a
			}
		}
		return ""
	}
	addr := next()
	for addr != "" && ctx.Err() == nil {
		tried[addr] = true
		tr.attempts++
		cli, err := r.pool.get(addr)
		if err != nil {
			return err
		}
		t0 := time.Now()
		err = fn(ctx, cli, r.callOpts(ctx)...)
		r.metrics.attempt.WithLabelValues(method).Observe(time.Since(t0).Seconds())
		if err == nil {
			r.leaders.Store(g.ID, addr)
			r.pool.markUp(addr)
			return nil
		}
		st, biz := convert.StatusOf(err)
		switch {
		case biz && st.Code == ct.ErrorCode_NOT_LEADER:
			if st.Extra[convert.ExtraOutcome] == convert.ExtraOutcomeUnknown {
				// The member appended the call before losing leadership: it may commit.
				r.leaders.CompareAndDelete(g.ID, addr)
				if mode == once {
					return fmt.Errorf("%w: %s to group %d at %s: %s; check before retrying",
						ErrAmbiguous, method, g.ID, addr, st.Msg)
				}
			}
			// A resendable call (a fill: dedup makes a resend harmless) may have been
			// committed by this member before it lost leadership.
			tr.ambiguous = true
			r.metrics.follows.WithLabelValues("not_leader").Inc()
			r.leaders.CompareAndDelete(g.ID, addr)
			errs = append(errs, fmt.Errorf("%s: %s", addr, st.Msg))
			if hint, ok := g.rpcAddrOf(st.Extra[ct.EXTRA_LEADER_ADDR]); ok && !tried[hint] {
				r.leaders.Store(g.ID, hint)
				addr = hint
				continue
			}
			addr = next()
		case biz:
			r.leaders.Store(g.ID, addr)
			return err
		case isConnErr(err):
			// Never sent: skip the member.
			r.metrics.follows.WithLabelValues("member_down").Inc()
			r.pool.markDown(addr)
			r.leaders.CompareAndDelete(g.ID, addr)
			connFailed++
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			addr = next()
		default:
			// Sent, no answer: the member may have applied it.
			r.leaders.CompareAndDelete(g.ID, addr)
			if mode == once {
				return fmt.Errorf("%w: %s to group %d at %s failed after it was sent, so it may have been applied; check before retrying: %w",
					ErrAmbiguous, method, g.ID, addr, err)
			}
			tr.ambiguous = true
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			addr = next()
		}
	}
	if connFailed == len(g.Members) {
		return fmt.Errorf("%w: group %d: no member reachable: %w", ErrUnavailable, g.ID, errors.Join(errs...))
	}
	return fmt.Errorf("group %d: %w: %w", g.ID, errNoLeader, errors.Join(errs...))
}

// sleep waits the next backoff step (exponential, full jitter) or until ctx ends; false
// when ctx ended.
func (r *Router) sleep(ctx context.Context, step *int) bool {
	d := r.cfg.BackoffBase << min(*step, 20)
	d = min(d, r.cfg.BackoffMax)
	*step++
	d = time.Duration(rand.Int64N(int64(d)) + 1)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// exhausted is the error of a call that ran out of deadline or attempts.
func (r *Router) exhausted(ctx context.Context, what string, tr trace, last error) error {
	if st, ok := convert.StatusOf(last); ok && st.Code == ct.ErrorCode_MOVING {
		return convert.BizError(ct.ErrorCode_MOVING, fmt.Sprintf("%s: the slot is still moving after %d attempts; retry later: %s", what, tr.attempts, st.Msg), nil)
	}
	why := "the deadline passed"
	if ctx.Err() == nil {
		why = fmt.Sprintf("%d attempts were used", tr.attempts)
	}
	return fmt.Errorf("%w: %s: %s before a leader answered: %w", ErrUnavailable, what, why, last)
}

// done records the call's latency and maps router errors to business errors.
func (r *Router) done(method string, start time.Time, err error) error {
	out := outOK
	if err != nil {
		err = bizErr(err)
		out = outRefused
		if c := convert.CodeOf(err); c == ct.ErrorCode_UNAVAILABLE || c == ct.ErrorCode_DEADLINE || c == ct.ErrorCode_INTERNAL {
			out = outError
		}
	}
	r.metrics.forward.WithLabelValues(method, out).Observe(time.Since(start).Seconds())
	return err
}

// bizErr maps an error to a CopyTrade business error: business errors pass through.
func bizErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := kerrors.FromBizStatusError(err); ok {
		return err
	}
	if b, ok := convert.EdgeError(err); ok {
		return b
	}
	switch {
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrAmbiguous), errors.Is(err, errNoLeader):
		return convert.BizError(ct.ErrorCode_UNAVAILABLE, err.Error(), nil)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return convert.BizError(ct.ErrorCode_DEADLINE, "router: "+err.Error(), nil)
	}
	return convert.BizError(ct.ErrorCode_INTERNAL, "router: "+err.Error(), nil)
}

// isConnErr: the request never left (no connection could be made).
func isConnErr(err error) bool { return errors.Is(err, kerrors.ErrGetConnection) }

// GroupKey is the metainfo key naming the target group of a group call through the
// router (slot migration, membership, no-op, group status, slot ownership) and,
// optionally, of a broadcast admin call (instrument, rules, settle).
const GroupKey = "COPYTRADE_GROUP"

// WithGroup returns ctx naming group as the target of group calls through a router.
func WithGroup(ctx context.Context, group uint32) context.Context {
	return metainfo.WithValue(ctx, GroupKey, strconv.FormatUint(uint64(group), 10))
}

// targetGroup is the group named by the caller (0 when none).
func targetGroup(ctx context.Context) (uint32, error) {
	v, ok := metainfo.GetValue(ctx, GroupKey)
	if !ok || v == "" {
		return 0, nil
	}
	g, err := strconv.ParseUint(v, 10, 32)
	if err != nil || g == 0 {
		return 0, convert.BizError(ct.ErrorCode_INVALID_ARGUMENT, fmt.Sprintf("group: metainfo %s must be a group ID > 0, got %q", GroupKey, v), nil)
	}
	return uint32(g), nil
}
