package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/bytedance/sonic"
	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/copytrade/copytrade/router"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/faultproxy"
)

// procCluster is a 3-node shard group of real processes (proc_node_test.go) on
// loopback, every link through a fault proxy: each directed raft peer link
// (raftPx[from][to], from != to), each node's gateway link to exchsim (gwPx) and each
// router → node RPC link (rpcPx). exchsim (no-dedup) and the router run in the test
// process.
//
// Ports: everything listens on port 0. The proxies listen first, without a target;
// each node process binds its own listeners and reports them (procAddrs), and the
// proxies in front of it are pointed there (route) — after every restart too, since a
// restarted node binds new ports. The group's configuration names the proxies, which
// outlive the processes: member i's raft address is raftPx[i][i], a proxy to node i
// that no member dials (each dials its peers through its own link proxies), and its
// RPC address is rpcPx[i].
type procCluster struct {
	t     testing.TB
	dir   string
	sim   *exchsim.Sim
	srv   *exchsim.Server
	specs []procSpec

	mu    sync.Mutex
	procs []*exec.Cmd // nil while down
	exits []chan int  // exit code of the current process
	ctl   []string    // control addresses ("" while down)
	hc    *http.Client

	raftPx [3][3]*faultproxy.Proxy
	gwPx   [3]*faultproxy.Proxy
	rpcPx  [3]*faultproxy.Proxy
	rt     *router.Router
	cli    copytrade.Client

	copiers []int64
	nextID  atomic.Int64 // trade IDs
	acked   atomic.Int64 // fills acknowledged (every submitted fill is retried until acked)

	dupSeen map[string]int64 // order ID → extra executions already reported
	placeMu sync.Mutex
	placed  map[string][]placeEvent // order ID → what the venue answered each time (diagnostics)
	lastErr atomic.Value            // the last error a fill or follow call got (string), for stall reports

	histMu sync.Mutex
	hist   []porcupine.Operation
	t0     time.Time
}

const (
	procTrader  = 1_000_001 // fills flow for this trader
	procTrader2 = 1_000_002 // follow-setting changes are made on this trader's follows
)

