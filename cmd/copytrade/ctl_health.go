package main

// How `ctl status` turns a cluster report into an exit code, so scripts and probes can
// act on it: 0 healthy (every group has a leader and every member answers), 1 degraded
// (some group has no leader, a member is unreachable or the slots could not be read),
// 2 unreachable (nothing answered: not the router, not any member).

import "fmt"

// Health of a `ctl status` report, and the exit code of each.
const (
	healthHealthy     = "healthy"
	healthDegraded    = "degraded"
	healthUnreachable = "unreachable"

	exitHealthy     = 0
	exitDegraded    = 1
	exitUnreachable = 2
)

// exitCoder is a rendered result that decides the command's exit code.
type exitCoder interface{ ExitCode() int }

// exitError is a failure with its own exit code (ctl status: 2 when nothing answered).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errUnreachable is the error of a status that reached nothing at all.
func errUnreachable(format string, args ...any) error {
	return &exitError{code: exitUnreachable, err: fmt.Errorf(format, args...)}
}

// assess sets the report's Health and Problems from its groups.
func (r *statusReport) assess() {
	r.Problems = nil
	answered := false
	for _, g := range r.Groups {
		if g.Leader == "" {
			r.Problems = append(r.Problems, fmt.Sprintf("group %d has no leader", g.Group))
		} else if g.Error != "" {
			r.Problems = append(r.Problems, fmt.Sprintf("group %d: %s", g.Group, g.Error))
		}
		if len(g.Members) == 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("group %d: no member known", g.Group))
		}
		for _, m := range g.Members {
			if m.Error != "" {
				r.Problems = append(r.Problems, fmt.Sprintf("group %d member %s (%s) unreachable", g.Group, orDash(m.ID), m.RPCAddr))
			} else {
				answered = true
			}
		}
	}
	switch {
	case !answered:
		r.Health = healthUnreachable
	case len(r.Problems) > 0:
		r.Health = healthDegraded
	default:
		r.Health = healthHealthy
	}
}

// ExitCode is 0 healthy, 1 degraded, 2 unreachable.
func (r *statusReport) ExitCode() int {
	switch r.Health {
	case healthHealthy:
		return exitHealthy
	case healthDegraded:
		return exitDegraded
	default:
		return exitUnreachable
	}
}
