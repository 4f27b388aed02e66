package exchsim

import (
	"fmt"
	"sort"
	"sync"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

type accountShard struct {
	mu sync.RWMutex
	m  map[int64]*account
}

// account is one trading account. Every field below mu is guarded by mu.
//
// Invariants: marginUsed == Σ position.margin; a Long/Short position has qty > 0;
// a Both position has qty != 0 (zero positions are deleted).
type account struct {
	mu         sync.Mutex
	id         int64
	mode       PositionMode
	balance    fixed.Dec
	marginUsed fixed.Dec
	realized   fixed.Dec
	fees       fixed.Dec
	positions  map[posKey]*position
}

type posKey struct {
	instrument string
	side       PositionSide
}

type position struct {
	qty        fixed.Dec // Long/Short: > 0; Both: signed, != 0
	entry      fixed.Dec
	margin     fixed.Dec
	leverage   int32
	marginMode MarginMode
}

func (s *Sim) accountShard(id int64) *accountShard {
	return &s.accounts[(uint64(id)*0x9E3779B97F4A7C15)>>58] // Fibonacci hash, top 6 bits
}

func (s *Sim) account(id int64) *account {
	sh := s.accountShard(id)
	sh.mu.RLock()
	a := sh.m[id]
	sh.mu.RUnlock()
	return a
}

// accountForOrder finds the account or, with AutoCreateAccounts, creates it.
func (s *Sim) accountForOrder(id int64) *account {
	if a := s.account(id); a != nil || !s.cfg.AutoCreateAccounts {
		return a
	}
	a, _ := s.createAccount(id, s.cfg.DefaultBalance, s.cfg.DefaultPositionMode)
	return a
}

func (s *Sim) createAccount(id int64, balance fixed.Dec, mode PositionMode) (*account, bool) {
	sh := s.accountShard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if a := sh.m[id]; a != nil {
		return a, false
	}
	a := &account{id: id, mode: mode, balance: balance, positions: make(map[posKey]*position)}
	sh.m[id] = a
	s.nAccounts.Add(1)
	return a, true
}

// CreateAccount opens an account with a wallet balance and a position mode. It is
// idempotent: an existing account keeps its balance (created = false). Asking an
// existing account for another position mode switches the mode when it holds no
// positions, and fails with ErrAccountConflict otherwise.
func (s *Sim) CreateAccount(id int64, balance fixed.Dec, mode PositionMode) (created bool, snap AccountSnapshot, err error) {
	if balance < 0 {
		return false, snap, fmt.Errorf("%w: balance must not be negative, got %s", ErrInvalidArgument, balance)
	}
	if mode != Hedge && mode != OneWay {
		return false, snap, fmt.Errorf("%w: position mode must be HEDGE or ONE_WAY, got %d", ErrInvalidArgument, mode)
	}
	a, created := s.createAccount(id, balance, mode)
	if !created {
		a.mu.Lock()
		if a.mode != mode {
			if len(a.positions) > 0 {
				a.mu.Unlock()
				return false, snap, fmt.Errorf("%w: account %d is %s with %d positions", ErrAccountConflict, id, a.mode, len(a.positions))
			}
			a.mode = mode
		}
		a.mu.Unlock()
	} else {
		s.log.Debug("account created", "account", id, "balance", balance, "position-mode", mode)
	}
	snap, err = s.AccountSnapshot(id)
	return created, snap, err
}

// AccountSnapshot returns an account's balance, equity and positions at the current marks.
func (s *Sim) AccountSnapshot(id int64) (AccountSnapshot, error) {
	a := s.account(id)
	if a == nil {
		return AccountSnapshot{}, fmt.Errorf("%w: %d", ErrUnknownAccount, id)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	snap := AccountSnapshot{
		Account: id, PositionMode: a.mode, Balance: a.balance, MarginUsed: a.marginUsed,
		RealizedPnL: a.realized, FeesPaid: a.fees, Positions: make([]Position, 0, len(a.positions)),
	}
	var c calc
	equity := a.balance
	for k, p := range a.positions {
		var mark fixed.Dec
		if in := s.instrument(k.instrument); in != nil {
			mark = in.markPrice()
		}
		upnl := c.unrealized(k.side, p, mark)
		equity = c.add(equity, upnl)
		snap.Positions = append(snap.Positions, Position{
			Instrument: k.instrument, PositionSide: k.side, Qty: p.qty, EntryPrice: p.entry,
			Margin: p.margin, Leverage: p.leverage, MarginMode: p.marginMode,
			MarkPrice: mark, UnrealizedPnL: upnl,
		})
	}
	snap.Available = c.sub(a.balance, a.marginUsed)
	snap.Equity = equity
	if c.err != nil {
		return AccountSnapshot{}, fmt.Errorf("exchsim: account %d: %w", id, c.err)
	}
	sort.Slice(snap.Positions, func(i, j int) bool {
		pi, pj := snap.Positions[i], snap.Positions[j]
		if pi.Instrument != pj.Instrument {
			return pi.Instrument < pj.Instrument
		}
		return pi.PositionSide < pj.PositionSide
	})
	return snap, nil
}

// PositionOf returns one position of an account (Qty 0 when flat) and whether the
// account exists.
func (s *Sim) PositionOf(id int64, symbol string, side PositionSide) (Position, bool) {
	a := s.account(id)
	if a == nil {
		return Position{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	pos := Position{Instrument: symbol, PositionSide: side}
	if p := a.positions[posKey{symbol, side}]; p != nil {
		pos.Qty, pos.EntryPrice, pos.Margin = p.qty, p.entry, p.margin
		pos.Leverage, pos.MarginMode = p.leverage, p.marginMode
	}
	return pos, true
}

// equity is balance + Σ unrealised PnL at the current marks; a.mu must be held.
func (s *Sim) equity(a *account, c *calc) fixed.Dec {
	eq := a.balance
	for k, p := range a.positions {
		if in := s.instrument(k.instrument); in != nil {
			eq = c.add(eq, c.unrealized(k.side, p, in.markPrice()))
		}
	}
	return eq
}

// calc chains fixed-point operations and keeps the first error, so a sequence of
// steps is checked once at the end. After an error every result is 0.
type calc struct{ err error }

func (c *calc) keep(d fixed.Dec, err error) fixed.Dec {
	if c.err != nil {
		return 0
	}
	if err != nil {
		c.err = err
		return 0
	}
	return d
}

func (c *calc) add(a, b fixed.Dec) fixed.Dec { return c.keep(fixed.Add(a, b)) }
func (c *calc) sub(a, b fixed.Dec) fixed.Dec { return c.keep(fixed.Sub(a, b)) }
func (c *calc) mul(a, b fixed.Dec, r fixed.Rounding) fixed.Dec {
	return c.keep(fixed.Mul(a, b, r))
}
func (c *calc) mulDiv(a, b, d fixed.Dec, r fixed.Rounding) fixed.Dec {
	return c.keep(fixed.MulDiv(a, b, d, r))
}
func (c *calc) mulBps(a fixed.Dec, bps int64, r fixed.Rounding) fixed.Dec {
	return c.keep(fixed.MulBps(a, bps, r))
}

// unrealized is the PnL of p at mark: (mark - entry) × qty, negated for Short; qty is
// already signed for Both. Rounded toward -inf (in the venue's favour).
func (c *calc) unrealized(side PositionSide, p *position, mark fixed.Dec) fixed.Dec {
	q := p.qty
	if side == Short {
		q = -q
	}
	return c.mul(c.sub(mark, p.entry), q, fixed.Floor)
}

// checkInvariants verifies every account's invariants (see account); tests call it.
func (s *Sim) checkInvariants() error {
	for i := range s.accounts {
		sh := &s.accounts[i]
		sh.mu.RLock()
		accts := make([]*account, 0, len(sh.m))
		for _, a := range sh.m {
			accts = append(accts, a)
		}
		sh.mu.RUnlock()
		for _, a := range accts {
			a.mu.Lock()
			var sum fixed.Sum
			var bad error
			for k, p := range a.positions {
				sum.Add(p.margin)
				switch {
				case p.qty == 0:
					bad = fmt.Errorf("account %d: zero position %v kept", a.id, k)
				case k.side != Both && p.qty < 0:
					bad = fmt.Errorf("account %d: negative %v position %s", a.id, k, p.qty)
				case (k.side == Both) != (a.mode == OneWay):
					bad = fmt.Errorf("account %d: %v position in %s mode", a.id, k, a.mode)
				case p.margin < 0 || p.entry <= 0:
					bad = fmt.Errorf("account %d: %v margin %s entry %s", a.id, k, p.margin, p.entry)
				}
			}
			if total, err := sum.Result(); bad == nil && (err != nil || total != a.marginUsed) {
				bad = fmt.Errorf("account %d: margin used %s, positions hold %s (%v)", a.id, a.marginUsed, total, err)
			}
			a.mu.Unlock()
			if bad != nil {
				return bad
			}
		}
	}
	return nil
}
