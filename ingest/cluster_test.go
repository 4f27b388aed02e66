package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// inprocRouter is a router.Router over the cluster's topology, not served: what
// `copytrade ingest` runs.
func inprocRouter(t *testing.T, c *testcluster.Cluster) *router.Router {
	t.Helper()
	rc := router.DefaultConfig()
	rc.RequestTimeout = 10 * time.Second
	rc.BackoffMax = 100 * time.Millisecond
	rc.Logger = testcluster.Logger()
	r, err := router.New(rc, c.Topo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// seedCluster is testcluster's Seed (the instrument when inst, traders, copiers following
// each) tolerating TRADER_EXISTS and FOLLOW_EXISTS: the router resends a command to the
// next leader after NOT_LEADER, and a leader deposed after committing it makes the
// resend answer "exists" (seen under load). Seeding is the tests' setup, not what
// they check.
func seedCluster(t *testing.T, c *testcluster.Cluster, inst bool, traders []int64, copiers int, firstCopier int64) {
	t.Helper()
	if inst {
		c.SeedInstrument()
	}
	ctx, cancel := context.WithTimeout(c.Admin, 30*time.Second)
	defer cancel()
	exists := func(err error, code ct.ErrorCode) bool {
		st, ok := convert.StatusOf(err)
		return err == nil || ok && st.Code == code
	}
	next := firstCopier
	for _, tr := range traders {
		_, err := c.Cli.ApplyTrader(ctx, &ct.ApplyTraderRequest{Trader: tr, Stats: &ct.ApplicantStats{Equity: "100000"},
			Config: &ct.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 2000, SignalMaxAgeMs: 600_000}}) // the backlog is older than 2 s
		if !exists(err, ct.ErrorCode_TRADER_EXISTS) {
			t.Fatalf("apply trader %d: %v", tr, err)
		}
		for range copiers {
			_, err := c.Cli.Follow(ctx, &ct.FollowRequest{Trader: tr, Copier: next, Settings: testcluster.FollowSettings()})
			if !exists(err, ct.ErrorCode_FOLLOW_EXISTS) {
				t.Fatalf("follow %d → %d: %v", next, tr, err)
			}
			next++
		}
	}
}

// orderCheck wraps a Forwarder and checks, across every ingest incarnation, that a
// trader's fill k is sent only after fill k−1 was answered applied (OK or
// DUPLICATE_FILL) by some incarnation: the apply order of a trader's fills is their
// trade-ID order (the tests number each trader's fills 1, 2, 3, ...).
type orderCheck struct {
	next Forwarder

	mu        sync.Mutex
	lastFinal map[int64]int64 // trader → highest trade ID applied
	sent      map[int64]int   // trader → fills sent (attempts)
	refused   map[int64]int   // trader → fills refused for good
	transient map[int64]int   // trader → transient answers (to be resent)
	dups      int             // DUPLICATE_FILL answers (replays after a crash)
	bad       []string
}

func newOrderCheck(next Forwarder) *orderCheck {
	return &orderCheck{next: next, lastFinal: map[int64]int64{}, sent: map[int64]int{}, refused: map[int64]int{}, transient: map[int64]int{}}
}

func (o *orderCheck) ForwardFills(ctx context.Context, req *ct.SubmitFillsRequest) ([]*ct.FillOutcome, error) {
	o.mu.Lock()
	for _, f := range req.Fills {
		o.sent[f.Trader]++
		if f.TradeId > o.lastFinal[f.Trader]+1 {
			o.bad = append(o.bad, fmt.Sprintf("trader %d: fill %d sent before fill %d was applied", f.Trader, f.TradeId, o.lastFinal[f.Trader]+1))
		}
	}
	o.mu.Unlock()
	outs, err := o.next.ForwardFills(ctx, req)
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, out := range outs {
		f := req.Fills[i]
		switch c := out.GetCode(); {
		case c == ct.ErrorCode_OK || c == ct.ErrorCode_DUPLICATE_FILL || out.GetIndex() > 0 && transient(c):
			if c == ct.ErrorCode_DUPLICATE_FILL {
				o.dups++
			}
			if f.TradeId == o.lastFinal[f.Trader]+1 {
				o.lastFinal[f.Trader] = f.TradeId
			}
		case c == ct.ErrorCode_NOT_LEAD_TRADER:
			o.refused[f.Trader]++
		case transient(c):
			o.transient[f.Trader]++
		case !transient(c):
			o.bad = append(o.bad, fmt.Sprintf("trader %d fill %d refused: %s %s", f.Trader, f.TradeId, c, out.GetMessage()))
		}
	}
	return outs, err
}

func (o *orderCheck) applied() (n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.lastFinal {
		n += v
	}
	return n
}

// TestIngestExactlyOnceAcrossCrash: 20k fills over 8 partitions, 10 % of them lead
// fills; the ingest is crashed at random points (batches in flight cancelled, no
// commit on the way out) and restarted three times. Every lead fill is applied exactly
// once, in per-trader order; every copier order reaches the no-dedup venue once; no
// non-lead fill is ever sent.
func TestIngestExactlyOnceAcrossCrash(t *testing.T) {
	const (
		partitions = 8
		total      = 20000
		leadsPer   = 10 // lead traders per group
		copiers    = 2
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	c := testcluster.New(t, testcluster.Options{Groups: 2, Mode: exchsim.NoDedup})
	leads := append(testcluster.TraderIn(1, 2, leadsPer, 1000), testcluster.TraderIn(2, 2, leadsPer, 1000)...)
	seedCluster(t, c, true, leads, copiers, 500000)

	brokers := newKafka(t, partitions, "fills", "copytrade.fills.dlq")
	p := newProducer(t, brokers)
	perTrader := map[int64]int64{}
	noise := int64(0)
	var recs []*kgo.Record
	for i := range total {
		var f *ct.Fill
		if i%10 == 0 {
			tr := leads[(i/10)%len(leads)]
			perTrader[tr]++
			f = leadFill(tr, perTrader[tr])
		} else {
			noise++
			f = leadFill(2_000_000+rng.Int64N(900), noise)
		}
		recs = append(recs, fillRecord(t, FormatJSON, f))
	}
	for i := 0; i < len(recs); i += 2000 {
		p.send("fills", recs[i:min(i+2000, len(recs))]...)
	}
	const leadFills = total / 10

	r := inprocRouter(t, c)
	check := newOrderCheck(&RouterBackend{R: r})
	src := &RouterBackend{R: r}
	cfg := testConfig(brokers, "fills")
	cfg.MaxBatch = 100
	for k := range 3 {
		// Crash somewhere in the k-th third of the lead fills, after a random extra wait.
		target := int64(leadFills) * int64(k*30+5+rng.IntN(20)) / 100
		in := start(t, cfg, check, src)
		began := time.Now()
		waitFor(t, 90*time.Second, fmt.Sprintf("incarnation %d: %d lead fills applied", k+1, target), func() bool {
			if check.applied() >= target {
				return true
			}
			if time.Since(began) > 80*time.Second {
				t.Logf("applied %d, ingest %+v", check.applied(), in.in.Stats())
			}
			return false
		})
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		in.crash()
		t.Logf("crash %d after %d lead fills applied", k+1, check.applied())
	}
	in := start(t, cfg, check, src)
	waitFor(t, 60*time.Second, "every lead fill applied", func() bool { return check.applied() == leadFills })
	waitFor(t, 30*time.Second, "offsets committed to the end", func() bool {
		for _, o := range p.committed(cfg.Group, "fills", partitions) {
			if o < 0 {
				return false
			}
		}
		return in.in.Stats().LagMax == 0
	})
	in.close()

	check.mu.Lock()
	t.Logf("%d replayed fills answered DUPLICATE_FILL", check.dups)
	for _, b := range check.bad[:min(len(check.bad), 10)] {
		t.Error(b)
	}
	for tr, n := range check.refused {
		t.Errorf("trader %d: %d fills refused NOT_LEAD_TRADER", tr, n)
	}
	for tr, n := range check.sent {
		if perTrader[tr] == 0 {
			t.Errorf("non-lead trader %d: %d fills sent; the filter must drop them before any RPC", tr, n)
		}
	}
	check.mu.Unlock()
	c.Settled(30 * time.Second)
	applied, planned := c.CheckExactlyOnce(leads, copiers)
	for _, tr := range leads {
		if applied[tr] != uint64(perTrader[tr]) {
			t.Errorf("trader %d: %d fills applied, want exactly %d", tr, applied[tr], perTrader[tr])
		}
	}
	if planned != leadFills*copiers {
		t.Errorf("%d copier orders planned, want %d", planned, leadFills*copiers)
	}
}

// TestIngestFilterFollowsTraderChanges: with a periodic refresh far away, a trader
// who applies is followed at once (a fill produced right after ApplyTrader returns is
// forwarded, never dropped), and one who exits is filtered out.
func TestIngestFilterFollowsTraderChanges(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict})
	a, b := int64(1001), int64(1002)
	seedCluster(t, c, true, []int64{a}, 1, 500000)
	brokers := newKafka(t, 2, "fills", "copytrade.fills.dlq")
	p := newProducer(t, brokers)
	r := inprocRouter(t, c)
	check := newOrderCheck(&RouterBackend{R: r})
	cfg := testConfig(brokers, "fills")
	cfg.RefreshInterval = time.Hour // only records newer than the set make it refresh
	in := start(t, cfg, check, &RouterBackend{R: r})
	sent := func(tr int64) int {
		check.mu.Lock()
		defer check.mu.Unlock()
		return check.sent[tr]
	}

	p.send("fills", fillRecord(t, FormatJSON, leadFill(a, 1)), fillRecord(t, FormatJSON, leadFill(777, 1)))
	waitFor(t, 20*time.Second, "lead fill applied", func() bool { return check.applied() == 1 })
	waitFor(t, 20*time.Second, "non-lead fill filtered", func() bool { return in.in.Stats().Filtered == 1 })

	// B applies; its first fill is produced the moment ApplyTrader returns.
	seedCluster(t, c, false, []int64{b}, 1, 600000)
	p.send("fills", fillRecord(t, FormatJSON, leadFill(b, 1)))
	waitFor(t, 20*time.Second, "the new trader's fill applied", func() bool { return check.applied() == 2 })

	// A exits. Its next fill may still be sent once, by a set learned before the exit
	// (a superset is harmless: the leader refuses it before Raft, and the refusal makes
	// the set relearn); from then on A's fills are dropped without an RPC.
	if _, err := c.Cli.ExitTrader(c.Admin, &ct.ExitTraderRequest{Trader: a}); err != nil {
		t.Fatalf("exit: %v", err)
	}
	p.send("fills", fillRecord(t, FormatJSON, leadFill(a, 2)), fillRecord(t, FormatJSON, leadFill(b, 2)))
	waitFor(t, 20*time.Second, "B's second fill applied", func() bool { return check.applied() == 3 })
	waitFor(t, 20*time.Second, "A's fill after exit refused or filtered", func() bool {
		check.mu.Lock()
		defer check.mu.Unlock()
		return check.refused[a] == 1 || in.in.Stats().Filtered == 2
	})
	waitFor(t, 20*time.Second, "the exit learned", func() bool { return !in.in.filter.set().has(a) })
	before := sent(a)
	filtered := in.in.Stats().Filtered
	p.send("fills", fillRecord(t, FormatJSON, leadFill(a, 3)))
	waitFor(t, 20*time.Second, "A's later fill filtered", func() bool { return in.in.Stats().Filtered == filtered+1 })
	if n := sent(a); n != before || before > 2 {
		t.Errorf("trader %d: %d fills sent, then %d; want at most 2 and none once the exit is learned", a, before, n)
	}
	if n := sent(777); n != 0 {
		t.Errorf("non-lead trader sent %d fills, want 0", n)
	}
	check.mu.Lock()
	for _, s := range check.bad {
		t.Error(s)
	}
	check.mu.Unlock()
	if st := in.in.Stats(); st.Records != 6 {
		t.Errorf("stats %+v: want 6 records", st)
	}
}

