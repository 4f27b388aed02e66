package exchsim

import (
	"fmt"
	"sync"
	"time"
)

// MaxTransferIDLen and MaxMemoLen bound a transfer's text fields.
const (
	MaxTransferIDLen = 64
	MaxMemoLen       = 256
)

// transferStore records executed transfers by ID. Transfers are rare (settlements),
// so one mutex held across a whole transfer keeps them simple and exactly-once.
type transferStore struct {
	mu sync.Mutex
	m  map[string]*transferEntry
}

type transferEntry struct {
	result TransferResult
	count  int64 // transfers executed for the ID (1; the proof for tests)
}

// Transfer moves Amount from one account's available balance to another's. It is
// idempotent by ID in both modes: a repeated ID returns the original result with
// Duplicate set and moves nothing. A refusal (unknown account, insufficient available
// balance) is a REJECTED result that does not consume the ID, so the same transfer
// can be retried once the source is funded. The error is for malformed requests.
func (s *Sim) Transfer(t Transfer) (TransferResult, error) {
	switch {
	case len(t.ID) == 0 || len(t.ID) > MaxTransferIDLen:
		return TransferResult{}, fmt.Errorf("%w: transfer ID must have 1 to %d characters", ErrInvalidArgument, MaxTransferIDLen)
	case len(t.Memo) > MaxMemoLen:
		return TransferResult{}, fmt.Errorf("%w: memo longer than %d bytes", ErrInvalidArgument, MaxMemoLen)
	case t.From == t.To:
		return TransferResult{}, fmt.Errorf("%w: transfer from account %d to itself", ErrInvalidArgument, t.From)
	}
	now := time.Now().UnixNano()
	res := TransferResult{ID: t.ID, Status: TransferRejected, TimeUnixNano: now}
	if t.Amount <= 0 {
		res.Reason, res.Message = ReasonInvalidAmount, fmt.Sprintf("amount must be positive, got %s", t.Amount)
		return res, nil
	}
	s.transfers.mu.Lock()
	defer s.transfers.mu.Unlock()
	if e := s.transfers.m[t.ID]; e != nil {
		r := e.result
		r.Duplicate = true
		return r, nil
	}
	from, to := s.account(t.From), s.account(t.To)
	if from != nil && to == nil && s.cfg.AutoCreateAccounts {
		// A payee (a lead trader paid a profit share) need not have traded first.
		to, _ = s.createAccount(t.To, 0, s.cfg.DefaultPositionMode)
	}
	if from == nil || to == nil {
		missing := t.From
		if from != nil {
			missing = t.To
		}
		res.Reason, res.Message = ReasonUnknownAccount, fmt.Sprintf("account %d does not exist", missing)
		return res, nil
	}
	first, second := from, to
	if t.To < t.From {
		first, second = to, from
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	second.mu.Lock()
	defer second.mu.Unlock()

	var c calc
	avail := c.sub(from.balance, from.marginUsed)
	newFrom := c.sub(from.balance, t.Amount)
	newTo := c.add(to.balance, t.Amount)
	switch {
	case c.err != nil:
		res.Reason, res.Message = ReasonInvalidAmount, fmt.Sprintf("amount out of range: %v", c.err)
		return res, nil
	case t.Amount > avail:
		res.Reason, res.Message = ReasonInsufficientBalance, fmt.Sprintf("amount %s exceeds the available balance %s of account %d", t.Amount, avail, t.From)
		return res, nil
	}
	from.balance, to.balance = newFrom, newTo
	res.Status = TransferDone
	s.transfers.m[t.ID] = &transferEntry{result: res, count: 1}
	s.nTransfers.Add(1)
	s.log.Info("transfer", "id", t.ID, "from", t.From, "to", t.To, "amount", t.Amount, "memo", t.Memo)
	return res, nil
}

// TransferCount returns how many transfers were executed for an ID (0 or 1).
func (s *Sim) TransferCount(id string) int64 {
	s.transfers.mu.Lock()
	defer s.transfers.mu.Unlock()
	if e := s.transfers.m[id]; e != nil {
		return e.count
	}
	return 0
}
