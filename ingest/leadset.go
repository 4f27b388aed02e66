package ingest

import (
	"context"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LeadSource lists every lead trader of every group: the union of ListLeadTraders over
// the groups. It fails unless every group answered (a partial union could miss a
// trader, i.e. drop its fills).
type LeadSource interface {
	LeadTraders(ctx context.Context) ([]int64, error)
}

// leadSet is one learned set of lead traders. It has no false negatives: a trader
// that was leading in every group's answer tests true. Exact (a sorted slice) up to
// cap traders; a Bloom filter of the same memory beyond (false positives are forwarded
// and refused by the leader before Raft).
type leadSet struct {
	asOf  time.Time // the refresh began here: every trader leading before it is in the set
	n     int
	exact []int64  // sorted; nil in Bloom mode
	bloom []uint64 // 64 × cap bits; nil in exact mode
	seed  maphash.Seed
}

const bloomHashes = 4

func newLeadSet(ids []int64, cap int, asOf time.Time) *leadSet {
	s := &leadSet{asOf: asOf, n: len(ids)}
	if len(ids) <= cap {
		s.exact = slices.Clone(ids)
		slices.Sort(s.exact)
		return s
	}
	s.seed = maphash.MakeSeed()
	s.bloom = make([]uint64, cap) // cap words: the exact mode's bound in bytes
	for _, id := range ids {
		h1, h2 := s.hash(id)
		for i := uint64(0); i < bloomHashes; i++ {
			b := (h1 + i*h2) % uint64(len(s.bloom)*64)
			s.bloom[b/64] |= 1 << (b % 64)
		}
	}
	return s
}

func (s *leadSet) hash(id int64) (uint64, uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(uint64(id) >> (8 * i))
	}
	h := maphash.Bytes(s.seed, b[:])
	return h, bits.RotateLeft64(h, 32) | 1
}

// has reports whether trader may lead (always true for a trader that does).
func (s *leadSet) has(trader int64) bool {
	if s.bloom == nil {
		_, ok := slices.BinarySearch(s.exact, trader)
		return ok
	}
	h1, h2 := s.hash(trader)
	for i := uint64(0); i < bloomHashes; i++ {
		b := (h1 + i*h2) % uint64(len(s.bloom)*64)
		if s.bloom[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// covers reports whether the set was learned late enough to decide on a record stamped
// ts: begun after ts + skew, so a trader leading when the record was produced is in it.
func (s *leadSet) covers(ts time.Time, skew time.Duration) bool {
	return s.asOf.After(ts.Add(skew))
}

// leadFilter keeps the current leadSet, refreshes it every interval and, sooner, when
// a partition holds a record newer than the set (kick).
type leadFilter struct {
	src      LeadSource
	cap      int
	interval time.Duration
	gap      time.Duration
	log      *slog.Logger
	m        *Metrics

	cur     atomic.Pointer[leadSet]
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every new set
	kickc   chan struct{}
}

func newLeadFilter(src LeadSource, cfg Config, log *slog.Logger, m *Metrics) *leadFilter {
	f := &leadFilter{src: src, cap: cfg.MaxLeadTraders, interval: cfg.RefreshInterval, gap: cfg.MinRefreshGap,
		log: log, m: m, changed: make(chan struct{}), kickc: make(chan struct{}, 1)}
	f.cur.Store(&leadSet{}) // learned at the zero time: covers no record
	return f
}

func (f *leadFilter) set() *leadSet { return f.cur.Load() }

// changes is closed when a set newer than the current one is in force.
func (f *leadFilter) changes() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// kick asks for a refresh as soon as MinRefreshGap allows.
func (f *leadFilter) kick() {
	select {
	case f.kickc <- struct{}{}:
	default:
	}
}

// run refreshes until ctx ends.
func (f *leadFilter) run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.kickc:
			if w := f.gap - time.Since(last); w > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(w):
				}
			}
		}
		last = time.Now()
		f.refresh(ctx)
		t.Reset(f.interval)
	}
}

// refresh learns a new set; on failure the old one stays (with its old asOf, so it
// never decides on records newer than it).
func (f *leadFilter) refresh(ctx context.Context) {
	asOf := time.Now()
	ids, err := f.src.LeadTraders(ctx)
	f.m.refresh.Observe(time.Since(asOf).Seconds())
	if err != nil {
		if ctx.Err() == nil {
			f.m.refreshErrors.Inc()
			f.log.Warn("lead-trader set refresh failed; keeping the previous set", "err", err)
		}
		return
	}
	s := newLeadSet(ids, f.cap, asOf)
	f.cur.Store(s)
	f.m.leadTraders.Set(float64(s.n))
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}
