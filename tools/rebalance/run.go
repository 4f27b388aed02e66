package rebalance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// maxAttempts bounds the derived IDs tried for one plan (attempt 0, 1, ...): each
// abort of a derived migration makes the next run use the next attempt.
const maxAttempts = 64

// errNextAttempt: the derived migration was found aborted before this run did
// anything; start the next attempt.
var errNextAttempt = errors.New("next attempt")

type runner struct {
	cli   Client
	plan  Plan
	path  string
	log   *slog.Logger
	st    *state
	rep   Report
	start time.Time
}

func newRunner(cli Client, plan Plan, path string) (*runner, error) {
	if err := plan.Validate(); err != nil {
		return nil, fmt.Errorf("rebalance: %w", err)
	}
	p := plan.withDefaults()
	p.Slots = slices.Clone(p.Slots)
	return &runner{cli: cli, plan: p, path: path, log: p.Logger, start: time.Now(),
		rep: Report{From: p.From, To: p.To, Slots: p.Slots}}, nil
}

func (r *runner) finish(err error) (Report, error) {
	r.rep.Elapsed = time.Since(r.start)
	if r.st != nil {
		r.rep.Migration, r.rep.Epoch, r.rep.Attempt = r.st.Migration, r.st.Epoch, r.st.Attempt
		if r.rep.Reason == "" {
			r.rep.Reason = r.st.Reason
		}
	}
	if err != nil {
		r.log.Error("rebalance failed", "migration", r.rep.Migration, "err", err)
	}
	return r.rep, err
}

// derived reports whether the migration ID is derived (not given).
func (r *runner) derived() bool { return r.plan.Migration == 0 }

// record marks step done on group: the state file first, then logs and progress.
func (r *runner) record(step Step, group uint32, detail string) error {
	r.st.Step = step
	if err := saveState(r.path, r.st); err != nil {
		return err
	}
	r.log.Info("step done", "step", string(step), "group", group, "migration", r.st.Migration, "epoch", r.st.Epoch, "detail", detail)
	if r.plan.Progress != nil {
		r.plan.Progress(Event{Step: step, Group: group, Migration: r.st.Migration, Epoch: r.st.Epoch, Detail: detail})
	}
	return nil
}

// observe reads both groups' ownership of the plan's slots from their leaders.
func (r *runner) observe(ctx context.Context) (src, dst ownership, err error) {
	get := func(g uint32) (ownership, error) {
		var resp *ct.GetSlotOwnershipResponse
		err := r.call(ctx, stepObserve, g, func(ctx context.Context) (err error) {
			resp, err = r.cli.GetSlotOwnership(ctx, &ct.GetSlotOwnershipRequest{})
			return err
		})
		if err != nil {
			return nil, err
		}
		if resp.GetGroup() != int32(g) {
			return nil, &StepError{Step: stepObserve, Group: g, Permanent: true,
				Err: fmt.Errorf("%w: the router's group %d answered as group %d", ErrConflict, g, resp.GetGroup())}
		}
		return viewOf(resp.GetRanges(), r.plan.Slots), nil
	}
	if src, err = get(r.plan.From); err != nil {
		return nil, nil, err
	}
	dst, err = get(r.plan.To)
	return src, dst, err
}

// matchAttempt finds the attempt whose derived ID at epoch is id.
func (r *runner) matchAttempt(id, epoch int64) (int, bool) {
	for k := range maxAttempts {
		if DeriveID(r.plan.Slots, r.plan.From, r.plan.To, epoch, k) == id {
			return k, true
		}
	}
	return 0, false
}

