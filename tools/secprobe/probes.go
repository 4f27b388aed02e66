package secprobe

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
	"github.com/copytrade/copytrade/shard"
)

const callTimeout = 5 * time.Second

// want records a probe refused iff err carries code.
func want(r *Report, name string, err error, code ct.ErrorCode) {
	got := convert.CodeOf(err)
	r.probe(name, got == code, fmt.Sprintf("got %v (code %v), want %v", err, got, code))
}

func second[T any](_ T, err error) error { return err }

func probeTokens(ctx context.Context, e *env, r *Report, _ int) {
	other, _ := auth.GenerateKey(e.key.ID) // same key ID, another secret
	forged, _ := auth.Mint(other, "ops", auth.RoleAdmin, time.Hour)
	unknown, _ := auth.GenerateKey("k9")
	unknownTok, _ := auth.Mint(unknown, "ops", auth.RoleAdmin, time.Hour)
	expired, _ := auth.MintAt(e.key, "ops", auth.RoleAdmin, time.Now().Add(-time.Second))
	valid, _ := auth.Mint(e.key, "7000002", auth.AccountRole(e.attacker), time.Hour)
	f := strings.Split(valid, ".")
	edited := strings.Join([]string{f[0], f[1], f[2], "YWRtaW4", f[4], f[5]}, ".") // role "admin", same signature
	sig := f[5]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, sig[len(sig)-1])
	padding := strings.Join(append(f[:5:5], sig[:len(sig)-1]+string(alphabet[i^1])), ".")
	lineBreak := strings.Join(append(f[:5:5], sig[:1]+"\n"+sig[1:]), ".")
	for name, tok := range map[string]string{
		"missing": "", "expired": expired, "forged": forged, "unknown key": unknownTok, "garbage": "v1.k1.x.y.z.w",
		"edited role": edited, "altered base64 padding": padding, "line break in the signature": lineBreak,
	} {
		cctx, cancel := context.WithTimeout(auth.WithToken(context.Background(), tok), callTimeout)
		if tok == "" {
			cctx, cancel = context.WithTimeout(context.Background(), callTimeout)
		}
		want(r, "token "+name, second(e.cli.GetTrader(cctx, &ct.GetTraderRequest{Trader: e.trader})), ct.ErrorCode_UNAUTHENTICATED)
		cancel()
	}
}

func probeAuthz(ctx context.Context, e *env, r *Report, reps int) {
	reps = min(reps, 5) // within the account's rate budget: these must be FORBIDDEN, not limited
	a := e.account(e.attacker)
	cctx, cancel := context.WithTimeout(a, 30*time.Second)
	defer cancel()
	calls := map[string]func() error{
		"follow as the victim": func() error {
			return second(e.cli.Follow(cctx, &ct.FollowRequest{Trader: e.trader, Copier: e.victim, Settings: followSettings()}))
		},
		"update the victim's follow": func() error {
			return second(e.cli.UpdateFollow(cctx, &ct.UpdateFollowRequest{Trader: e.trader, Copier: e.victim, Settings: followSettings()}))
		},
		"unfollow for the victim": func() error {
			return second(e.cli.Unfollow(cctx, &ct.UnfollowRequest{Trader: e.trader, Copier: e.victim, ClosePositions: true}))
		},
		"pause the trader": func() error {
			return second(e.cli.PauseTrader(cctx, &ct.PauseTraderRequest{Trader: e.trader}))
		},
		"update the trader": func() error {
			return second(e.cli.UpdateTrader(cctx, &ct.UpdateTraderRequest{Trader: e.trader, Config: &ct.TraderConfig{ProfitShareBps: 3000}}))
		},
		"submit a fill": func() error {
			return second(e.cli.SubmitFill(cctx, &ct.SubmitFillRequest{Trader: e.trader, Fill: openFill(e.trader, 99)}))
		},
		"upsert an instrument": func() error {
			return second(e.cli.UpsertInstrument(cctx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{Symbol: Symbol, LotStep: "1", TickSize: "1", MinQty: "1", MaxLeverage: 1}}))
		},
		"settle": func() error { return second(e.cli.Settle(cctx, &ct.SettleRequest{Period: 20000})) },
		"read the victim's follows": func() error {
			return second(e.cli.ListCopierFollows(cctx, &ct.ListCopierFollowsRequest{Copier: e.victim}))
		},
		"read the victim's positions": func() error {
			return second(e.cli.GetPositions(cctx, &ct.GetPositionsRequest{Copier: e.victim}))
		},
		"read the victim's orders": func() error {
			return second(e.cli.ListOrders(cctx, &ct.ListOrdersRequest{Copier: e.victim}))
		},
		"list the trader's followers": func() error {
			return second(e.cli.ListFollowers(cctx, &ct.ListFollowersRequest{Trader: e.trader}))
		},
		"add a member": func() error {
			return second(e.cli.AddMember(router.WithGroup(cctx, 1), &ct.AddMemberRequest{Id: "x", RaftAddr: "127.0.0.1:1", RpcAddr: "127.0.0.1:2"}))
		},
		"group status": func() error {
			return second(e.cli.GroupStatus(router.WithGroup(cctx, 1), &ct.GroupStatusRequest{}))
		},
	}
	for i := 0; i < reps; i++ {
		for name, call := range calls {
			want(r, "account "+name, call(), ct.ErrorCode_FORBIDDEN)
		}
	}
}

