package auth

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket (golang.org/x/time/rate): PerSecond tokens refill each second
// up to Burst. A zero PerSecond means no limit (an explicit operator choice; every kind
// has a budget in DefaultLimits).
type Limit struct {
	PerSecond float64
	Burst     int
}

// KindUnauthenticated is the limit kind of calls whose token does not verify: one
// bucket per peer address, so a caller cannot spend a node's CPU on HMACs for free.
const KindUnauthenticated = "unauthenticated"

// DefaultLimits are the per-identity budgets of every kind, what `copytrade node`,
// `copytrade router` and the dev cluster use unless told otherwise. The trading system
// streams fills (a SubmitFills batch is one call); admin tools seed and operate; a
// router's own calls are slot-map reads, which it makes in bursts while groups elect
// (every router shares the identity "router" at a node); an account is a person or a
// bot.
func DefaultLimits() map[string]Limit {
	return map[string]Limit{
		"account":           {PerSecond: 50, Burst: 100},
		"trading-system":    {PerSecond: 20000, Burst: 40000},
		"admin":             {PerSecond: 1000, Burst: 2000},
		"router":            {PerSecond: 5000, Burst: 10000},
		KindUnauthenticated: {PerSecond: 20, Burst: 40},
	}
}

// Limiter keeps one token bucket per identity (role and identity), and one per peer
// address for unauthenticated calls. Buckets that have refilled completely are
// dropped, so memory follows the active callers.
type Limiter struct {
	limits map[string]Limit // by Role.Kind() or KindUnauthenticated; "" is the default
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewLimiter returns a limiter with limits by kind ("trading-system", "admin",
// "router", "account", KindUnauthenticated); the "" entry applies to kinds not listed.
// nil now means time.Now.
func NewLimiter(limits map[string]Limit, now func() time.Time) (*Limiter, error) {
	for k, l := range limits {
		if l.PerSecond < 0 || math.IsNaN(l.PerSecond) || math.IsInf(l.PerSecond, 0) || l.PerSecond > 0 && l.Burst < 1 {
			return nil, fmt.Errorf("auth: rate limit %q: PerSecond must be finite and >= 0, and Burst >= 1 when limited", k)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{limits: limits, now: now, buckets: make(map[string]*rate.Limiter)}, nil
}

// Allow takes one token from c's bucket; false means the call must be refused.
func (l *Limiter) Allow(c Claims) bool {
	return l.allow(c.Role.Kind(), string(c.Role)+"\x00"+c.Identity)
}

// AllowUnauthenticated takes one token from the bucket of peer (the caller's address
// without its port) for a call whose token did not verify.
func (l *Limiter) AllowUnauthenticated(peer string) bool {
	return l.allow(KindUnauthenticated, KindUnauthenticated+"\x00"+peer)
}

func (l *Limiter) allow(kind, key string) bool {
	lim, ok := l.limits[kind]
	if !ok {
		lim = l.limits[""]
	}
	if lim.PerSecond <= 0 {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(lim.PerSecond), lim.Burst)
		l.buckets[key] = b
	}
	return b.AllowN(now, 1)
}

// sweep drops the buckets that have refilled completely: a full bucket is the same as
// none.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