// resolve picks the migration (from the state file, the plan, or by derivation and
// adoption of what the groups show) and corrects its step from the groups' state.
func (r *runner) resolve(ctx context.Context) error {
	file, err := loadState(r.path)
	if err != nil {
		return err
	}
	if file != nil && !file.samePlan(&r.plan) {
		return fmt.Errorf("%w: state file %s records a move of other slots or groups (group %d to %d); pass another --state",
			ErrConflict, r.path, file.From, file.To)
	}
	if file != nil && !r.derived() && file.Migration != r.plan.Migration {
		return fmt.Errorf("%w: state file %s records migration %d, not %d", ErrConflict, r.path, file.Migration, r.plan.Migration)
	}
	src, dst, err := r.observe(ctx)
	if err != nil {
		return err
	}
	next := max(src.maxEpoch(), dst.maxEpoch()) + 1
	relM, relE := src.releasedBy(r.plan.To)
	frozen := src.frozenBy()
	switch {
	case file != nil:
		r.st = file
		r.rep.Resumed = file.Step
	case !r.derived():
		r.st = &state{Migration: r.plan.Migration, Epoch: next, Step: StepPlanned}
		switch {
		case relM == r.plan.Migration:
			r.st.Epoch = relE
		case frozen == r.plan.Migration && dst.ownedAt() > 0:
			r.st.Epoch = dst.ownedAt()
		}
	default:
		r.st = &state{Migration: DeriveID(r.plan.Slots, r.plan.From, r.plan.To, next, 0), Epoch: next, Step: StepPlanned}
		cands := []int64{next}
		if relM != 0 {
			cands = []int64{relE}
		} else if e := dst.ownedAt(); frozen != 0 && e > 0 {
			cands = append(cands, e)
		}
		for _, id := range []int64{relM, frozen} {
			if id == 0 {
				continue
			}
			for _, e := range cands {
				if k, ok := r.matchAttempt(id, e); ok {
					r.st.Migration, r.st.Epoch, r.st.Attempt = id, e, k
					r.log.Info("found this plan's migration in progress", "migration", id, "epoch", e, "attempt", k)
				}
			}
		}
	}
	r.st.From, r.st.To, r.st.Slots = r.plan.From, r.plan.To, r.plan.Slots
	return r.reconcile(ctx, src, dst)
}

// reconcile moves the recorded step to what the groups show: the file may be behind
// (a crash between a step and its record) or the migration may have been aborted or
// frozen late by a duplicate.
func (r *runner) reconcile(ctx context.Context, src, dst ownership) error {
	st := r.st
	m, e := st.Migration, st.Epoch
	relM, _ := src.releasedBy(r.plan.To)
	frozen := src.frozenBy()
	before := st.Step
	switch {
	case relM == m:
		st.Step = StepReleased
	case frozen == m && dst.ownedAt() == e:
		st.Step = StepImported
	case frozen == m:
		switch st.Step {
		case StepPlanned:
			st.Step = StepFrozen
		case StepUnfrozen:
			// A late duplicate of the freeze landed after the abort: undo it.
			st.Step = StepAborted
		}
	case frozen != 0 && r.derived():
		// An earlier attempt of this plan, frozen by a late duplicate of its freeze.
		k, ok := r.matchAttempt(frozen, e)
		if !ok || k >= st.Attempt {
			break
		}
		if err := r.undoStale(ctx, frozen, k); err != nil {
			return err
		}
	case src.owned():
		switch st.Step {
		case StepFrozen, StepExported:
			// The source serves again: unfrozen, which is only sent after the
			// target's abort. Re-sending the unfreeze finishes the record.
			st.Step = StepAborted
			st.Reason = "aborted by another run"
		case StepImported:
			return fmt.Errorf("%w: group %d imported migration %d but group %d serves the slots again (%s): both serve them; stop and repair by hand",
				ErrConflict, r.plan.To, m, r.plan.From, src.summary(r.plan.Slots))
		}
	}
	if st.Step != before {
		r.log.Info("state corrected from the groups", "migration", m, "recorded", string(before), "actual", string(st.Step))
	}
	if r.rep.Resumed != "" || st.Step != StepPlanned {
		r.rep.Resumed = st.Step
	}
	return saveState(r.path, st)
}

// undoStale aborts an earlier attempt of this plan whose freeze landed late: abort on
// the target (if that is refused because it was imported, adopt it and go forward),
// then unfreeze on the source.
func (r *runner) undoStale(ctx context.Context, id int64, attempt int) error {
	r.log.Warn("an earlier attempt is frozen on the source (a late freeze); aborting it", "migration", id, "attempt", attempt)
	err := r.call(ctx, StepAborted, r.plan.To, func(ctx context.Context) error {
		_, err := r.cli.SlotAbort(ctx, &ct.SlotAbortRequest{Migration: id})
		return err
	})
	if refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "imported") {
		r.st.Migration, r.st.Attempt, r.st.Step = id, attempt, StepImported
		return nil
	}
	if err != nil {
		return err
	}
	return r.call(ctx, StepUnfrozen, r.plan.From, func(ctx context.Context) error {
		_, err := r.cli.SlotUnfreeze(ctx, &ct.SlotUnfreezeRequest{Migration: id})
		return err
	})
}