// groupDownCluster: TestIngestGroupDown against a real cluster of two groups; the
// ingest reaches group 1 only through proxies, which are cut while fills of a trader
// of each group are in the topic.
func groupDownCluster(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 2, Mode: exchsim.NoDedup})
	a, b := testcluster.TraderIn(1, 2, 1, 1000)[0], testcluster.TraderIn(2, 2, 1, 1000)[0]
	seedCluster(t, c, true, []int64{a, b}, 2, 500000)
	topo := &router.Topology{}
	var proxies []*testcluster.Proxy
	for _, g := range c.Topo.Groups {
		spec := router.GroupSpec{ID: g.ID}
		for _, m := range g.Members {
			if g.ID == 1 {
				px := testcluster.NewProxy(t, m.RPCAddr)
				proxies = append(proxies, px)
				m.RPCAddr = px.Addr()
			}
			spec.Members = append(spec.Members, m)
		}
		topo.Groups = append(topo.Groups, spec)
	}
	rc := router.DefaultConfig()
	rc.RequestTimeout, rc.BackoffMax = 2*time.Second, 100*time.Millisecond
	rc.MemberDownTimeout = 100 * time.Millisecond
	rc.Logger = testcluster.Logger()
	r, err := router.New(rc, topo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })

	brokers := newKafka(t, 1, "fills", "copytrade.fills.dlq")
	p := newProducer(t, brokers)
	check := newOrderCheck(&RouterBackend{R: r})
	cfg := testConfig(brokers, "fills")
	cfg.ForwardTimeout = time.Second
	in := start(t, cfg, check, &RouterBackend{R: r})
	waitFor(t, 20*time.Second, "lead-trader set learned", func() bool { return in.in.filter.set().n == 2 })

	for _, px := range proxies {
		px.Cut()
	}
	var recs []*kgo.Record
	for i := int64(1); i <= 5; i++ {
		recs = append(recs, fillRecord(t, FormatJSON, leadFill(a, i)), fillRecord(t, FormatJSON, leadFill(b, i)))
	}
	offs := p.send("fills", recs...)
	waitFor(t, 30*time.Second, "group 2's trader applied while group 1 is cut off", func() bool {
		check.mu.Lock()
		defer check.mu.Unlock()
		return check.lastFinal[b] == 5 && check.transient[a] >= 2
	})
	time.Sleep(3 * cfg.CommitInterval)
	if got := p.committed(cfg.Group, "fills", 1)[0]; got > offs[0] {
		t.Fatalf("committed offset %d passed group 1's unapplied fill at %d", got, offs[0])
	}
	check.mu.Lock()
	if check.lastFinal[a] != 0 {
		t.Fatalf("trader %d: fills answered applied while its group was cut off", a)
	}
	check.mu.Unlock()

	for _, px := range proxies {
		px.Restore()
	}
	waitFor(t, 30*time.Second, "caught up: offset committed past every record", func() bool {
		return p.committed(cfg.Group, "fills", 1)[0] == offs[len(offs)-1]+1
	})
	check.mu.Lock()
	for _, s := range check.bad {
		t.Error(s)
	}
	check.mu.Unlock()
	c.Settled(30 * time.Second)
	applied, _ := c.CheckExactlyOnce([]int64{a, b}, 2)
	if applied[a] != 5 || applied[b] != 5 {
		t.Errorf("applied %v, want 5 fills of each trader exactly once", applied)
	}
}
