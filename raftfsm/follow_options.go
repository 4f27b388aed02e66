package raftfsm

import (
	"slices"
	"strconv"
	"strings"
)

// Settings peers offer (issue 14): how a follow copies the trader's closes,
// invite-only traders, and copying the trader's open positions on follow.
// Each is a new command (FollowEx, TraderInvite) so no existing command's
// bytes change.

// ClosePolicy says how a follow copies the trader's closes (OKX's
// subPosCloseType). Stable codes: ONLY ADD TO THE END.
type ClosePolicy uint8

const (
	CloseCopy          ClosePolicy = 0 // the trader's closes are copied (default)
	CloseLeaveToCopier ClosePolicy = 1 // the copier closes; unfollow with close, stop-loss/take-profit and liquidation still close
)

// Limits of invites.
const (
	MaxInvitesPerTrader = 64
	MinInviteCodeLen    = 4
	MaxInviteCodeLen    = 32
)

// FollowEx is Follow with the options of issue 14.
type FollowEx struct {
	Follow
	// InviteCode: required when the trader is invite-only; one use of it
	// is consumed by the follow.
	InviteCode  string
	ClosePolicy ClosePolicy
	// CopyOpenPositions: the new follow opens its share of the trader's
	// current positions at the latest mark (the follow's slippage band
	// around it), sized as if the trader had just opened them.
	CopyOpenPositions bool
}

func (FollowEx) Op() Op { return OpFollowEx }

// InviteAction is what a TraderInvite does. ONLY ADD TO THE END.
type InviteAction uint8

const (
	InviteInvalid    InviteAction = iota
	InviteSetPrivate              // new follows need an invite code
	InviteSetPublic               // anyone may follow (codes are kept)
	InviteIssue                   // add Code (with its expiry and use count)
	InviteRevoke                  // Code can no longer be used
)

// TraderInvite manages a trader's invite-only setting and invite codes.
type TraderInvite struct {
	Trader            AccountID
	Action            InviteAction
	Code              string // Issue, Revoke: 4..32 of [A-Za-z0-9_-]
	ExpiresAtUnixNano int64  // Issue: 0 = never
	MaxUses           int32  // Issue: 0 = unlimited
}

func (TraderInvite) Op() Op { return OpTraderInvite }

// Invite is an invite code a trader issued.
type Invite struct {
	Code      string
	ExpiresAt int64 // machine clock; 0 = never
	MaxUses   int32 // 0 = unlimited
	Used      int32
	Revoked   bool
}