// run resolves the migration, then drives it forward (or aborts it).
func (r *runner) run(ctx context.Context, abort bool) error {
	if err := r.resolve(ctx); err != nil {
		return err
	}
	if abort {
		return r.abort(ctx, "requested")
	}
	for range maxAttempts {
		err := r.forward(ctx)
		if !errors.Is(err, errNextAttempt) {
			return err
		}
		if err := r.nextAttempt(ctx); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w: %d attempts of this plan were aborted; pass --migration", ErrConflict, maxAttempts)
}

// nextAttempt moves a derived plan to its next ID after an abort.
func (r *runner) nextAttempt(ctx context.Context) error {
	src, dst, err := r.observe(ctx)
	if err != nil {
		return err
	}
	st := r.st
	st.Attempt++
	st.Epoch = max(src.maxEpoch(), dst.maxEpoch()) + 1
	st.Migration = DeriveID(r.plan.Slots, r.plan.From, r.plan.To, st.Epoch, st.Attempt)
	st.Step, st.Reason = StepPlanned, ""
	st.ExportIndex, st.ExportBytes, st.Checksum = 0, 0, 0
	r.rep = Report{From: r.plan.From, To: r.plan.To, Slots: r.plan.Slots}
	r.log.Info("the previous attempt was aborted; starting the next", "migration", st.Migration, "epoch", st.Epoch, "attempt", st.Attempt)
	return saveState(r.path, st)
}

// forward drives the migration from its recorded step to released.
func (r *runner) forward(ctx context.Context) error {
	for {
		var err error
		switch r.st.Step {
		case StepPlanned:
			err = r.freeze(ctx)
		case StepFrozen, StepExported:
			err = r.exportImport(ctx)
		case StepImported:
			err = r.release(ctx)
		case StepReleased:
			r.rep.Outcome = OutcomeMoved
			return nil
		case StepAborted, StepUnfrozen:
			// Aborted before this run did anything: finish the abort, then a derived
			// plan starts its next attempt.
			if err := r.abort(ctx, r.st.Reason); err != nil {
				return err
			}
			if r.derived() {
				return errNextAttempt
			}
			return fmt.Errorf("%w: migration %d was aborted (%s); pass a new --migration to move the slots", ErrAborted, r.st.Migration, r.st.Reason)
		default:
			return fmt.Errorf("state file %s: unknown step %q", r.path, r.st.Step)
		}
		if err != nil {
			return err
		}
	}
}

func (r *runner) freeze(ctx context.Context) error {
	st := r.st
	if err := saveState(r.path, st); err != nil { // the ID and epoch, before anything is sent
		return err
	}
	err := r.call(ctx, StepFrozen, r.plan.From, func(ctx context.Context) error {
		_, err := r.cli.SlotFreeze(ctx, &ct.SlotFreezeRequest{Migration: st.Migration, Slots: r.plan.Slots,
			TargetGroup: int32(r.plan.To), Epoch: st.Epoch})
		return err
	})
	switch {
	case err == nil:
		return r.record(StepFrozen, r.plan.From, fmt.Sprintf("%d slots frozen for group %d at epoch %d", len(r.plan.Slots), r.plan.To, st.Epoch))
	case refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "is unfrozen"):
		st.Step, st.Reason = StepUnfrozen, "aborted earlier"
		if r.derived() {
			return errNextAttempt
		}
		return fmt.Errorf("%w: migration %d was aborted earlier; pass a new --migration: %w", ErrAborted, st.Migration, err)
	case refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "is released"):
		st.Step = StepImported // the release answers OK again and records it
		return nil
	case refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "other parameters"):
		return fmt.Errorf("%w: migration ID %d is taken on group %d by another migration; pass another --migration: %w",
			ErrConflict, st.Migration, r.plan.From, err)
	case permanent(err):
		return r.autoAbort(ctx, err)
	}
	return err
}

