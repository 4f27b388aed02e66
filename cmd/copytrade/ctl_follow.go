package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// followSettingsFlags declares the FollowSettings flags; the returned function applies
// the flags given on top of base (nil: a new follow's settings from the defaults).
func followSettingsFlags(fs *flag.FlagSet) func(e *ctlEnv, base *ct.FollowSettings) *ct.FollowSettings {
	mode := enumFlag(fs, "mode", ct.CopyMode_FIXED_AMOUNT, ct.CopyModeFromString, "copy mode: fixed-amount, multiplier or proportional")
	fixedMargin := fs.String("fixed-margin", "", "fixed-amount: margin per copied order")
	multiplier := fs.String("multiplier", "", "multiplier: copier qty = k × trader qty")
	allocation := fs.String("allocation", "1000", "the follow's budget (quote currency)")
	levPolicy := enumFlag(fs, "leverage-policy", ct.LeveragePolicy_FOLLOW_TRADER, ct.LeveragePolicyFromString, "follow-trader or fixed")
	leverage := fs.Int("leverage", 0, "fixed leverage (with --leverage-policy fixed)")
	marginPolicy := enumFlag(fs, "margin-policy", ct.MarginPolicy_FOLLOW_TRADER, ct.MarginPolicyFromString, "follow-trader, force-cross or force-isolated")
	posMode := enumFlag(fs, "position-mode", ct.PositionMode_HEDGE, ct.PositionModeFromString, "the copier account's position mode: hedge or one-way")
	acctMode := enumFlag(fs, "account-mode", ct.AccountMode_DEFAULT, ct.AccountModeFromString, "default, classic, unified or portfolio")
	instruments := listFlag(fs, "instruments", "copy only these instruments (empty: all the trader leads)")
	maxOrder := fs.String("max-order-notional", "", "cap on one copied order's notional (empty: none)")
	maxFollow := fs.String("max-follow-notional", "", "cap on the follow's open notional (empty: none)")
	slippage := fs.Int64("slippage-bps", 0, "IOC limit band around the trader's price for opens, bps (0: market)")
	stopLoss := fs.Int64("stop-loss-bps", 0, "copy stop-loss, bps of allocation (0: off)")
	takeProfit := fs.Int64("take-profit-bps", 0, "copy take-profit, bps of allocation (0: off)")
	liq := enumFlag(fs, "liq-policy", ct.LiqPolicy_INHERIT, ct.LiqPolicyFromString, "on the trader's liquidation: inherit, close or detach")
	return func(e *ctlEnv, base *ct.FollowSettings) *ct.FollowSettings {
		s := &ct.FollowSettings{}
		if base != nil {
			cp := *base
			s = &cp
		}
		fresh := base == nil
		pick := func(name string) bool { return fresh || e.set(name) }
		if pick("mode") {
			s.Mode = *mode
		}
		if pick("fixed-margin") {
			s.FixedMargin = *fixedMargin
		}
		if pick("multiplier") {
			s.Multiplier = *multiplier
		}
		if pick("allocation") {
			s.Allocation = *allocation
		}
		if pick("leverage-policy") {
			s.LeveragePolicy = *levPolicy
		}
		if pick("leverage") {
			s.Leverage = int32(*leverage)
		}
		if pick("margin-policy") {
			s.MarginPolicy = *marginPolicy
		}
		if pick("position-mode") {
			s.PositionMode = *posMode
		}
		if pick("account-mode") {
			s.AccountMode = *acctMode
		}
		if pick("instruments") {
			s.Instruments = *instruments
		}
		if pick("max-order-notional") {
			s.MaxOrderNotional = *maxOrder
		}
		if pick("max-follow-notional") {
			s.MaxFollowNotional = *maxFollow
		}
		if pick("slippage-bps") {
			s.SlippageBps = *slippage
		}
		if pick("stop-loss-bps") {
			s.StopLossBps = *stopLoss
		}
		if pick("take-profit-bps") {
			s.TakeProfitBps = *takeProfit
		}
		if pick("liq-policy") {
			s.LiquidationPolicy = *liq
		}
		return s
	}
}

// pairFlags declares --trader and --copier (also the two positional arguments).
func pairFlags(fs *flag.FlagSet) (trader, copier *int64) {
	return fs.Int64("trader", 0, "the trader's account ID"), fs.Int64("copier", 0, "the copier's account ID")
}