func newProcCluster(t testing.TB, copiers int) *procCluster {
	t.Helper()
	sc := exchsim.DefaultConfig()
	sc.Mode, sc.MarkStepInterval, sc.Logger = exchsim.NoDedup, 0, testLogger()
	c := &procCluster{t: t, dir: t.TempDir(), t0: time.Now(),
		procs: make([]*exec.Cmd, 3), dupSeen: map[string]int64{}, exits: make([]chan int, 3), ctl: make([]string, 3),
		hc: &http.Client{Timeout: 2 * time.Second}, placed: map[string][]placeEvent{}}
	sc.OnPlace = c.onPlace
	sim, err := exchsim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	c.sim = sim
	if c.srv, err = exchsim.Serve(sim, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stopAll)
	t.Cleanup(c.dumpLogs) // runs first: the processes are still up, the files still there
	px := func(target string) *faultproxy.Proxy {
		p, err := faultproxy.New("127.0.0.1:0", target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	var members []Member
	topo := &router.Topology{Groups: []router.GroupSpec{{ID: 1}}}
	for i := range 3 {
		c.gwPx[i] = px(c.srv.Addr().String())
		c.rpcPx[i] = px("") // targets set by route once the node reports its addresses
		for j := range 3 {
			c.raftPx[i][j] = px("")
		}
		id := fmt.Sprintf("n%d", i+1)
		members = append(members, Member{ID: id, RaftAddr: c.raftPx[i][i].Addr(), RPCAddr: c.rpcPx[i].Addr()})
		topo.Groups[0].Members = append(topo.Groups[0].Members,
			router.MemberSpec{ID: id, RaftAddr: c.raftPx[i][i].Addr(), RPCAddr: c.rpcPx[i].Addr()})
	}
	for i := range copiers {
		c.copiers = append(c.copiers, int64(5_000_000+i))
	}
	for i := range 3 {
		peers := map[string]string{}
		for j := range 3 {
			if i != j {
				peers[members[j].ID] = c.raftPx[i][j].Addr()
			}
		}
		c.specs = append(c.specs, procSpec{NodeID: members[i].ID, DataDir: filepath.Join(c.dir, members[i].ID),
			RaftAddr: "127.0.0.1:0", RaftAdvertise: members[i].RaftAddr, RPCAddr: "127.0.0.1:0", CtlAddr: "127.0.0.1:0",
			AddrFile: filepath.Join(c.dir, members[i].ID+".addrs"), Gateway: c.gwPx[i].Addr(),
			Members: members, PeerAddrs: peers, Trailing: 64, Settle: true, Trader: procTrader, Copiers: c.copiers})
	}
	c.startAll()
	c.leader()
	rc := router.DefaultConfig()
	rc.ListenAddr, rc.RequestTimeout, rc.BackoffMax, rc.Logger = "127.0.0.1:0", 10*time.Second, 100*time.Millisecond, testLogger()
	if c.rt, err = router.New(rc, topo); err != nil {
		t.Fatal(err)
	}
	if err := c.rt.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.rt.Close(context.Background()) })
	cli, err := NewClient([]string{c.rt.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	c.cli = cli
	c.seed()
	return c
}

// start starts node i and waits until it reported its addresses and the proxies in
// front of it lead there.
func (c *procCluster) start(i int) {
	c.t.Helper()
	c.launch(i)
	c.await(i)
}

// startAll starts the three nodes at once (a group restart) and waits for each.
func (c *procCluster) startAll() {
	c.t.Helper()
	for i := range 3 {
		c.launch(i)
	}
	for i := range 3 {
		c.await(i)
	}
}

// launch starts node i's process.
func (c *procCluster) launch(i int) {
	c.t.Helper()
	sp := c.specs[i]
	if err := os.Remove(sp.AddrFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.t.Fatal(err) // the last run's addresses: await must not read them
	}
	js, err := sonic.MarshalString(sp)
	if err != nil {
		c.t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, sp.NodeID+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), procEnv+"="+js)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", sp.NodeID, err)
	}
	exit := make(chan int, 1)
	go func() {
		_ = cmd.Wait()
		logf.Close()
		exit <- cmd.ProcessState.ExitCode()
	}()
	c.mu.Lock()
	c.procs[i], c.exits[i] = cmd, exit
	c.mu.Unlock()
}

// await waits for node i's address file and routes its proxies there.
func (c *procCluster) await(i int) {
	c.t.Helper()
	sp := c.specs[i]
	c.mu.Lock()
	exit := c.exits[i]
	c.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(sp.AddrFile)
		if err == nil {
			var a procAddrs
			if err := sonic.Unmarshal(b, &a); err != nil {
				c.t.Fatalf("%s's address file: %v", sp.NodeID, err)
			}
			if a.RaftAdvertise != sp.RaftAdvertise || a.Raft == "" || a.RPC == "" || a.Ctl == "" {
				c.t.Fatalf("%s reported %+v; it was told to advertise %s", sp.NodeID, a, sp.RaftAdvertise)
			}
			c.route(i, &a)
			return
		}
		if !errors.Is(err, os.ErrNotExist) {
			c.t.Fatal(err)
		}
		select {
		case code := <-exit:
			exit <- code // for exited
			c.t.Fatalf("%s exited %d before it reported its addresses", sp.NodeID, code)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s did not report its addresses within 60s", sp.NodeID)
		}
	}
}

// route points the proxies in front of node i at its listeners (a.Raft, a.RPC; nil:
// node i is down, and connections to it are refused).
func (c *procCluster) route(i int, a *procAddrs) {
	raftAddr, rpc, ctl := "", "", ""
	if a != nil {
		raftAddr, rpc, ctl = a.Raft, a.RPC, a.Ctl
	}
	for j := range 3 {
		c.raftPx[j][i].SetTarget(raftAddr)
	}
	c.rpcPx[i].SetTarget(rpc)
	c.mu.Lock()
	c.ctl[i] = ctl
	c.mu.Unlock()
}

