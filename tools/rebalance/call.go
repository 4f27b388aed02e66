package rebalance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Labels of StepError.Step for calls that are not recorded steps.
const (
	stepObserve Step = "read ownership" // GetSlotOwnership of a group
	stepDrain   Step = "drain"          // SlotExport answering "pending orders"
)

// transient reports whether err may go away by itself: no leader yet, a node's
// UNAVAILABLE (including the router's "outcome unknown" for a command sent to a leader
// that died: every migration command is idempotent, so it is re-sent), a deadline, a
// rate limit, or a transport error that is not a business answer.
func transient(err error) bool {
	st, ok := convert.StatusOf(err)
	if !ok {
		return true
	}
	switch st.Code {
	case ct.ErrorCode_NOT_LEADER, ct.ErrorCode_UNAVAILABLE, ct.ErrorCode_DEADLINE, ct.ErrorCode_RATE_LIMITED:
		return true
	}
	return false
}

// refusedWith reports whether err is the business error code whose message contains
// sub ("" matches any message).
func refusedWith(err error, code ct.ErrorCode, sub string) bool {
	st, ok := convert.StatusOf(err)
	return ok && st.Code == code && strings.Contains(st.Msg, sub)
}

// isRefusal: the machine refused the command (a deterministic answer, 1000..1999).
func isRefusal(err error) bool {
	c := convert.CodeOf(err)
	return c >= convert.RefusalBase && c < 2*convert.RefusalBase
}

// describe renders a business error as "CODE: message", anything else as itself.
func describe(err error) string {
	if st, ok := convert.StatusOf(err); ok {
		if strings.HasPrefix(st.Msg, st.Code.String()+":") { // a machine refusal names its code
			return st.Msg
		}
		return fmt.Sprintf("%s: %s", st.Code, st.Msg)
	}
	return err.Error()
}

// call runs fn against group's leader through the router, re-sending after transient
// failures with backoff until StepTimeout. Errors come back as *StepError.
func (r *runner) call(ctx context.Context, step Step, group uint32, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(r.plan.StepTimeout)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			// Kitex may still send on a cancelled context: never start a step the
			// caller has given up on.
			return &StepError{Step: step, Group: group, Err: err}
		}
		cctx, cancel := context.WithTimeout(router.WithGroup(ctx, group), r.plan.CallTimeout)
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return &StepError{Step: step, Group: group, Err: fmt.Errorf("%w (last answer: %s)", ctx.Err(), describe(err))}
		}
		if !transient(err) {
			return &StepError{Step: step, Group: group, Permanent: true, Err: err}
		}
		if time.Now().Add(backoff).After(deadline) {
			return &StepError{Step: step, Group: group, Err: fmt.Errorf("still failing after %d attempts in %s: %w", attempt, r.plan.StepTimeout, err)}
		}
		r.log.Warn("step failed, retrying", "step", string(step), "group", group, "attempt", attempt, "err", describe(err))
		if !sleep(ctx, backoff) {
			return &StepError{Step: step, Group: group, Err: ctx.Err()}
		}
		backoff = min(2*backoff, time.Second)
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// permanent reports whether err is a *StepError the group answered with a refusal.
func permanent(err error) bool {
	var se *StepError
	return errors.As(err, &se) && se.Permanent
}
