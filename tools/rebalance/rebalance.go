// Package rebalance moves a set of slots from one shard group to another through a
// router (design §5, raftfsm DESIGN.md "Slot moves"):
//
//	source  SlotFreeze → drain (SlotExport answers "pending orders: N") → SlotExport ─┐
//	target                                                     SlotImport (commit) ◀──┘
//	source  SlotRelease
//	abort:  target SlotAbort (refused once imported) → source SlotUnfreeze
//
// Every step is idempotent on the machines, so the tool re-sends a step whose outcome
// it does not know. Progress is kept in a small state file (written after each step,
// temp-then-rename with fsync); on restart the file is a lower bound that the groups'
// slot ownership corrects, and the run continues from the first step not yet done.
// DESIGN.md says why it is built this way.
package rebalance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Client is the part of the CopyTrade client the tool uses: a client of a router
// (group calls are targeted with router.WithGroup). copytrade.Client satisfies it.
type Client interface {
	SlotFreeze(ctx context.Context, req *ct.SlotFreezeRequest, opts ...callopt.Option) (*ct.CommandResponse, error)
	SlotExport(ctx context.Context, req *ct.SlotExportRequest, opts ...callopt.Option) (*ct.SlotExportResponse, error)
	SlotImport(ctx context.Context, req *ct.SlotImportRequest, opts ...callopt.Option) (*ct.CommandResponse, error)
	SlotRelease(ctx context.Context, req *ct.SlotReleaseRequest, opts ...callopt.Option) (*ct.CommandResponse, error)
	SlotAbort(ctx context.Context, req *ct.SlotAbortRequest, opts ...callopt.Option) (*ct.CommandResponse, error)
	SlotUnfreeze(ctx context.Context, req *ct.SlotUnfreezeRequest, opts ...callopt.Option) (*ct.CommandResponse, error)
	GetSlotOwnership(ctx context.Context, req *ct.GetSlotOwnershipRequest, opts ...callopt.Option) (*ct.GetSlotOwnershipResponse, error)
}

// Plan is one migration to run. Slots, From and To name it; the rest has defaults.
type Plan struct {
	// Slots to move: sorted, unique, 0..16383.
	Slots []int32
	// From is the source group, To the target group.
	From, To uint32
	// Migration is the migration ID; 0 derives it from (Slots, From, To, target epoch,
	// attempt) with DeriveID, so a restarted tool without its state file finds it again.
	Migration int64
	// DrainTimeout bounds waiting for the frozen slots' pending orders to drain; past it
	// the migration is aborted. Default 30 s.
	DrainTimeout time.Duration
	// StepTimeout bounds the retries of one step after transient failures (no leader,
	// UNAVAILABLE, DEADLINE, transport errors). Default 60 s.
	StepTimeout time.Duration
	// CallTimeout bounds one RPC. Default 30 s.
	CallTimeout time.Duration
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called after each step is done and recorded.
	Progress func(Event)
}

// Event is one finished step, for progress output.
type Event struct {
	Step      Step
	Group     uint32 // the group the step ran on
	Migration int64
	Epoch     int64
	Detail    string // a short human sentence
}

// Step is a migration step, as recorded in the state file. The forward steps are in
// order; StepAborted and StepUnfrozen are the abort path.
type Step string

const (
	StepPlanned  Step = "planned"  // ID and epoch chosen; nothing sent yet
	StepFrozen   Step = "frozen"   // source: slots frozen (answer MOVING)
	StepExported Step = "exported" // source: drained and exported
	StepImported Step = "imported" // target: imported (the commit point)
	StepReleased Step = "released" // source: released (answers MOVED): done
	StepAborted  Step = "aborted"  // target: aborted forever
	StepUnfrozen Step = "unfrozen" // source: serves again: abort done
)

// rank orders the forward steps; the abort steps are not ranked against them.
func (s Step) rank() int {
	return slices.Index([]Step{StepPlanned, StepFrozen, StepExported, StepImported, StepReleased}, s)
}

// Outcome is how a migration ended.
type Outcome string

const (
	OutcomeMoved   Outcome = "moved"
	OutcomeAborted Outcome = "aborted"
)

// Report is what a run did.
type Report struct {
	Migration int64
	Epoch     int64
	Attempt   int
	From, To  uint32
	Slots     []int32
	Outcome   Outcome // "" when the run failed before an outcome
	// Resumed is the step found done at start (from the state file and the groups), ""
	// on a fresh run.
	Resumed Step
	// ExportIndex is the source's log index of the export; ExportBytes and Checksum
	// describe its data (0 when this run did not export).
	ExportIndex int64
	ExportBytes int
	Checksum    uint64
	// ImportIndex and ReleaseIndex are the log indexes of the import and the release
	// (0 when this run did not send them).
	ImportIndex, ReleaseIndex int64
	// DrainWaits counts exports answered "pending orders".
	DrainWaits int
	// AbortRefused: Abort found the migration imported and finished the move instead.
	AbortRefused bool
	// Reason says why the migration was aborted.
	Reason  string
	Elapsed time.Duration
}

