package raftfsm

import (
	"errors"
	"fmt"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Sentinel errors for failures that are not refusals. A refusal is a result
// value every replica computes alike (Result.Refusal); these mean the log or
// the machine itself is broken, and surface as panics from Apply (the only
// safe reaction for a replicated state machine) or as errors from
// CheckInvariants.
var (
	// ErrCorruptEntry: a committed log entry does not decode. Apply panics
	// with an error wrapping it and the entry's index.
	ErrCorruptEntry = errors.New("raftfsm: corrupt log entry")
	// ErrInvariant: a state invariant does not hold (a bug). CheckInvariants
	// returns it; planning panics with it when a follow would exceed its
	// allocation, since that can only be a sizing bug.
	ErrInvariant = errors.New("raftfsm: invariant violated")
)

// Limits the machine adds to those in types.go. They keep every product of
// two validated inputs inside the fixed.Dec range (about 9.2e10), so sizing
// overflows only on adversarial combinations and is then refused per copier.
const (
	// maxAllocation bounds FollowSettings.Allocation: 10^8 × MaxLeverage stays
	// below the Dec range, so a follow's notional always fits.
	maxAllocation = fixed.Dec(100_000_000) * fixed.One
	// maxSlippageBps bounds FollowSettings.SlippageBps (a sell limit must stay > 0).
	maxSlippageBps = 5_000
	// maxMultiplier bounds FollowSettings.Multiplier.
	maxMultiplier = fixed.Dec(1_000) * fixed.One
	// maxTakeProfitBps bounds FollowSettings.TakeProfitBps (1000 % of allocation).
	maxTakeProfitBps = 100_000
)

// New returns an empty machine: no group, no slots owned, nothing applied.
// The first entry of a group's log is a Bootstrap.
func New() *Machine {
	return &Machine{
		instruments: make(map[string]*Instrument),
		traders:     make(map[AccountID]*TraderState),
		orders:      make(map[string]*OrderState),
		migrations:  make(map[MigrationID]*Migration),
		marks:       make(map[string]fixed.Dec),
		settlements: make(map[string]*SettlementRecord),
		members:     make(map[string]*GroupMember),
	}
}

// AppliedIndex is the index of the last applied log entry.
func (m *Machine) AppliedIndex() uint64 { return m.applied }

// Group is this machine's shard group; 0 until Bootstrap.
func (m *Machine) Group() GroupID { return m.group }

// Apply decodes one committed log entry and applies it. An entry that does
// not decode means the log is corrupt: Apply panics with an error wrapping
// ErrCorruptEntry, because no replica may skip an entry the others applied.
func (m *Machine) Apply(index uint64, data []byte) *Result {
	env, err := Decode(data)
	if err != nil {
		panic(fmt.Errorf("%w: index %d (%d bytes): %w", ErrCorruptEntry, index, len(data), err))
	}
	return m.ApplyEnvelope(index, env)
}

// ApplyEnvelope applies an already decoded entry. Commands are pointers
// (*TradeFill, *OrderResults, ...), as Decode returns them. The machine's
// clock becomes env.TimeUnixNano and its applied index becomes index, even
// when the command is refused (a refusal is an applied entry).
func (m *Machine) ApplyEnvelope(index uint64, env Envelope) *Result {
	m.now = env.TimeUnixNano
	m.applied = index
	r := &Result{Index: index}
	if env.Cmd == nil {
		r.Refusal = newRefusal(CodeInvalidArgument, "command: missing")
		return r
	}
	r.Op = env.Cmd.Op()
	switch c := env.Cmd.(type) {
	case *Noop:
	case *Bootstrap:
		r.Refusal = m.applyBootstrap(c)
	case *InstrumentUpsert:
		r.Refusal = m.applyInstrument(c)
	case *RulesSet:
		r.Refusal = m.applyRules(c)
	case *TraderApply:
		r.Refusal = m.applyTraderApply(c)
	case *TraderUpdate:
		r.Refusal = m.applyTraderUpdate(c)
	case *TraderPause:
		r.Refusal = m.applyTraderPause(c.Trader, true)
	case *TraderResume:
		r.Refusal = m.applyTraderPause(c.Trader, false)
	case *TraderExit:
		r.Refusal = m.applyTraderExit(c, r)
	case *Follow:
		r.Refusal = m.applyFollow(c)
	case *FollowUpdate:
		r.Refusal = m.applyFollowUpdate(c)
	case *FollowPause:
		r.Refusal = m.applyFollowPause(c.Copier, c.Trader, true)
	case *FollowResume:
		r.Refusal = m.applyFollowPause(c.Copier, c.Trader, false)
	case *Unfollow:
		r.Refusal = m.applyUnfollow(c, r)
	case *TradeFill:
		r.Refusal = m.applyTradeFill(c, r)
	case *OrderResults:
		r.Refusal = m.applyOrderResults(c, r)
	case *MarkPrices:
		r.Refusal = m.applyMarkPrices(c, r) // marks.go
	case *Settle:
		r.Settlements, r.Refusal = m.applySettle(c) // settle.go
		if r.Refusal == nil {
			m.pruneActivity() // daily: idle follows' records age out (activity.go)
		}
	case *SettlementPaid:
		r.Refusal = m.applySettlementPaid(c)
	case *SlotFreeze: // slot moves: migrate.go
		r.Refusal = m.applySlotFreeze(c)
	case *SlotExport:
		r.Export, r.Refusal = m.applySlotExport(c)
	case *SlotImport:
		r.Refusal = m.applySlotImport(c)
	case *SlotRelease:
		r.Refusal = m.applySlotRelease(c)
	case *SlotAbort:
		r.Refusal = m.applySlotAbort(c)
	case *SlotUnfreeze:
		r.Refusal = m.applySlotUnfreeze(c)
	case *OrderResolve:
		r.Refusal = m.applyOrderResolve(c, r) // quarantine.go
	case *MemberUpdate:
		r.Refusal = m.applyMemberUpdate(c) // members.go
	case *ActivityConfig:
		r.Refusal = m.applyActivityConfig(c) // activity.go
	case *FollowEx:
		r.Refusal = m.applyFollowEx(c, r) // follow_options.go
	case *TraderInvite:
		r.Refusal = m.applyTraderInvite(c)
	case *FollowClosePolicy:
		r.Refusal = m.applyFollowClosePolicy(c) // follow_options.go
	case *OrderResultsTimed:
		r.Refusal = m.applyOrderResults(&OrderResults{Results: c.Results}, r) // quality.go
		r.Op = OpOrderResultsTimed
	default:
		// A command type this dispatcher does not know is a programming
		// error (a new op without its apply function), not a refusal.
		panic(fmt.Sprintf("raftfsm: index %d: no apply for command %T", index, env.Cmd))
	}
	if r.Refusal == nil && (len(r.Orders) > 0 || len(r.Skips) > 0) {
		m.noteDecisions(index, env.Cmd, r) // activity.go
	}
	return r
}

// newRefusal builds a refusal with a fixed message.
func newRefusal(code Code, msg string) *Refusal {
	return &Refusal{Code: code, Msg: msg}
}

// invalid is a CodeInvalidArgument refusal naming the offending field.
func invalid(field, problem string) *Refusal {
	return &Refusal{Code: CodeInvalidArgument, Msg: field + ": " + problem}
}

// overflow is a CodeOverflow refusal naming where the arithmetic overflowed.
func overflow(where string) *Refusal {
	return &Refusal{Code: CodeOverflow, Msg: where + ": fixed-point overflow"}
}

// checkOwned refuses a trader-scoped command whose trader's slot is not
// served here. Frozen slots answer Moving; order results bypass this check
// (they drain a frozen slot).
func (m *Machine) checkOwned(trader AccountID) *Refusal {
	s := &m.slots[SlotOf(trader)]
	switch s.State {
	case SlotOwned:
		return nil
	case SlotFrozen:
		return newRefusal(CodeMoving, "slot is moving")
	case SlotReleased:
		return &Refusal{Code: CodeMoved, Msg: "slot moved", Group: s.MovedTo, Epoch: s.Epoch}
	}
	return newRefusal(CodeNotOwned, "slot not owned by this group")
}
