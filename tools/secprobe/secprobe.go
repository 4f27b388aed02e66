// Package secprobe attacks a copytrade cluster of real processes (started with
// tools/bench, every hop over mutual TLS, tokens and rate limits on) the way the
// security review did by hand, and counts: every probe must be refused, nothing may
// leak, no process may die. `copytrade security` (make security) runs it in full; a
// short run is part of the test suite.
//
// Probes: tokens (missing, expired, forged, unknown key, garbage, non-canonical
// base64, edited role), cross-account writes and reads, the ListOrders leak,
// self-stated eligibility, admin methods by accounts, AddMember with a bad ID or
// address, a bad-token flood (rate limited), clients without a certificate of the
// deployment's CA (router and node), raft RPCs (TimeoutNow, AppendEntries,
// InstallSnapshot) without a member's certificate, pprof on the metrics port, and
// data-at-rest modes.
package secprobe

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Config configures a run.
type Config struct {
	// Binary is the copytrade binary the cluster is started from.
	Binary string
	// Dir holds the cluster's data and logs (a fresh directory).
	Dir string
	// Short runs each probe once (the test suite); the full run repeats the write
	// probes and floods.
	Short bool
	// Logger receives progress; nil discards.
	Logger *slog.Logger
}

// Report counts a run. A probe is refused when the cluster said no the way it should
// (the right error code, a failed handshake, an unchanged term); leaked when it got
// through; a crash is a process that died or a cluster that stopped answering.
type Report struct {
	Probes, Refused, Leaked, Crashed int
	// Findings describe every probe that was not refused, and every crash.
	Findings []string
}

// String is the summary line: "security: probes=N refused=N leaked=N crashed=N".
func (r Report) String() string {
	return fmt.Sprintf("security: probes=%d refused=%d leaked=%d crashed=%d", r.Probes, r.Refused, r.Leaked, r.Crashed)
}

// OK reports whether every probe was refused and nothing crashed.
func (r Report) OK() bool { return r.Leaked == 0 && r.Crashed == 0 && r.Refused == r.Probes }

// probe records one attempt: refused, or a finding.
func (r *Report) probe(name string, refused bool, detail string) {
	r.Probes++
	if refused {
		r.Refused++
		return
	}
	r.Leaked++
	r.Findings = append(r.Findings, name+": "+detail)
}

func (r *Report) crash(what string) {
	r.Crashed++
	r.Findings = append(r.Findings, "crashed: "+what)
}

// Summary is the findings, one a line, after the summary line.
func (r Report) Summary() string {
	return strings.Join(append([]string{r.String()}, r.Findings...), "\n")
}

// Run starts the cluster, runs every probe and stops the cluster.
func Run(ctx context.Context, cfg Config) (Report, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := start(ctx, cfg, log)
	if err != nil {
		return Report{}, err
	}
	defer e.stop()
	var r Report
	reps := 20
	if cfg.Short {
		reps = 1
	}
	for _, p := range []struct {
		name string
		fn   func(context.Context, *env, *Report, int)
	}{
		{"tokens", probeTokens}, {"authorization", probeAuthz}, {"leak", probeLeak}, {"eligibility", probeEligibility},
		{"membership", probeMembership}, {"rate limits", probeRateLimit}, {"tls", probeTLS}, {"raft", probeRaft},
		{"http", probeHTTP}, {"data at rest", probeDataAtRest},
	} {
		before := r.Probes
		p.fn(ctx, e, &r, reps)
		log.Info("probes", "kind", p.name, "count", r.Probes-before)
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	e.checkAlive(ctx, &r)
	return r, nil
}