// kill SIGKILLs node i and waits for it to die.
func (c *procCluster) kill(i int) {
	c.mu.Lock()
	p, exit := c.procs[i], c.exits[i]
	c.procs[i] = nil
	c.mu.Unlock()
	if p == nil {
		return
	}
	c.route(i, nil)                       // nothing reaches the ports it is about to release
	_ = p.Process.Signal(syscall.SIGCONT) // a stopped process dies on SIGKILL too; be sure
	_ = p.Process.Kill()
	<-exit
}

// exited waits for node i to exit by itself and returns its exit code.
func (c *procCluster) exited(i int, timeout time.Duration) int {
	c.t.Helper()
	c.mu.Lock()
	exit := c.exits[i]
	c.mu.Unlock()
	select {
	case code := <-exit:
		c.mu.Lock()
		c.procs[i] = nil
		c.mu.Unlock()
		c.route(i, nil)
		return code
	case <-time.After(timeout):
		c.t.Fatalf("%s did not exit within %s", c.specs[i].NodeID, timeout)
		return -1
	}
}

func (c *procCluster) signal(i int, s syscall.Signal) {
	c.mu.Lock()
	p := c.procs[i]
	c.mu.Unlock()
	if p != nil {
		_ = p.Process.Signal(s)
	}
}

// logf logs a scenario event with its wall time, to line up with the nodes' logs.
func (c *procCluster) logf(format string, args ...any) {
	c.t.Logf("%s "+format, append([]any{time.Now().UTC().Format("15:04:05.000")}, args...)...)
}

