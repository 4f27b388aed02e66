package convert

import (
	"errors"
	"fmt"
	"strconv"

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

// RefusalCode is the ErrorCode of a machine refusal code: 1000 + code.
func RefusalCode(c raftfsm.Code) ct.ErrorCode { return ct.ErrorCode(RefusalBase + int64(c)) }

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
		return BizError(RefusalCode(r.Code), r.Error(), map[string]string{
			ct.EXTRA_GROUP: strconv.FormatUint(uint64(r.Group), 10),
			ct.EXTRA_EPOCH: strconv.FormatUint(r.Epoch, 10),
		})
	}
	return BizError(RefusalCode(r.Code), r.Error(), nil)
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

// StatusOf decodes a business status error; ok is false for transport and other errors.
func StatusOf(err error) (Status, bool) {
	be, ok := kerrors.FromBizStatusError(err)
	if !ok {
		return Status{}, false
	}
	return Status{Code: ct.ErrorCode(be.BizStatusCode()), Msg: be.BizMessage(), Extra: be.BizExtra()}, true
}

// CodeOf is StatusOf(err).Code, or 0 when err is not a business error.
func CodeOf(err error) ct.ErrorCode {
	s, _ := StatusOf(err)
	return s.Code
}