// exportImport drains and exports on the source, then imports on the target.
func (r *runner) exportImport(ctx context.Context) error {
	st := r.st
	exp, err := r.drainExport(ctx)
	switch {
	case err == nil:
	case refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "is unfrozen"):
		return r.foundAborted(ctx, err)
	case refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "is released"):
		st.Step = StepImported
		return nil
	case permanent(err):
		return r.autoAbort(ctx, err)
	default:
		return err
	}
	if n := len(exp.GetData()); n > convert.MaxSlotImportBytes {
		return r.autoAbort(ctx, &StepError{Step: StepExported, Group: r.plan.From, Permanent: true,
			Err: fmt.Errorf("%w: %d bytes, over the import limit of %d (rpc/convert.MaxSlotImportBytes); move fewer slots at a time",
				ErrTooLarge, n, convert.MaxSlotImportBytes)})
	}
	if exp.GetMigration() != st.Migration || !slices.Equal(exp.GetSlots(), r.plan.Slots) {
		return &StepError{Step: StepExported, Group: r.plan.From, Permanent: true,
			Err: fmt.Errorf("%w: export is of migration %d for %d slots, want %d for %d", ErrConflict, exp.GetMigration(), len(exp.GetSlots()), st.Migration, len(r.plan.Slots))}
	}
	if exp.GetEpoch() != st.Epoch {
		r.log.Warn("the source froze the slots for another epoch than planned; using the source's", "planned", st.Epoch, "source", exp.GetEpoch())
		st.Epoch = exp.GetEpoch()
	}
	st.ExportIndex, st.ExportBytes, st.Checksum = exp.GetIndex(), len(exp.GetData()), uint64(exp.GetChecksum())
	r.rep.ExportIndex, r.rep.ExportBytes, r.rep.Checksum = st.ExportIndex, st.ExportBytes, st.Checksum
	if st.Step != StepExported {
		if err := r.record(StepExported, r.plan.From, fmt.Sprintf("exported %d bytes at index %d, checksum %016x", st.ExportBytes, st.ExportIndex, st.Checksum)); err != nil {
			return err
		}
	}
	var resp *ct.CommandResponse
	err = r.call(ctx, StepImported, r.plan.To, func(ctx context.Context) (err error) {
		resp, err = r.cli.SlotImport(ctx, &ct.SlotImportRequest{Migration: st.Migration, SourceGroup: int32(r.plan.From),
			Slots: exp.GetSlots(), Epoch: exp.GetEpoch(), Data: exp.GetData(), Checksum: exp.GetChecksum()})
		return err
	})
	switch {
	case err == nil:
		r.rep.ImportIndex = resp.GetIndex()
		return r.record(StepImported, r.plan.To, fmt.Sprintf("imported at epoch %d, index %d (the commit point)", st.Epoch, resp.GetIndex()))
	case refusedWith(err, ct.ErrorCode_MIGRATION_ABORTED, ""):
		return r.foundAborted(ctx, err)
	case permanent(err):
		return r.autoAbort(ctx, err)
	}
	return err
}