// dumpLogs prints the tail of every node's log when the test failed.
func (c *procCluster) dumpLogs() {
	if !c.t.Failed() {
		return
	}
	for _, sp := range c.specs {
		b, err := os.ReadFile(filepath.Join(c.dir, sp.NodeID+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		c.t.Logf("--- last lines of %s's log:\n%s", sp.NodeID, strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}

func (c *procCluster) stopAll() {
	for i := range c.procs {
		c.kill(i)
	}
	_ = c.srv.Stop()
}

func (c *procCluster) ctlGet(i int, path string, out any) error {
	c.mu.Lock()
	addr := c.ctl[i]
	c.mu.Unlock()
	if addr == "" {
		return fmt.Errorf("%s %s: the node is down", c.specs[i].NodeID, path)
	}
	resp, err := c.hc.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", c.specs[i].NodeID, path, resp.Status, b)
	}
	if out != nil {
		return sonic.Unmarshal(b, out)
	}
	return nil
}

func (c *procCluster) state(i int) (procState, error) {
	var st procState
	err := c.ctlGet(i, "/state", &st)
	return st, err
}

// leader waits for exactly one node to report a ready leadership.
func (c *procCluster) leader() int {
	c.t.Helper()
	idx := -1
	waitFor(c.t, 30*time.Second, 20*time.Millisecond, func() bool {
		idx = -1
		for i := range 3 {
			if st, err := c.state(i); err == nil && st.Leader {
				if idx >= 0 {
					return false
				}
				idx = i
			}
		}
		return idx >= 0
	})
	return idx
}

// seed creates the instrument, the two traders and the copiers' follows of procTrader.
// Each call is retried until it succeeds or finds its work done: on a loaded box the
// first leader can lose its lease while a call is in flight (outcome unknown).
func (c *procCluster) seed() {
	c.t.Helper()
	c.seedCall("instrument", 0, func(ctx context.Context) error {
		_, err := c.cli.UpsertInstrument(ctx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{
			Symbol: testSymbol, LotStep: "0.001", TickSize: "0.1", MinQty: "0.001", MinNotional: "5", MaxLeverage: 125,
		}})
		return err
	})
	for _, tr := range []int64{procTrader, procTrader2} {
		c.seedCall(fmt.Sprintf("apply trader %d", tr), ct.ErrorCode_TRADER_EXISTS, func(ctx context.Context) error {
			_, err := c.cli.ApplyTrader(ctx, &ct.ApplyTraderRequest{Trader: tr, Stats: &ct.ApplicantStats{Equity: "100000"},
				Config: &ct.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 2000}})
			return err
		})
	}
	for _, cp := range c.copiers {
		c.seedCall(fmt.Sprintf("follow %d", cp), ct.ErrorCode_FOLLOW_EXISTS, func(ctx context.Context) error {
			_, err := c.cli.Follow(ctx, &ct.FollowRequest{Trader: procTrader, Copier: cp, Settings: procFollowSettings(100)})
			return err
		})
	}
}

// seedCall retries call until it succeeds or fails with done (an earlier attempt took
// effect), for up to a minute.
func (c *procCluster) seedCall(what string, done ct.ErrorCode, call func(context.Context) error) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := call(ctx)
		cancel()
		if err == nil {
			return
		}
		if be, ok := kerrors.FromBizStatusError(err); ok && done != 0 && be.BizStatusCode() == int32(done) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func procFollowSettings(margin int64) *ct.FollowSettings {
	return &ct.FollowSettings{
		Mode: ct.CopyMode_FIXED_AMOUNT, FixedMargin: strconv.FormatInt(margin, 10), Allocation: "900000",
		LeveragePolicy: ct.LeveragePolicy_FOLLOW_TRADER, MarginPolicy: ct.MarginPolicy_FOLLOW_TRADER,
		PositionMode: ct.PositionMode_HEDGE,
	}
}

// fill submits the next trade through the router and retries it (the same trade ID)
// until it is acknowledged; it returns the time of the acknowledgement.
func (c *procCluster) fill(stop <-chan struct{}) (time.Time, bool) {
	id := c.nextID.Add(1)
	side, pos, qty := ct.Side_BUY, ct.PositionSide_LONG, "0.2"
	if id%2 == 0 {
		side, qty = ct.Side_SELL, "0.1"
	}
	f := &ct.Fill{Trader: procTrader, TradeId: id, Instrument: testSymbol, Side: side, PositionSide: pos,
		Qty: qty, Price: "60000", Leverage: 10, MarginMode: ct.MarginMode_CROSS, Equity: "100000",
		// Fill contract v2: odd IDs buy 0.2, even IDs sell 0.1, so after trade id the
		// venue's position is (2·ceil(id/2) − floor(id/2)) × 0.1.
		PositionAfter: fmt.Sprintf("%d.%d", (2*((id+1)/2)-id/2)/10, (2*((id+1)/2)-id/2)%10), EventTimeNs: time.Now().UnixNano()}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		resp, err := c.cli.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: procTrader, Fill: f, Wait: ct.WaitFor_ACKED, TimeoutMs: 2500})
		cancel()
		if err != nil {
			c.lastErr.Store("fill: " + err.Error())
			if be, ok := kerrors.FromBizStatusError(err); ok && be.BizStatusCode() == int32(ct.ErrorCode_DUPLICATE_FILL) {
				c.acked.Add(1) // an earlier attempt of this fill was applied
				return time.Now(), true
			}
		}
		if err == nil {
			switch resp.GetOutcome().GetCode() {
			case ct.ErrorCode_OK, ct.ErrorCode_DUPLICATE_FILL:
				c.acked.Add(1)
				return time.Now(), true
			}
		}
		select {
		case <-stop:
			// keep retrying this one: every submitted fill must end acknowledged
		default:
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Errorf("fill %d never acknowledged", id)
	return time.Time{}, false
}

// placeEvent is one answer of the venue to a placement of a client order ID.
type placeEvent struct {
	at, expiry time.Time
	term       int64
	status     string
}

func (e placeEvent) String() string {
	return fmt.Sprintf("%s term %d expiry %s %s", e.at.Format("15:04:05.000"), e.term, e.expiry.Format("15:04:05.000"), e.status)
}