// ValidInviteCode reports whether c is an invite code's shape: MinInviteCodeLen..
// MaxInviteCodeLen of letters, digits, '-' and '_'.
func ValidInviteCode(c string) bool {
	if len(c) < MinInviteCodeLen || len(c) > MaxInviteCodeLen {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

func (t *TraderState) invite(code string) (int, bool) {
	return slices.BinarySearchFunc(t.Invites, code, func(v Invite, c string) int { return strings.Compare(v.Code, c) })
}

func (m *Machine) applyTraderInvite(c *TraderInvite) *Refusal {
	if !validAccount(c.Trader) {
		return invalid("Trader", "must be > 0")
	}
	if r := m.checkOwned(c.Trader); r != nil {
		return r
	}
	t := m.traders[c.Trader]
	if t == nil {
		return newRefusal(CodeUnknownTrader, "no such trader")
	}
	switch c.Action {
	case InviteSetPrivate, InviteSetPublic:
		t.InviteOnly = c.Action == InviteSetPrivate
		return nil
	case InviteIssue, InviteRevoke:
	default:
		return invalid("Action", "want SetPrivate, SetPublic, Issue or Revoke")
	}
	if !ValidInviteCode(c.Code) {
		return invalid("Code", "want 4..32 letters, digits, - or _")
	}
	i, found := t.invite(c.Code)
	if c.Action == InviteRevoke {
		if !found {
			return invalid("Code", "no such invite")
		}
		t.Invites[i].Revoked = true
		return nil
	}
	switch {
	case found:
		return invalid("Code", "already issued")
	case c.ExpiresAtUnixNano < 0:
		return invalid("ExpiresAtUnixNano", "must be >= 0")
	case c.ExpiresAtUnixNano != 0 && c.ExpiresAtUnixNano <= m.now:
		return invalid("ExpiresAtUnixNano", "already past")
	case c.MaxUses < 0:
		return invalid("MaxUses", "must be >= 0")
	case len(t.Invites) >= MaxInvitesPerTrader:
		t.pruneInvites(m.now)
		if len(t.Invites) >= MaxInvitesPerTrader {
			return invalid("Code", "the trader has "+strconv.Itoa(MaxInvitesPerTrader)+" usable invites: revoke one first")
		}
		i, _ = t.invite(c.Code)
	}
	t.Invites = slices.Insert(t.Invites, i, Invite{Code: c.Code, ExpiresAt: c.ExpiresAtUnixNano, MaxUses: c.MaxUses})
	return nil
}

// pruneInvites drops invites that can never be used again.
func (t *TraderState) pruneInvites(now int64) {
	t.Invites = slices.DeleteFunc(t.Invites, func(v Invite) bool { return !v.usable(now) })
	if len(t.Invites) == 0 {
		t.Invites = nil
	}
}

func (v *Invite) usable(now int64) bool {
	return !v.Revoked && (v.ExpiresAt == 0 || now < v.ExpiresAt) && (v.MaxUses == 0 || v.Used < v.MaxUses)
}

// checkInvite refuses a follow of an invite-only trader without a usable code.
// It changes nothing; useInvite consumes the use once the follow is accepted.
func (m *Machine) checkInvite(t *TraderState, code string) *Refusal {
	if !t.InviteOnly {
		return nil
	}
	if code == "" {
		return newRefusal(CodeInviteRequired, "the trader is invite-only: an invite code is required")
	}
	i, ok := t.invite(code)
	if !ok || !t.Invites[i].usable(m.now) {
		return newRefusal(CodeInviteInvalid, "invite code unknown, revoked, expired or used up")
	}
	return nil
}

func (t *TraderState) useInvite(code string) {
	if !t.InviteOnly {
		return
	}
	if i, ok := t.invite(code); ok {
		t.Invites[i].Used++
	}
}

func (m *Machine) applyFollowEx(c *FollowEx, res *Result) *Refusal {
	if c.ClosePolicy > CloseLeaveToCopier {
		return invalid("ClosePolicy", "want CopyCloses or LeaveToCopier")
	}
	if c.InviteCode != "" && !ValidInviteCode(c.InviteCode) {
		return invalid("InviteCode", "want 4..32 letters, digits, - or _")
	}
	if r := m.followWithInvite(&c.Follow, c.InviteCode); r != nil {
		return r
	}
	t := m.traders[c.Trader]
	f := t.findFollow(c.Copier)
	t.useInvite(c.InviteCode)
	f.ClosePolicy = c.ClosePolicy
	if c.CopyOpenPositions {
		m.copyOpenPositions(t, f, res)
	}
	return nil
}

// copyOpenPositions opens the new follow's share of each of the trader's
// open positions, as if the trader had just opened it: at the latest mark
// (else the trader's average entry), with the follow's band and every cap;
// leverage is the follow's fixed one, else 1 (the trader's is not known
// between fills). A position that sizes to nothing is skipped like a signal.
func (m *Machine) copyOpenPositions(t *TraderState, f *FollowState, res *Result) {
	for i := range t.Positions {
		tp := &t.Positions[i]
		in := m.instruments[tp.Instrument]
		if tp.Qty <= 0 || in == nil {
			continue
		}
		price := tp.AvgEntry
		if mk, ok := m.marks[tp.Instrument]; ok && mk > 0 {
			price = mk
		}
		if price <= 0 {
			continue
		}
		fill := &TradeFill{Trader: t.ID, Instrument: tp.Instrument, Price: price, Leverage: 1, PositionAfter: tp.Qty}
		s := &signal{fill: fill, inst: in, growSide: tp.Side, growQ: tp.Qty}
		skips := len(res.Skips)
		m.growFollow(t, f, s, res)
		for j := skips; j < len(res.Skips); j++ {
			res.Skips[j].Instrument = in.Symbol
		}
	}
}

func (e *encoder) followEx(c *FollowEx) {
	e.account(c.Copier)
	e.account(c.CopierParent)
	e.account(c.Trader)
	e.followSettings(&c.Settings)
	e.str(c.InviteCode)
	e.u8(uint8(c.ClosePolicy))
	e.bool(c.CopyOpenPositions)
}

func (d *decoder) followEx() *FollowEx {
	c := &FollowEx{}
	c.Copier = d.account("Copier")
	c.CopierParent = d.account("CopierParent")
	c.Trader = d.account("Trader")
	d.followSettings(&c.Settings)
	c.InviteCode = d.str("InviteCode", MaxInviteCodeLen)
	c.ClosePolicy = ClosePolicy(d.u8("ClosePolicy"))
	c.CopyOpenPositions = d.bool("CopyOpenPositions")
	return c
}

func (e *encoder) traderInvite(c *TraderInvite) {
	e.account(c.Trader)
	e.u8(uint8(c.Action))
	e.str(c.Code)
	e.varint(c.ExpiresAtUnixNano)
	e.varint(int64(c.MaxUses))
}

func (d *decoder) traderInvite() *TraderInvite {
	return &TraderInvite{
		Trader:            d.account("Trader"),
		Action:            InviteAction(d.u8("Action")),
		Code:              d.str("Code", MaxInviteCodeLen),
		ExpiresAtUnixNano: d.varint("ExpiresAtUnixNano"),
		MaxUses:           d.int32("MaxUses"),
	}
}

// FollowClosePolicy changes a live follow's close policy. Positions stay as
// they are: from now on the trader's shrinks are copied (their share of what
// the follow holds) or left to the copier.
type FollowClosePolicy struct {
	Copier, Trader AccountID
	ClosePolicy    ClosePolicy
}

func (FollowClosePolicy) Op() Op { return OpFollowClosePolicy }

func (m *Machine) applyFollowClosePolicy(c *FollowClosePolicy) *Refusal {
	if c.ClosePolicy > CloseLeaveToCopier {
		return invalid("ClosePolicy", "want CopyCloses or LeaveToCopier")
	}
	_, f, r := m.liveFollow(c.Copier, c.Trader)
	if r != nil {
		return r
	}
	f.ClosePolicy = c.ClosePolicy
	return nil
}

func (e *encoder) followClosePolicy(c *FollowClosePolicy) {
	e.account(c.Copier)
	e.account(c.Trader)
	e.u8(uint8(c.ClosePolicy))
}

func (d *decoder) followClosePolicy() *FollowClosePolicy {
	return &FollowClosePolicy{Copier: d.account("Copier"), Trader: d.account("Trader"), ClosePolicy: ClosePolicy(d.u8("ClosePolicy"))}
}
