package exchsim

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Shard counts: powers of two, so a hash picks a shard with a mask. Accounts and
// order IDs hash to independent shards; each account also has its own mutex, so
// batches for different copiers proceed in parallel.
const (
	accountShards = 64
	orderShards   = 256
	// maxInstruments bounds the instrument table (order records index it with 16 bits).
	maxInstruments = 60000
)

// Sim is the exchange core: instruments with moving marks, accounts, positions,
// orders and transfers, all in memory. It is safe for concurrent use and needs no
// network: tests, benchmarks and the dev cluster call it in-process, and Serve
// exposes it over Kitex.
//
// Lock order: an order-ID shard's mutex is never held while an account is locked;
// an account shard's mutex is held only to find or insert an account; Transfer
// locks two accounts in ascending account order. Nothing waits while holding a lock.
type Sim struct {
	cfg  Config
	log  *slog.Logger
	seed maphash.Seed

	instMu      sync.Mutex                      // serializes instrument writers
	instruments atomic.Pointer[instrumentTable] // copy-on-write; readers never lock
	walkMu      sync.Mutex                      // serializes random-walk steps

	accounts  [accountShards]accountShard
	orders    [orderShards]orderShard
	transfers transferStore

	nextOrderID atomic.Int64
	nextTradeID atomic.Int64
	leadSeq     atomic.Int64 // venue-made client order IDs of lead orders
	executed    atomic.Int64 // orders executed; drives PartialFillEveryN
	requests    atomic.Int64 // PlaceOrders requests; keys the latency draw
	responses   atomic.Int64 // PlaceOrders answers; keys the response-fault draws

	nFaults, nExpired, nBadReports atomic.Int64
	badMu                          sync.Mutex
	bad                            map[string]OrderResult // true results of corrupted reports (TrueResult)

	nFilled, nPartial, nRejected, nDuplicates, nTransfers, nAccounts, nMarkSteps atomic.Int64

	publisher atomic.Pointer[FillPublisher] // publish.go: every fill of every account

	startOnce, closeOnce sync.Once
	stop                 chan struct{}
	wg                   sync.WaitGroup
}

// New validates cfg and returns a Sim with cfg.Instruments listed. The mark ticker
// does not run until Start.
func New(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, log: cfg.Logger, seed: maphash.MakeSeed(), stop: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "exchsim")
	s.cfg.Instruments = append([]InstrumentSpec(nil), cfg.Instruments...)
	s.instruments.Store(&instrumentTable{bySymbol: map[string]*instrument{}})
	for _, spec := range cfg.Instruments {
		if _, err := s.SetInstrument(spec); err != nil {
			return nil, err
		}
	}
	for i := range s.accounts {
		s.accounts[i].m = make(map[int64]*account)
	}
	s.initOrders()
	s.transfers.m = make(map[string]*transferEntry)
	s.bad = make(map[string]OrderResult)
	s.cfg.Faults.keep = func(r OrderResult) {
		s.badMu.Lock()
		s.bad[r.ClientOrderID] = r
		s.badMu.Unlock()
	}
	if cfg.StateFile != "" {
		if err := s.load(cfg.StateFile); err != nil {
			return nil, err
		}
	}
	for _, id := range cfg.LeadTraders {
		s.createAccount(id, cfg.DefaultBalance, cfg.DefaultPositionMode)
	}
	return s, nil
}

// Config returns the configuration the Sim runs with.
func (s *Sim) Config() Config { return s.cfg }

// Start runs the mark-price ticker when Config.MarkStepInterval > 0. It is idempotent.
func (s *Sim) Start() {
	s.startOnce.Do(func() {
		if s.cfg.MarkStepInterval <= 0 {
			return
		}
		s.wg.Add(1)
		go s.tick()
		s.log.Info("mark ticker started", "interval", s.cfg.MarkStepInterval,
			"volatility-bps", s.cfg.MarkVolatilityBps, "seed", s.cfg.Seed)
	})
}

