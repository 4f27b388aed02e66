package auth

import (
	"fmt"
	"sync"
	"time"
)

// Limit is a token bucket: PerSecond tokens refill each second up to Burst. A zero
// PerSecond means no limit.
type Limit struct {
	PerSecond float64
	Burst     int
}

// Limiter keeps one token bucket per identity (role and identity). Buckets idle for
// longer than a full refill are dropped, so memory follows the active callers.
type Limiter struct {
	limits map[string]Limit // by Role.Kind(); "" is the default
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
	lim    Limit
}

// NewLimiter returns a limiter with limits by role kind ("trading-system", "admin",
// "router", "account"); the "" entry applies to kinds not listed. nil now means time.Now.
func NewLimiter(limits map[string]Limit, now func() time.Time) (*Limiter, error) {
	for k, l := range limits {
		if l.PerSecond < 0 || l.PerSecond > 0 && l.Burst < 1 {
			return nil, fmt.Errorf("auth: rate limit %q: PerSecond must be >= 0 and Burst >= 1 when limited", k)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{limits: limits, now: now, buckets: make(map[string]*bucket)}, nil
}

// Allow takes one token from c's bucket; false means the call must be refused.
func (l *Limiter) Allow(c Claims) bool {
	lim, ok := l.limits[c.Role.Kind()]
	if !ok {
		lim = l.limits[""]
	}
	if lim.PerSecond <= 0 {
		return true
	}
	key := string(c.Role) + "\x00" + c.Identity
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(lim.Burst), last: now, lim: lim}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(float64(lim.Burst), b.tokens+el*lim.PerSecond)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops the buckets that have refilled completely: a full bucket is the same as
// none.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.lim.PerSecond >= float64(b.lim.Burst) {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
