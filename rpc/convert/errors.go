package convert

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// ErrInvalidArgument is wrapped by every *FieldError: a request field failed edge validation.
var ErrInvalidArgument = errors.New("invalid argument")

// RefusalBase is added to a raftfsm.Code to form its ErrorCode.
const RefusalBase = 1000

// FieldError is one invalid request field.
type FieldError struct {
	Field   string // dotted path, e.g. "fill.qty", "fills[3].price", "settings.instruments[2]"
	Problem string // a plain sentence fragment: "must be > 0", "is not a decimal: ..."
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Unwrap makes errors.Is(err, ErrInvalidArgument) hold.
func (e *FieldError) Unwrap() error { return ErrInvalidArgument }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// RefusalCode is the ErrorCode of a machine refusal code: 1000 + code, except that a
// field the machine refuses is INVALID_ARGUMENT (2004) like a field the edge refuses: one
// shape for one kind of refusal (REFUSED_INVALID_ARGUMENT, 1001, is no longer sent).
func RefusalCode(c raftfsm.Code) ct.ErrorCode {
	if c == raftfsm.CodeInvalidArgument {
		return ct.ErrorCode_INVALID_ARGUMENT
	}
	return ct.ErrorCode(RefusalBase + int64(c))
}

// RefusalMessage is a refusal's message as the RPC edge sends it: without the code's
// name (the code travels beside it), a refused field named as the edge names fields
// ("settings.multiplier", not "Settings.Multiplier"), MOVED with its owner.
func RefusalMessage(r *raftfsm.Refusal) string {
	switch r.Code {
	case raftfsm.CodeInvalidArgument:
		if i := strings.Index(r.Msg, ": "); i > 0 {
			return SnakePath(r.Msg[:i]) + r.Msg[i:]
		}
	case raftfsm.CodeMoved:
		return fmt.Sprintf("%s (group %d, epoch %d)", r.Msg, r.Group, r.Epoch)
	}
	return r.Msg
}

// SnakePath turns the machine's Go field path ("Settings.MaxOrderNotional",
// "Results[3].FilledQty") into the IDL's ("settings.max_order_notional",
// "results[3].filled_qty"). Words of capitals stay one word ("ClientOrderID" →
// "client_order_id").
func SnakePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' {
			prevLower := i > 0 && ('a' <= p[i-1] && p[i-1] <= 'z' || '0' <= p[i-1] && p[i-1] <= '9')
			nextLower := i+1 < len(p) && 'a' <= p[i+1] && p[i+1] <= 'z'
			prevUpper := i > 0 && 'A' <= p[i-1] && p[i-1] <= 'Z'
			if prevLower || (prevUpper && nextLower) {
				b.WriteByte('_')
			}
			b.WriteByte(c + 'a' - 'A')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// BizError builds the Kitex business status error for code.
func BizError(code ct.ErrorCode, msg string, extra map[string]string) error {
	if len(extra) == 0 {
		return kerrors.NewBizStatusError(int32(code), msg)
	}
	return kerrors.NewBizStatusErrorWithExtra(int32(code), msg, extra)
}

// RefusalError maps a machine refusal to its business error; MOVED carries the owner's
// group and epoch as extras.
func RefusalError(r *raftfsm.Refusal) error {
	if r.Code == raftfsm.CodeMoved {
		return BizError(RefusalCode(r.Code), RefusalMessage(r), map[string]string{
			ct.EXTRA_GROUP: strconv.FormatUint(uint64(r.Group), 10),
			ct.EXTRA_EPOCH: strconv.FormatUint(r.Epoch, 10),
		})
	}
	return BizError(RefusalCode(r.Code), RefusalMessage(r), nil)
}

// NotLeaderError is NOT_LEADER with the leader's RPC address (empty when unknown).
func NotLeaderError(leaderID, leaderAddr string) error {
	msg := "not the leader"
	if leaderAddr != "" {
		msg += "; the leader is " + leaderID + " at " + leaderAddr
	} else {
		msg += "; no leader known"
	}
	return BizError(ct.ErrorCode_NOT_LEADER, msg, map[string]string{
		ct.EXTRA_LEADER_ADDR: leaderAddr,
		ct.EXTRA_LEADER_ID:   leaderID,
	})
}

// ExtraOutcome is the NOT_LEADER extra saying whether the command may have been
// applied anyway: ExtraOutcomeUnknown when the node lost leadership after the command
// entered its log (it may still commit under the next leader). Absent, the command
// never entered the log and may be sent to the leader. Clients must not resend a
// non-idempotent call after an unknown outcome without checking first.
const (
	ExtraOutcome        = "outcome"
	ExtraOutcomeUnknown = "unknown"
)

// NotLeaderMaybeAppliedError is NOT_LEADER for a command that entered the log before
// leadership was lost: it names the leader as NotLeaderError does, and says the
// outcome is unknown.
func NotLeaderMaybeAppliedError(leaderID, leaderAddr string) error {
	msg := "not the leader; leadership was lost after the command was appended, so it may still commit"
	if leaderAddr != "" {
		msg += "; the leader is " + leaderID + " at " + leaderAddr
	}
	return BizError(ct.ErrorCode_NOT_LEADER, msg, map[string]string{
		ct.EXTRA_LEADER_ADDR: leaderAddr,
		ct.EXTRA_LEADER_ID:   leaderID,
		ExtraOutcome:         ExtraOutcomeUnknown,
	})
}

// EdgeError maps err to a business error when it is a *FieldError or a *raftfsm.Refusal
// (or wraps one); ok is false otherwise, for the caller to map its own errors.
func EdgeError(err error) (biz error, ok bool) {
	var fe *FieldError
	if errors.As(err, &fe) {
		return BizError(ct.ErrorCode_INVALID_ARGUMENT, fe.Error(), nil), true
	}
	var r *raftfsm.Refusal
	if errors.As(err, &r) {
		return RefusalError(r), true
	}
	return nil, false
}

// Status is a decoded business error, for clients (router, ctl, tests).
type Status struct {
	Code  ct.ErrorCode
	Msg   string
	Extra map[string]string
}

// StatusOf decodes a business status error (or the declared CopyTradeError); ok is
// false for transport and other errors.
func StatusOf(err error) (Status, bool) {
	be, ok := kerrors.FromBizStatusError(err)
	if !ok {
		return exceptionStatus(err)
	}
	return Status{Code: ct.ErrorCode(be.BizStatusCode()), Msg: be.BizMessage(), Extra: be.BizExtra()}, true
}

// CodeOf is StatusOf(err).Code, or 0 when err is not a business error.
func CodeOf(err error) ct.ErrorCode {
	s, _ := StatusOf(err)
	return s.Code
}
