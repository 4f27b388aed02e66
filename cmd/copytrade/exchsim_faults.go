package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/copytrade/copytrade/tools/exchsim"
)

// faultFlags are `copytrade exchsim`'s hostile-venue flags (exchsim.Faults), every one
// off by default, plus the state file and the lead traders' accounts.
type faultFlags struct {
	preset      bool
	tradeIDs    string
	leadTraders string
}

func addFaultFlags(fs *flag.FlagSet, cfg *exchsim.Config) *faultFlags {
	ff := &faultFlags{}
	f := &cfg.Faults
	fs.BoolVar(&ff.preset, "venue-faults", false, "turn on the hostile-venue preset (exchsim.HostileFaults); the fault flags below override its fields")
	fs.Uint64Var(&f.Seed, "fault-seed", 1, "seed of every fault decision")
	fs.StringVar(&ff.tradeIDs, "trade-ids", "global", "lead fills' trade IDs: global, per-instrument or scrambled (not monotonic)")
	fs.DurationVar(&f.LatencyMean, "latency-mean", 0, "mean of the exponential execution latency of a PlaceOrders request (0: none)")
	fs.Float64Var(&f.LatencyTailRate, "latency-tail-rate", 0, "share of requests delayed --latency-tail more (past any expiry)")
	fs.DurationVar(&f.LatencyTail, "latency-tail", 0, "the extra delay of a tail request")
	fs.Float64Var(&f.PartialRate, "partial-rate", 0, "share of orders that fill only half")
	fs.Float64Var(&f.RejectRate, "reject-rate", 0, "share of orders refused (margin, price band or reduce-only)")
	fs.Float64Var(&f.LateRate, "late-rate", 0, "share of responses held back --late-by after the orders executed")
	fs.DurationVar(&f.LateBy, "late-by", 0, "how long a late response is held back")
	fs.Float64Var(&f.ReorderRate, "reorder-rate", 0, "share of responses listing reports out of order")
	fs.Float64Var(&f.DuplicateRate, "duplicate-rate", 0, "share of responses repeating one report")
	fs.Float64Var(&f.BadReportRate, "bad-report-rate", 0, "share of executed orders reported in breach of the contract (negative fee, fill above the order)")
	fs.BoolVar(&f.IgnoreExpiry, "ignore-expiry", false, "execute orders after their request's expiry (breaks design §4.6; for tests)")
	fs.StringVar(&cfg.StateFile, "state-file", "", "keep accounts, orders and transfers in this file across restarts (saved on stop)")
	fs.StringVar(&ff.leadTraders, "lead-traders", "", "comma-separated account IDs created at start (lead traders, payout targets)")
	return ff
}

// apply resolves the preset and the lists once flags are parsed; explicitly set flags
// win over the preset.
func (ff *faultFlags) apply(fs *flag.FlagSet, cfg *exchsim.Config) error {
	if ff.preset {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		p := exchsim.HostileFaults(cfg.Faults.Seed)
		f := &cfg.Faults
		pick := func(name string, dst *float64, v float64) {
			if !set[name] {
				*dst = v
			}
		}
		pick("latency-tail-rate", &f.LatencyTailRate, p.LatencyTailRate)
		pick("partial-rate", &f.PartialRate, p.PartialRate)
		pick("reject-rate", &f.RejectRate, p.RejectRate)
		pick("late-rate", &f.LateRate, p.LateRate)
		pick("reorder-rate", &f.ReorderRate, p.ReorderRate)
		pick("duplicate-rate", &f.DuplicateRate, p.DuplicateRate)
		pick("bad-report-rate", &f.BadReportRate, p.BadReportRate)
		if !set["latency-mean"] {
			f.LatencyMean = p.LatencyMean
		}
		if !set["latency-tail"] {
			f.LatencyTail = p.LatencyTail
		}
		if !set["late-by"] {
			f.LateBy = p.LateBy
		}
		if !set["trade-ids"] {
			f.TradeIDs = p.TradeIDs
			ff.tradeIDs = ""
		}
	}
	if ff.tradeIDs != "" {
		s, err := exchsim.ParseTradeIDScheme(ff.tradeIDs)
		if err != nil {
			return fmt.Errorf("--trade-ids: %w", err)
		}
		cfg.Faults.TradeIDs = s
	}
	for _, part := range strings.Split(ff.leadTraders, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("--lead-traders: %q is not a positive account ID", part)
		}
		cfg.LeadTraders = append(cfg.LeadTraders, id)
	}
	return nil
}