// Sentinel errors; errors.Is works through *StepError.
var (
	// ErrAborted: the migration ended aborted (this run decided it after a permanent
	// failure before the import, or found it aborted by someone else). The slots are
	// served by the source again.
	ErrAborted = errors.New("migration aborted")
	// ErrConflict: the groups' state does not fit this plan (the slots are in another
	// migration, not owned by the source, or the state file is for another plan).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: the export is over rpc/convert.MaxSlotImportBytes; move fewer slots.
	ErrTooLarge = errors.New("export too large")
	// ErrDrainTimeout: the frozen slots' pending orders did not drain in time.
	ErrDrainTimeout = errors.New("pending orders did not drain")
)

// StepError is a failed step: which step, on which group, and why.
type StepError struct {
	Step  Step
	Group uint32
	// Permanent: the group refused the step (retrying cannot help); false for
	// transient failures that outlived StepTimeout, and cancellation.
	Permanent bool
	Err       error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s on group %d: %s", e.Step.action(), e.Group, describe(e.Err))
}

// action names the call that performs step, for errors.
func (s Step) action() string {
	switch s {
	case StepFrozen:
		return "freeze (SlotFreeze)"
	case StepExported:
		return "export (SlotExport)"
	case StepImported:
		return "import (SlotImport)"
	case StepReleased:
		return "release (SlotRelease)"
	case StepAborted:
		return "abort (SlotAbort)"
	case StepUnfrozen:
		return "unfreeze (SlotUnfreeze)"
	case stepDrain:
		return "drain (SlotExport)"
	}
	return string(s)
}

func (e *StepError) Unwrap() error { return e.Err }

func (p *Plan) withDefaults() Plan {
	q := *p
	if q.DrainTimeout <= 0 {
		q.DrainTimeout = 30 * time.Second
	}
	if q.StepTimeout <= 0 {
		q.StepTimeout = 60 * time.Second
	}
	if q.CallTimeout <= 0 {
		q.CallTimeout = 30 * time.Second
	}
	if q.Logger == nil {
		q.Logger = slog.New(slog.DiscardHandler)
	}
	return q
}

// Validate returns nil or an error naming every problem.
func (p *Plan) Validate() error {
	var errs []error
	if len(p.Slots) == 0 || len(p.Slots) > numSlots {
		errs = append(errs, fmt.Errorf("slots: need 1..%d, got %d", numSlots, len(p.Slots)))
	}
	for i, s := range p.Slots {
		if s < 0 || s >= numSlots {
			errs = append(errs, fmt.Errorf("slots: %d is out of 0..%d", s, numSlots-1))
			break
		}
		if i > 0 && s <= p.Slots[i-1] {
			errs = append(errs, fmt.Errorf("slots: must be sorted and unique; %d follows %d", s, p.Slots[i-1]))
			break
		}
	}
	if p.From == 0 || p.To == 0 {
		errs = append(errs, fmt.Errorf("from and to: must be group IDs > 0, got %d and %d", p.From, p.To))
	} else if p.From == p.To {
		errs = append(errs, fmt.Errorf("from and to: the same group %d", p.From))
	}
	if p.Migration < 0 {
		errs = append(errs, fmt.Errorf("migration: must be > 0 (or 0 to derive it), got %d", p.Migration))
	}
	return errors.Join(errs...)
}

// Run drives the migration forward from wherever it is (fresh, or resumed from
// stateFile and the groups' state) to released. A permanent failure before the import
// aborts it (ErrAborted); a transient one that outlives StepTimeout, or ctx ending,
// returns the error and leaves the state file for a rerun.
func Run(ctx context.Context, cli Client, plan Plan, stateFile string) (Report, error) {
	r, err := newRunner(cli, plan, stateFile)
	if err != nil {
		return Report{}, err
	}
	err = r.run(ctx, false)
	return r.finish(err)
}

// Abort aborts the migration: SlotAbort on the target first, then SlotUnfreeze on the
// source. When the target has already imported it, the abort is refused and Abort
// finishes the move instead (Report.AbortRefused, Outcome moved).
func Abort(ctx context.Context, cli Client, plan Plan, stateFile string) (Report, error) {
	r, err := newRunner(cli, plan, stateFile)
	if err != nil {
		return Report{}, err
	}
	err = r.run(ctx, true)
	return r.finish(err)
}