// onPlace is exchsim's OnPlace: it keeps who placed each copier order when.
func (c *procCluster) onPlace(o *exchsim.Order, r *exchsim.OrderResult) {
	c.placeMu.Lock()
	c.placed[o.ClientOrderID] = append(c.placed[o.ClientOrderID], placeEvent{at: time.Unix(0, r.TimeUnixNano),
		expiry: time.Unix(0, o.ExpiryUnixNano), term: o.SenderTerm, status: fmt.Sprintf("%v/%v", r.Status, r.Reason)})
	c.placeMu.Unlock()
}

// record appends one follow-registry operation to the history. An operation whose
// outcome is unknown never returns (opNeverReturned): the client gave up, but its write
// may still be applied later (the router or an old leader still holds it).
func (c *procCluster) record(call time.Time, in followIn, out followOut) {
	ret := int64(time.Since(c.t0))
	if out.unknown {
		ret = opNeverReturned
	}
	c.histMu.Lock()
	c.hist = append(c.hist, porcupine.Operation{Input: in, Output: out, Call: int64(call.Sub(c.t0)), Return: ret})
	c.histMu.Unlock()
}

// followOps changes and reads the follows of procTrader2 by 3 copiers until stop.
func (c *procCluster) followOps(stop <-chan struct{}, client int) int {
	ops := 0
	for k := 0; ; k++ {
		select {
		case <-stop:
			return ops
		default:
		}
		cp := int64(7_000_000 + (k+client)%3)
		margin := int64(100 + 10*((k*7+client)%9))
		call := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var err error
		in := followIn{copier: cp, margin: margin}
		switch (k*3 + client) % 4 {
		case 0:
			in.kind = opFollow
			_, err = c.cli.Follow(ctx, &ct.FollowRequest{Trader: procTrader2, Copier: cp, Settings: procFollowSettings(margin)})
		case 1:
			in.kind = opUpdate
			_, err = c.cli.UpdateFollow(ctx, &ct.UpdateFollowRequest{Trader: procTrader2, Copier: cp, Settings: procFollowSettings(margin)})
		case 2:
			in.kind, in.margin = opUnfollow, 0
			_, err = c.cli.Unfollow(ctx, &ct.UnfollowRequest{Trader: procTrader2, Copier: cp})
		default:
			in.kind, in.margin = opGet, 0
			resp, gerr := c.cli.ListCopierFollows(ctx, &ct.ListCopierFollowsRequest{Copier: cp})
			cancel()
			if gerr != nil {
				continue // a failed read says nothing
			}
			out := followOut{}
			for _, f := range resp.GetFollows() {
				if f.Trader == procTrader2 {
					out.ok = true
					out.margin, _ = strconv.ParseInt(f.GetSettings().GetFixedMargin(), 10, 64)
				}
			}
			c.record(call, in, out)
			ops++
			continue
		}
		cancel()
		if err != nil {
			c.lastErr.Store("follow: " + err.Error())
		}
		out := followOut{ok: err == nil}
		if err != nil {
			be, ok := kerrors.FromBizStatusError(err)
			switch {
			case ok && in.kind == opFollow && be.BizStatusCode() == int32(ct.ErrorCode_FOLLOW_EXISTS):
			case ok && in.kind != opFollow && be.BizStatusCode() == int32(ct.ErrorCode_UNKNOWN_FOLLOW):
			default:
				out.unknown = true
			}
		}
		c.record(call, in, out)
		ops++
		time.Sleep(5 * time.Millisecond)
	}
}

// settled waits until the three nodes answer, hold no pending order and are at the
// same applied index; it returns their states.
func (c *procCluster) settled(timeout time.Duration) []procState {
	c.t.Helper()
	var sts []procState
	waitFor(c.t, timeout, 50*time.Millisecond, func() bool {
		sts = sts[:0]
		for i := range 3 {
			st, err := c.state(i)
			if err != nil || st.Pending != 0 || (i > 0 && st.Applied != sts[0].Applied) {
				return false
			}
			sts = append(sts, st)
		}
		return true
	})
	return sts
}

