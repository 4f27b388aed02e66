package auth

import (
	"fmt"

	"github.com/copytrade/copytrade/rpc/convert"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Object-level authorization of the CopyTrade service: one rule per method, given the
// caller and the decoded request. A method without a rule is refused for everyone,
// admin included (fail closed): a method added to the IDL needs a rule here first. Admin
// passes every rule.
//
//	signals            SubmitFill(s)                          trading-system
//	admin              instruments, rules, settlement, slots,  admin
//	                   no-op, membership, ListFollowers
//	cluster reads      GetSlotOwnership, GroupStatus           router
//	lead-trader set    ListLeadTraders (a Kafka ingest)        router, trading-system
//	trader settings    ApplyTrader ... ExitTrader,             account == trader
//	                   TraderInvite, ListInvites
//	                   (ApplyTrader without stats: the venue's are used)
//	follows            Follow ... Unfollow                     account == copier
//	own reads          ListCopierFollows, GetPositions         account == copier
//	                   ListOrders                              account == copier (copier > 0)
//	                   ListActivity                            account == copier (copier > 0;
//	                                                           a trader's across copiers: admin)
//	                   ListSettlements                         account == trader (trader > 0)
//	public reads       GetTrader, Leaderboard                  any authenticated caller
//	                   GetCopyQuality (copier 0)               any; copier > 0: account == copier
//
// ListFollowers lists other accounts' follows (their settings and positions), so it is
// admin-only: an account reads only its own data; a trader sees its follower count in
// GetTrader.

// rule decides whether c may call a method with req; nil means allowed.
type rule func(c Claims, req any) error

var rules = map[string]rule{
	"SubmitFill":  roles(RoleTradingSystem),
	"SubmitFills": roles(RoleTradingSystem),

	"UpsertInstrument":   adminOnly,
	"SetRules":           adminOnly,
	"Settle":             adminOnly,
	"SlotFreeze":         adminOnly,
	"SlotExport":         adminOnly,
	"SlotImport":         adminOnly,
	"SlotRelease":        adminOnly,
	"SlotAbort":          adminOnly,
	"SlotUnfreeze":       adminOnly,
	"Noop":               adminOnly,
	"AddMember":          adminOnly,
	"RemoveMember":       adminOnly,
	"TransferLeadership": adminOnly,
	"SetDrain":           adminOnly,
	"ListFollowers":      adminOnly,
	"ResolveOrder":       adminOnly,
	"SetActivityConfig":  adminOnly,

	"GetSlotOwnership": roles(RoleRouter),
	"GroupStatus":      roles(RoleRouter),
	"ListLeadTraders":  roles(RoleRouter, RoleTradingSystem),

	"ApplyTrader":  applyTrader,
	"UpdateTrader": ownTrader(func(r *ct.UpdateTraderRequest) int64 { return r.GetTrader() }),
	"PauseTrader":  ownTrader(func(r *ct.PauseTraderRequest) int64 { return r.GetTrader() }),
	"ResumeTrader": ownTrader(func(r *ct.ResumeTraderRequest) int64 { return r.GetTrader() }),
	"ExitTrader":   ownTrader(func(r *ct.ExitTraderRequest) int64 { return r.GetTrader() }),
	"TraderInvite": ownTrader(func(r *ct.TraderInviteRequest) int64 { return r.GetTrader() }),
	"ListInvites":  ownTrader(func(r *ct.ListInvitesRequest) int64 { return r.GetTrader() }),

	"Follow":         ownCopier(func(r *ct.FollowRequest) int64 { return r.GetCopier() }),
	"UpdateFollow":   ownCopier(func(r *ct.UpdateFollowRequest) int64 { return r.GetCopier() }),
	"PauseFollow":    ownCopier(func(r *ct.PauseFollowRequest) int64 { return r.GetCopier() }),
	"ResumeFollow":   ownCopier(func(r *ct.ResumeFollowRequest) int64 { return r.GetCopier() }),
	"Unfollow":       ownCopier(func(r *ct.UnfollowRequest) int64 { return r.GetCopier() }),
	"SetClosePolicy": ownCopier(func(r *ct.SetClosePolicyRequest) int64 { return r.GetCopier() }),

	"ListCopierFollows": ownCopier(func(r *ct.ListCopierFollowsRequest) int64 { return r.GetCopier() }),
	"GetPositions":      ownCopier(func(r *ct.GetPositionsRequest) int64 { return r.GetCopier() }),
	"ListOrders":        ownCopier(func(r *ct.ListOrdersRequest) int64 { return r.GetCopier() }),
	"ListSettlements":   ownTrader(func(r *ct.ListSettlementsRequest) int64 { return r.GetTrader() }),
	"ListActivity":      ownCopier(func(r *ct.ListActivityRequest) int64 { return r.GetCopier() }),

	"GetTrader":      anyone,
	"GetCopyQuality": copyQuality,
	"Leaderboard":    anyone,
}

// Authorize checks that c may call method with req (the method's request struct).
// Admin may call every known method.
func Authorize(c Claims, method string, req any) error {
	r, ok := rules[method]
	if !ok {
		return fmt.Errorf("%w: method %q has no authorization rule", ErrForbidden, clip(method))
	}
	if c.Role == RoleAdmin {
		return nil
	}
	return r(c, req)
}

func anyone(Claims, any) error { return nil }

func adminOnly(c Claims, _ any) error {
	return fmt.Errorf("%w: role %s may not call an admin method", ErrForbidden, c.Role)
}

func roles(allowed ...Role) rule {
	return func(c Claims, _ any) error {
		for _, r := range allowed {
			if c.Role == r {
				return nil
			}
		}
		return fmt.Errorf("%w: role %s may not make this call", ErrForbidden, c.Role)
	}
}

// ownTrader allows an account to act on its own trader record: field trader must be the
// caller's account (0, "every trader", is not its own).
func ownTrader[R any](field func(R) int64) rule {
	return own("trader", field)
}

// ownCopier allows an account to act on its own follows and copier data.
func ownCopier[R any](field func(R) int64) rule {
	return own("copier", field)
}

func own[R any](name string, field func(R) int64) rule {
	return func(c Claims, req any) error {
		acct := c.Role.Account()
		if acct == 0 {
			return fmt.Errorf("%w: role %s may not make this call", ErrForbidden, c.Role)
		}
		r, ok := req.(R)
		if !ok {
			return fmt.Errorf("%w: unexpected request type %T", ErrForbidden, req)
		}
		if v := field(r); v != acct {
			return fmt.Errorf("%w: account %d may not act on %s %d", ErrForbidden, acct, name, v)
		}
		return nil
	}
}

// applyTrader lets an account apply for itself, without statistics of its own: the
// shard leader asks the venue for them (design §6). Only an admin may state them.
func applyTrader(c Claims, req any) error {
	if err := ownTrader(func(r *ct.ApplyTraderRequest) int64 { return r.GetTrader() })(c, req); err != nil {
		return err
	}
	if convert.StatsStated(req.(*ct.ApplyTraderRequest).Stats) {
		return fmt.Errorf("%w: applicant statistics come from the trading system; an account may not state its own (leave stats unset)", ErrForbidden)
	}
	return nil
}

// copyQuality: a trader's whole copy quality is public (a copier choosing a trader sees
// how well copies of it track); one copier's is that copier's own.
func copyQuality(c Claims, req any) error {
	if r, ok := req.(*ct.GetCopyQualityRequest); ok && r.GetCopier() == 0 {
		return nil
	}
	return ownCopier(func(r *ct.GetCopyQualityRequest) int64 { return r.GetCopier() })(c, req)
}