var pairArgs = []string{"trader", "copier"}

func ctlFollowCommands() []ctlCommand {
	return []ctlCommand{
		{path: "follow add", args: pairArgs, summary: "follow a trader with the settings given",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader, copier := pairFlags(fs)
				parent := fs.Int64("copier-parent", 0, "the copier's main account (0: a main account)")
				invite := fs.String("invite-code", "", "an invite code the trader issued (required when the trader is invite-only)")
				closes := fs.String("close-policy", "copy", "copy: the trader's closes are copied; copier: leave them to the copier (unfollow --close and stop-loss still close)")
				copyOpen := fs.Bool("copy-open-positions", false, "open this follow's share of the trader's current positions at the mark")
				settings := followSettingsFlags(fs)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					cp, err := parseClosePolicy(*closes)
					if err != nil {
						return nil, err
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.Follow(ctx, &ct.FollowRequest{Trader: *trader, Copier: *copier, CopierParent: *parent, Settings: settings(e, nil),
						InviteCode: *invite, ClosePolicy: cp, CopyOpenPositions: *copyOpen})
				}
			}},
		{path: "follow update", args: pairArgs, summary: "change a follow's settings (only the flags given; the rest is kept)",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader, copier := pairFlags(fs)
				settings := followSettingsFlags(fs)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					cur, err := findFollow(ctx, e, *trader, *copier)
					if err != nil {
						return nil, err
					}
					return c.UpdateFollow(ctx, &ct.UpdateFollowRequest{Trader: *trader, Copier: *copier, Settings: settings(e, cur.GetSettings())})
				}
			}},
		{path: "follow close-policy", args: pairArgs, summary: "how this follow copies the trader's closes: --policy copy (default) or copier (left to the copier)",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader, copier := pairFlags(fs)
				policy := fs.String("policy", "", "copy or copier (required)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					cp, err := parseClosePolicy(*policy)
					if err != nil {
						return nil, err
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.SetClosePolicy(ctx, &ct.SetClosePolicyRequest{Trader: *trader, Copier: *copier, ClosePolicy: cp})
				}
			}},
		{path: "follow pause", args: pairArgs, summary: "stop copying for this follow (positions stay)",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader, copier := pairFlags(fs)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.PauseFollow(ctx, &ct.PauseFollowRequest{Trader: *trader, Copier: *copier})
				}
			}},
		{path: "follow resume", args: pairArgs, summary: "resume a paused follow",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader, copier := pairFlags(fs)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.ResumeFollow(ctx, &ct.ResumeFollowRequest{Trader: *trader, Copier: *copier})
				}
			}},
		{path: "follow remove", args: pairArgs, summary: "unfollow: close the attributed positions at market (--close) or detach them",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader, copier := pairFlags(fs)
				closePos := fs.Bool("close", true, "close the follow's positions at market (false: detach them)")
				wait := waitFlag(fs, ct.WaitFor_COMMIT)
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.Unfollow(ctx, &ct.UnfollowRequest{Trader: *trader, Copier: *copier, ClosePositions: *closePos, Wait: *wait, TimeoutMs: budgetMs(ctx)})
				}
			}},
	}
}

// findFollow reads one follow (trader, copier) from the copier's follows (an account
// may read its own; a router gathers them from every group).
func findFollow(ctx context.Context, e *ctlEnv, trader, copier int64) (*ct.FollowView, error) {
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	resp, err := c.ListCopierFollows(ctx, &ct.ListCopierFollowsRequest{Copier: copier})
	if err != nil {
		return nil, err
	}
	for _, f := range resp.GetFollows() {
		if f.GetTrader() == trader {
			return f, nil
		}
	}
	return nil, fmt.Errorf("copier %d does not follow trader %d", copier, trader)
}

// parseClosePolicy reads copy (the trader's closes are copied) or copier (left to it).
func parseClosePolicy(v string) (ct.ClosePolicy, error) {
	switch strings.ToLower(v) {
	case "copy", "copy_closes":
		return ct.ClosePolicy_COPY_CLOSES, nil
	case "copier", "leave_to_copier":
		return ct.ClosePolicy_LEAVE_TO_COPIER, nil
	}
	return 0, errUsage("close policy: %q is not copy or copier", v)
}