// Close stops the ticker and waits for it, then saves the state when
// Config.StateFile is set. The Sim still answers calls afterwards.
func (s *Sim) Close() {
	s.closeOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	if s.cfg.StateFile != "" {
		if err := s.Save(); err != nil {
			s.log.Error("venue state not saved", "file", s.cfg.StateFile, "err", err)
		}
	}
}

func (s *Sim) tick() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.MarkStepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.StepMarks(1)
		}
	}
}

// Stats returns the simulator's counters.
func (s *Sim) Stats() Stats {
	return Stats{
		Mode:                  s.cfg.Mode,
		OrdersCreated:         s.nFilled.Load() + s.nPartial.Load() + s.nRejected.Load(),
		OrdersFilled:          s.nFilled.Load(),
		OrdersPartiallyFilled: s.nPartial.Load(),
		OrdersRejected:        s.nRejected.Load(),
		DuplicatesReturned:    s.nDuplicates.Load(),
		TransfersDone:         s.nTransfers.Load(),
		Accounts:              s.nAccounts.Load(),
		Instruments:           int64(len(s.instruments.Load().bySymbol)),
		MarkSteps:             s.nMarkSteps.Load(),
		FaultsInjected:        s.nFaults.Load(),
		OrdersExpired:         s.nExpired.Load(),
		BadReports:            s.nBadReports.Load(),
	}
}

// Instruments returns the listed instruments' specs (MarkPrice is the current mark),
// sorted by symbol.
func (s *Sim) Instruments() []InstrumentSpec {
	t := s.instruments.Load()
	out := make([]InstrumentSpec, 0, len(t.sorted))
	for _, in := range t.sorted {
		spec := *in.spec.Load()
		spec.MarkPrice = in.markPrice()
		out = append(out, spec)
	}
	return out
}

// Instrument returns one instrument's spec with its current mark.
func (s *Sim) Instrument(symbol string) (InstrumentSpec, bool) {
	in := s.instrument(symbol)
	if in == nil {
		return InstrumentSpec{}, false
	}
	spec := *in.spec.Load()
	spec.MarkPrice = in.markPrice()
	return spec, true
}

func (s *Sim) instrument(symbol string) *instrument {
	return s.instruments.Load().bySymbol[symbol]
}

// SetInstrument lists a new instrument (created = true) or updates an existing one's
// grids and limits. A positive spec.MarkPrice becomes the mark (rounded to the tick).
func (s *Sim) SetInstrument(spec InstrumentSpec) (created bool, err error) {
	if err := spec.Validate(); err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	s.instMu.Lock()
	defer s.instMu.Unlock()
	old := s.instruments.Load()
	if in, ok := old.bySymbol[spec.Symbol]; ok {
		sp := spec
		in.spec.Store(&sp)
		in.setMark(spec.MarkPrice, time.Now().UnixNano())
		s.log.Info("instrument updated", "symbol", spec.Symbol, "mark", spec.MarkPrice)
		return false, nil
	}
	if len(old.byIndex) >= maxInstruments {
		return false, fmt.Errorf("%w: at most %d instruments", ErrInvalidArgument, maxInstruments)
	}
	in := newInstrument(spec, s.cfg.Seed, time.Now().UnixNano())
	in.index = len(old.byIndex)
	next := &instrumentTable{bySymbol: make(map[string]*instrument, len(old.bySymbol)+1)}
	next.byIndex = append(append([]*instrument(nil), old.byIndex...), in)
	for k, v := range old.bySymbol {
		next.bySymbol[k] = v
	}
	next.bySymbol[spec.Symbol] = in
	next.sorted = append(append([]*instrument(nil), old.sorted...), in)
	sort.Slice(next.sorted, func(i, j int) bool {
		return next.sorted[i].spec.Load().Symbol < next.sorted[j].spec.Load().Symbol
	})
	s.instruments.Store(next)
	s.log.Info("instrument listed", "symbol", spec.Symbol, "mark", spec.MarkPrice,
		"lot-step", spec.LotStep, "tick", spec.TickSize, "max-leverage", spec.MaxLeverage)
	return true, nil
}