// procResult is one scenario's outcome.
type procResult struct {
	name                     string
	faults                   int
	lost, dup, hashMismatch  int
	linearizable             bool
	failover                 time.Duration
	fills, followOps, orders int
}

func (r procResult) line() string {
	return fmt.Sprintf("chaos: %s faults=%d fills=%d orders=%d follow_ops=%d lost=%d dup=%d hash_mismatch=%d linearizable=%t failover_ms=%d",
		r.name, r.faults, r.fills, r.orders, r.followOps, r.lost, r.dup, r.hashMismatch, r.linearizable, r.failover.Milliseconds())
}

// check restarts nothing: every node must be up. It asserts exactly-once at the venue,
// equal state hashes, ledger == venue, every acknowledged fill applied, and the follow
// history's linearizability.
func (c *procCluster) check(r *procResult) {
	c.t.Helper()
	sts := c.settled(60 * time.Second)
	for i := 1; i < len(sts); i++ {
		if sts[i].Hash != sts[0].Hash {
			r.hashMismatch++
			c.t.Errorf("%s: %s's state hash differs from %s's at index %d", r.name, sts[i].ID, sts[0].ID, sts[0].Applied)
		}
	}
	st := sts[0]
	if got, want := st.SignalSeq, uint64(c.acked.Load()); got != want {
		c.t.Errorf("%s: %d fills applied, %d acknowledged", r.name, got, want)
	}
	for seq := uint64(1); seq <= st.OrderSeq; seq++ {
		id := "c" + strconv.FormatUint(procTrader, 36) + "-" + strconv.FormatUint(seq, 36)
		switch n := c.sim.OrderCount(id); {
		case n == 0:
			r.lost++
		case n > 1 && n-1 > c.dupSeen[id]: // extra executions since the last check
			r.dup += int(n - 1 - c.dupSeen[id])
			c.dupSeen[id] = n - 1
			if r.dup <= 5 {
				c.placeMu.Lock()
				evs := c.placed[id]
				c.placeMu.Unlock()
				c.t.Errorf("%s: order %s executed %d times at the no-dedup venue: %v", r.name, id, n, evs)
			}
		}
	}
	if r.lost > 0 {
		c.t.Errorf("%s: %d of %d planned orders never reached the venue", r.name, r.lost, st.OrderSeq)
	}
	var dups int64
	for _, d := range c.dupSeen {
		dups += d
	}
	if created := c.sim.Stats().OrdersCreated; created != int64(st.OrderSeq)+dups {
		c.t.Errorf("%s: the venue created %d orders, the machine planned %d (and %d duplicates seen)", r.name, created, st.OrderSeq, dups)
	}
	bad := 0
	for _, s := range sts {
		for _, cp := range c.copiers {
			l, _ := c.sim.PositionOf(cp, testSymbol, exchsim.Long)
			sh, _ := c.sim.PositionOf(cp, testSymbol, exchsim.Short)
			if p := s.Positions[cp]; p[0] != int64(l.Qty) || p[1] != int64(sh.Qty) {
				if bad < 3 {
					c.t.Errorf("%s: %s copier %d: ledger %v, venue long %s short %s", r.name, s.ID, cp, p, l.Qty, sh.Qty)
				}
				bad++
			}
		}
	}
	c.histMu.Lock() // the whole history since the cluster started: the model starts empty
	hist := append([]porcupine.Operation(nil), c.hist...)
	c.histMu.Unlock()
	r.linearizable = checkFollowHistory(hist)
	if !r.linearizable {
		c.t.Errorf("%s: the follow-setting history (%d operations) is not linearizable", r.name, len(hist))
		for _, part := range followModel.Partition(hist) {
			if !checkFollowHistory(part) {
				for _, op := range part {
					ret := "never" // outcome unknown
					if op.Return != opNeverReturned {
						ret = strconv.FormatInt(op.Return/1e6, 10)
					}
					c.t.Logf("  [%d ms, %s] %+v -> %+v", op.Call/1e6, ret, op.Input, op.Output)
				}
				break
			}
		}
	}
	r.orders = int(st.OrderSeq)
}
