package bench

import (
	"errors"
	"fmt"
	"strings"
)

// ErrFillsFailed: a run whose fills failed where they should not (see FillFailures).
var ErrFillsFailed = errors.New("bench: fills failed")

// FillFailures is nil when the run's fills went through, else an error wrapping
// ErrFillsFailed that names each phase: the latency phase (light load: any failed fill),
// the first throughput step, every copiers step and the failover load (more than half
// the fills sent failed). Later throughput steps may fail fills by design: the sweep
// stops where the cluster no longer keeps up. A second run attached to a cluster with
// reused trade IDs, for one, fails every fill with DUPLICATE_FILL.
func (r *Report) FillFailures() error {
	var bad []string
	check := func(name string, l *LoadResult, any bool) {
		if l == nil || l.Fills.Sent == 0 {
			return
		}
		if (any && l.Fills.Errors > 0) || l.Fills.Errors*2 > l.Fills.Sent {
			msg := fmt.Sprintf("%s: %d of %d fills failed", name, l.Fills.Errors, l.Fills.Sent)
			if len(l.Errors) > 0 {
				msg += fmt.Sprintf(" %v", l.Errors)
			}
			bad = append(bad, msg)
		}
	}
	check("latency", r.Latency, true)
	if r.Throughput != nil && len(r.Throughput.Steps) > 0 {
		check("throughput step 1", &r.Throughput.Steps[0], false)
	}
	if r.Copiers != nil {
		for i := range r.Copiers.Steps {
			check(fmt.Sprintf("copiers step %d", i+1), &r.Copiers.Steps[i], false)
		}
	}
	if r.Failover != nil {
		check("failover", &r.Failover.Load, false)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrFillsFailed, strings.Join(bad, "; "))
	}
	return nil
}