// drainExport sends SlotExport until the frozen slots' pending orders have drained or
// DrainTimeout passes.
func (r *runner) drainExport(ctx context.Context) (*ct.SlotExportResponse, error) {
	deadline := time.Now().Add(r.plan.DrainTimeout)
	backoff := 20 * time.Millisecond
	for {
		var resp *ct.SlotExportResponse
		err := r.call(ctx, StepExported, r.plan.From, func(ctx context.Context) (err error) {
			resp, err = r.cli.SlotExport(ctx, &ct.SlotExportRequest{Migration: r.st.Migration})
			return err
		})
		if err == nil {
			return resp, nil
		}
		if !refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "pending orders") {
			return nil, err
		}
		r.rep.DrainWaits++
		left := time.Until(deadline)
		if left <= 0 {
			return nil, &StepError{Step: stepDrain, Group: r.plan.From, Permanent: true,
				Err: fmt.Errorf("%w within %s: %s", ErrDrainTimeout, r.plan.DrainTimeout, describe(err))}
		}
		r.log.Debug("draining", "group", r.plan.From, "migration", r.st.Migration, "answer", describe(err))
		if !sleep(ctx, min(backoff, left)) {
			return nil, &StepError{Step: stepDrain, Group: r.plan.From, Err: ctx.Err()}
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

func (r *runner) release(ctx context.Context) error {
	var resp *ct.CommandResponse
	send := func() error {
		return r.call(ctx, StepReleased, r.plan.From, func(ctx context.Context) (err error) {
			resp, err = r.cli.SlotRelease(ctx, &ct.SlotReleaseRequest{Migration: r.st.Migration})
			return err
		})
	}
	err := send()
	if refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "is frozen") {
		// Imported from an export this source has not recorded: cannot happen when
		// only this tool drives migrations, but an export makes the release valid.
		if _, err = r.drainExport(ctx); err == nil {
			err = send()
		}
	}
	if err != nil {
		// Past the commit point: never abort; the operator reruns.
		return err
	}
	r.rep.ReleaseIndex = resp.GetIndex()
	r.rep.Outcome = OutcomeMoved
	return r.record(StepReleased, r.plan.From, fmt.Sprintf("released to group %d at epoch %d, index %d: answers MOVED", r.plan.To, r.st.Epoch, resp.GetIndex()))
}

// autoAbort aborts after a permanent failure before the import. If the target turns
// out to have imported (the abort is refused), the move is finished instead.
func (r *runner) autoAbort(ctx context.Context, cause error) error {
	r.log.Warn("aborting the migration after a permanent failure", "migration", r.st.Migration, "cause", cause)
	if err := r.abort(ctx, cause.Error()); err != nil {
		return fmt.Errorf("%w, and the abort did not finish (rerun with --abort): %w", cause, err)
	}
	if r.rep.Outcome == OutcomeMoved {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrAborted, cause)
}

// foundAborted: the target refuses the migration (someone aborted it); finish the
// abort on the source.
func (r *runner) foundAborted(ctx context.Context, cause error) error {
	r.st.Step, r.st.Reason = StepAborted, "aborted elsewhere: "+describe(cause)
	if err := saveState(r.path, r.st); err != nil {
		return err
	}
	if err := r.abort(ctx, r.st.Reason); err != nil {
		return err
	}
	return fmt.Errorf("%w: migration %d was aborted elsewhere: %w", ErrAborted, r.st.Migration, cause)
}

// abort: SlotAbort on the target (the decision), then SlotUnfreeze on the source.
func (r *runner) abort(ctx context.Context, reason string) error {
	st := r.st
	if st.Reason == "" || reason != "" {
		st.Reason = reason
	}
	r.rep.Reason = st.Reason
	if st.Step == StepReleased {
		r.rep.AbortRefused, r.rep.Outcome = true, OutcomeMoved
		r.log.Warn("abort refused: the migration is already released", "migration", st.Migration)
		return nil
	}
	if st.Step != StepAborted && st.Step != StepUnfrozen {
		var resp *ct.CommandResponse
		err := r.call(ctx, StepAborted, r.plan.To, func(ctx context.Context) (err error) {
			resp, err = r.cli.SlotAbort(ctx, &ct.SlotAbortRequest{Migration: st.Migration})
			return err
		})
		if refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "imported") {
			r.log.Warn("abort refused: the target imported the migration; finishing the move", "migration", st.Migration)
			r.rep.AbortRefused = true
			st.Step = StepImported
			return r.forward(ctx)
		}
		if err != nil {
			return err
		}
		if err := r.record(StepAborted, r.plan.To, fmt.Sprintf("the target refuses migration %d forever (index %d)", st.Migration, resp.GetIndex())); err != nil {
			return err
		}
	}
	if st.Step == StepAborted {
		err := r.call(ctx, StepUnfrozen, r.plan.From, func(ctx context.Context) error {
			_, err := r.cli.SlotUnfreeze(ctx, &ct.SlotUnfreezeRequest{Migration: st.Migration})
			return err
		})
		detail := fmt.Sprintf("%d slots serve again at their old epoch", len(r.plan.Slots))
		if refusedWith(err, ct.ErrorCode_MIGRATION_STATE, "unknown migration") {
			// The freeze never landed. If a late duplicate lands now, the slots stay
			// frozen until a rerun (Run or Abort) finds and unfreezes them.
			r.log.Warn("the source never froze the slots for this migration; nothing to unfreeze", "migration", st.Migration)
			detail, err = "the source never froze the slots", nil
		}
		if err != nil {
			return err
		}
		if err := r.record(StepUnfrozen, r.plan.From, detail); err != nil {
			return err
		}
	}
	r.rep.Outcome = OutcomeAborted
	return nil
}
