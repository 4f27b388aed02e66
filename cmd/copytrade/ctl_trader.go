package main

import (
	"context"
	"flag"
	"time"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// traderConfigFlags declares the TraderConfig flags; the returned function applies the
// flags that were given on top of base (a new config for apply, the current one for
// update), so an update changes only what the command line names.
func traderConfigFlags(fs *flag.FlagSet) func(e *ctlEnv, base *ct.TraderConfig) *ct.TraderConfig {
	instruments := listFlag(fs, "instruments", "led instruments, comma-separated (empty: every instrument)")
	share := fs.Int64("share-bps", 1000, "profit share in basis points (0..3000)")
	maxCopiers := fs.Int("max-copiers", 0, "copier cap (0: the default, 500)")
	minCopy := fs.String("min-copy-amount", "", "smallest copy allocation a copier may choose")
	maxCopy := fs.String("max-copy-amount", "", "largest copy allocation (empty: none)")
	liq := enumFlag(fs, "liq-policy", ct.LiqPolicy_CLOSE, ct.LiqPolicyFromString, "what copiers do when the trader is liquidated: close or detach")
	maxAge := fs.Int64("signal-max-age-ms", 0, "a fill older than this (venue time) when it reaches the leader opens nothing; closes are copied (0: 2000)")
	return func(e *ctlEnv, base *ct.TraderConfig) *ct.TraderConfig {
		c := &ct.TraderConfig{ProfitShareBps: *share, LiquidationPolicy: *liq}
		if base != nil {
			cp := *base
			c = &cp
		}
		fresh := base == nil
		if fresh || e.set("instruments") {
			c.Instruments = *instruments
		}
		if fresh || e.set("share-bps") {
			c.ProfitShareBps = *share
		}
		if fresh || e.set("max-copiers") {
			c.MaxCopiers = int32(*maxCopiers)
		}
		if fresh || e.set("min-copy-amount") {
			c.MinCopyAmount = *minCopy
		}
		if fresh || e.set("max-copy-amount") {
			c.MaxCopyAmount = *maxCopy
		}
		if fresh || e.set("liq-policy") {
			c.LiquidationPolicy = *liq
		}
		if fresh || e.set("signal-max-age-ms") {
			c.SignalMaxAgeMs = *maxAge
		}
		return c
	}
}

func ctlTraderCommands() []ctlCommand {
	return []ctlCommand{
		{path: "trader apply", args: []string{"trader"}, summary: "apply to lead (eligibility is judged from the venue's statistics of the account; an admin may state them with the --*-bps/--closed-trades/--equity flags)",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the applicant's account ID")
				parent := fs.Int64("parent", 0, "main account of a sub account (0: a main account)")
				winRate := fs.Int64("win-rate-bps", 0, "admin only: the applicant's win rate, basis points (default: the venue's)")
				roi := fs.Int64("roi-bps", 0, "admin only: the applicant's ROI, basis points")
				closed := fs.Int64("closed-trades", 0, "admin only: the applicant's closed trades")
				equity := fs.String("equity", "0", "admin only: the applicant's equity")
				config := traderConfigFlags(fs)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.ApplyTrader(ctx, &ct.ApplyTraderRequest{
						Trader: *trader, Parent: *parent,
						Stats:  &ct.ApplicantStats{WinRateBps: *winRate, RoiBps: *roi, ClosedTrades: *closed, Equity: *equity},
						Config: config(e, nil),
					})
				}
			}},
		{path: "trader update", args: []string{"trader"}, summary: "change a trader's settings (only the flags given; the rest is kept)",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the trader's account ID")
				config := traderConfigFlags(fs)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					cur, err := c.GetTrader(ctx, &ct.GetTraderRequest{Trader: *trader})
					if err != nil {
						return nil, err
					}
					return c.UpdateTrader(ctx, &ct.UpdateTraderRequest{Trader: *trader, Config: config(e, cur.GetTrader().GetConfig())})
				}
			}},
		{path: "trader pause", args: []string{"trader"}, summary: "stop copying a trader's fills (follows are kept)",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the trader's account ID")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.PauseTrader(ctx, &ct.PauseTraderRequest{Trader: *trader})
				}
			}},
		{path: "trader resume", args: []string{"trader"}, summary: "resume copying a paused trader",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the trader's account ID")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.ResumeTrader(ctx, &ct.ResumeTraderRequest{Trader: *trader})
				}
			}},
		{path: "trader exit", args: []string{"trader"}, summary: "end a trader's leading; copier positions are closed or detached",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the trader's account ID")
				policy := enumFlag(fs, "policy", ct.LiqPolicy_INHERIT, ct.LiqPolicyFromString, "copier positions: inherit (the trader's policy), close or detach")
				wait := waitFlag(fs, ct.WaitFor_COMMIT)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.ExitTrader(ctx, &ct.ExitTraderRequest{Trader: *trader, Policy: *policy, Wait: *wait, TimeoutMs: budgetMs(ctx)})
				}
			}},
	}
}

// budgetMs is the time left on ctx in milliseconds, for requests' timeout_ms (0: none).
func budgetMs(ctx context.Context) int32 {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return int32(max(time.Until(dl).Milliseconds(), 1))
}