// probeLeak: ListOrders by signal with the attacker's own copier ID must not return
// another copier's order.
func probeLeak(ctx context.Context, e *env, r *Report, _ int) {
	cctx, cancel := context.WithTimeout(e.account(e.attacker), callTimeout)
	defer cancel()
	resp, err := e.cli.ListOrders(cctx, &ct.ListOrdersRequest{Trader: e.trader, TradeId: e.tradeID, Copier: e.attacker})
	leaked := 0
	for _, o := range resp.GetOrders() {
		if o.GetCopier() != e.attacker {
			leaked++
		}
	}
	r.probe("ListOrders by signal as a non-follower", err != nil || leaked == 0, fmt.Sprintf("read %d orders of other copiers", leaked))
	cctx2, cancel2 := context.WithTimeout(e.account(e.attacker), callTimeout)
	defer cancel2()
	want(r, "ListOrders of a whole signal as an account", second(e.cli.ListOrders(cctx2, &ct.ListOrdersRequest{Trader: e.trader, TradeId: e.tradeID})), ct.ErrorCode_FORBIDDEN)
}

func probeEligibility(ctx context.Context, e *env, r *Report, _ int) {
	cctx, cancel := context.WithTimeout(e.account(e.attacker), callTimeout)
	defer cancel()
	err := second(e.cli.ApplyTrader(cctx, &ct.ApplyTraderRequest{Trader: e.attacker,
		Stats:  &ct.ApplicantStats{WinRateBps: 10000, RoiBps: 100000, ClosedTrades: 1000, Equity: "1000000000"},
		Config: &ct.TraderConfig{ProfitShareBps: 1000}}))
	want(r, "apply to lead with self-stated statistics", err, ct.ErrorCode_FORBIDDEN)
}

func probeMembership(ctx context.Context, e *env, r *Report, _ int) {
	dead, err := freeAddr()
	if err != nil {
		r.probe("membership setup", false, err.Error())
		return
	}
	for name, m := range map[string]*ct.AddMemberRequest{
		"a 10 KB member ID":                   {Id: strings.Repeat("n", 10_000), RaftAddr: dead, RpcAddr: dead},
		"raft address not-an-addr":            {Id: "n9", RaftAddr: "not-an-addr", RpcAddr: dead},
		"a raft address that does not answer": {Id: "n9", RaftAddr: dead, RpcAddr: dead},
	} {
		cctx, cancel := context.WithTimeout(router.WithGroup(e.admin, 1), 10*time.Second)
		want(r, "add member with "+name, second(e.cli.AddMember(cctx, m)), ct.ErrorCode_INVALID_ARGUMENT)
		cancel()
	}
	cctx, cancel := context.WithTimeout(router.WithGroup(e.admin, 1), callTimeout)
	defer cancel()
	st, err := e.cli.GroupStatus(cctx, &ct.GroupStatusRequest{})
	r.probe("membership unchanged", err == nil && len(st.GetMembers()) == 3, fmt.Sprintf("%v, members %d", err, len(st.GetMembers())))
}

func probeRateLimit(ctx context.Context, e *env, r *Report, reps int) {
	// Calls with a token that does not verify: limited per peer address. The router's
	// default budget is 40 at once, 20/s.
	limited := false
	for i := 0; i < 400 && !limited; i++ {
		cctx, cancel := context.WithTimeout(auth.WithToken(context.Background(), "v1.k1.bad.bad.1.bad"), callTimeout)
		limited = convert.CodeOf(second(e.cli.GetTrader(cctx, &ct.GetTraderRequest{Trader: e.trader}))) == ct.ErrorCode_RATE_LIMITED
		cancel()
	}
	r.probe("a bad-token flood is rate limited", limited, "400 calls with a bad token, none RATE_LIMITED")
}

func probeTLS(ctx context.Context, e *env, r *Report, _ int) {
	node := e.cl.Groups[0].Nodes[0].RPCAddr
	otherCA := tlstest.MustCA("not the deployment")
	for _, target := range []struct{ name, addr string }{{"router", e.cl.RouterAddr}, {"node", node}} {
		for name, opts := range map[string][]client.Option{
			"plaintext":          nil,
			"another CA's admin": kitexopt.TLSClient(otherCA.Store(tlsconf.RoleIdentity("admin", "ops")), nil),
		} {
			cli, err := shard.NewClient([]string{target.addr}, opts...)
			if err != nil {
				r.probe(name+" to the "+target.name, false, err.Error())
				continue
			}
			cctx, cancel := context.WithTimeout(e.admin, 3*time.Second)
			_, err = cli.GetTrader(cctx, &ct.GetTraderRequest{Trader: e.trader})
			cancel()
			_ = cli.Close()
			r.probe(name+" client to the "+target.name, err != nil && convert.CodeOf(err) == ct.ErrorCode_OK, "answered")
		}
	}
}

// probeRaft sends TimeoutNow, AppendEntries and InstallSnapshot to a follower's raft
// port with credentials that are not a member's, and checks the leader and term held.
func probeRaft(ctx context.Context, e *env, r *Report, _ int) {
	status := func() (*ct.GroupStatusResponse, error) {
		cctx, cancel := context.WithTimeout(router.WithGroup(e.admin, 1), callTimeout)
		defer cancel()
		return e.cli.GroupStatus(cctx, &ct.GroupStatusRequest{})
	}
	before, err := status()
	if err != nil {
		r.probe("raft setup", false, err.Error())
		return
	}
	var target, leader *struct{ id, raft string }
	for _, n := range e.cl.Groups[0].Nodes {
		n := &struct{ id, raft string }{n.ID, n.RaftAddr}
		if n.id == before.GetLeaderId() {
			leader = n
		} else if target == nil {
			target = n
		}
	}
	if leader == nil || target == nil {
		r.probe("raft setup", false, "no leader known")
		return
	}
	otherCA := tlstest.MustCA("not the deployment")
	trusting := func(s *tlsconf.Store) *tls.Config {
		c := s.ClientConfig(nil)
		c.VerifyConnection = nil
		return c
	}
	tlsDial := func(c *tls.Config) func(string, time.Duration) (net.Conn, error) {
		return func(addr string, timeout time.Duration) (net.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, c)
		}
	}
	for name, dial := range map[string]func(string, time.Duration) (net.Conn, error){
		"plain TCP": func(addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("tcp", addr, timeout)
		},
		"TLS without a certificate":             tlsDial(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}),
		"another CA's certificate of a member":  tlsDial(trusting(otherCA.Store(tlsconf.NodeIdentity(1, leader.id)))),
		"a valid certificate of group 2's node": tlsDial(trusting(e.cl.CA.Store(tlsconf.NodeIdentity(2, leader.id)))),
	} {
		for i, err := range attackRaft(dial, target.id, target.raft, leader.id, leader.raft, uint64(before.GetTerm()), uint64(before.GetLastLogIndex())) {
			rpc := []string{"TimeoutNow", "AppendEntries", "InstallSnapshot"}[i]
			r.probe("raft "+rpc+" with "+name, err != nil, "answered")
		}
	}
	time.Sleep(500 * time.Millisecond) // an election would have started by now
	after, err := status()
	// An attacker's AppendEntries or snapshot accepted would have put the group at its
	// term, 1000 ahead (an election of the group's own moves it by one).
	r.probe("raft term not taken from an attacker", err == nil && after.GetTerm() < before.GetTerm()+attackTerm,
		fmt.Sprintf("%v: leader %s term %d → leader %s term %d", err, before.GetLeaderId(), before.GetTerm(), after.GetLeaderId(), after.GetTerm()))
}

// attackTerm is how far ahead of the group the attacker's raft terms are.
const attackTerm = 1000

type dialStream struct {
	net.Listener
	dial func(string, time.Duration) (net.Conn, error)
}

func (s *dialStream) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.dial(string(a), timeout)
}

func attackRaft(dial func(string, time.Duration) (net.Conn, error), targetID, targetAddr, leaderID, leaderAddr string, term, last uint64) []error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return []error{err, err, err}
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: &dialStream{Listener: ln, dial: dial}, MaxPool: 1, Timeout: 2 * time.Second,
		Logger: hclog.NewNullLogger(),
	})
	defer trans.Close()
	id, addr := raft.ServerID(targetID), raft.ServerAddress(targetAddr)
	hdr := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(leaderID), Addr: []byte(leaderAddr)}
	snap := []byte("not a snapshot")
	return []error{
		trans.TimeoutNow(id, addr, &raft.TimeoutNowRequest{RPCHeader: hdr}, &raft.TimeoutNowResponse{}),
		trans.AppendEntries(id, addr, &raft.AppendEntriesRequest{RPCHeader: hdr, Term: term + attackTerm, PrevLogEntry: last, PrevLogTerm: term,
			Entries: []*raft.Log{{Index: last + 1, Term: term + attackTerm, Type: raft.LogNoop}}, LeaderCommitIndex: last + 1}, &raft.AppendEntriesResponse{}),
		trans.InstallSnapshot(id, addr, &raft.InstallSnapshotRequest{RPCHeader: hdr, SnapshotVersion: raft.SnapshotVersionMax, Term: term + 2*attackTerm,
			LastLogIndex: last + 1000, LastLogTerm: term + 2*attackTerm, Size: int64(len(snap))}, &raft.InstallSnapshotResponse{}, bytes.NewReader(snap)),
	}
}

func probeHTTP(ctx context.Context, e *env, r *Report, _ int) {
	addrs := []string{e.cl.RouterHTTP}
	for _, n := range e.cl.Groups[0].Nodes {
		addrs = append(addrs, n.HTTPAddr)
	}
	hc := &http.Client{Timeout: callTimeout}
	for _, a := range addrs {
		if a == "" {
			continue
		}
		resp, err := hc.Get("http://" + a + "/debug/pprof/")
		code := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		r.probe("pprof on the metrics port "+a, err == nil && code == http.StatusNotFound, fmt.Sprintf("%v status %d", err, code))
	}
}

func probeDataAtRest(ctx context.Context, e *env, r *Report, _ int) {
	check := func(what, path string, want os.FileMode) {
		st, err := os.Stat(path)
		r.probe(what+" "+filepath.Base(path)+" is its owner's only", err == nil && st.Mode().Perm()&0o077 == 0 && st.Mode().Perm() == want,
			fmt.Sprintf("%v mode %v", err, modeOf(st)))
	}
	for _, n := range e.cl.Groups[0].Nodes {
		check("data dir", filepath.Join(e.cl.Dir, n.ID), 0o700)
		check("raft log", filepath.Join(e.cl.Dir, n.ID, "raft.db"), 0o600)
	}
	check("key file", filepath.Join(e.cl.Dir, "keys.json"), 0o600)
}

func modeOf(st os.FileInfo) os.FileMode {
	if st == nil {
		return 0
	}
	return st.Mode().Perm()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
