package shard

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// dialStream is a raft.StreamLayer that only dials, with dial: an attacker's transport.
type dialStream struct {
	net.Listener
	dial func(addr string, timeout time.Duration) (net.Conn, error)
}

func (s *dialStream) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.dial(string(a), timeout)
}

// raftView is what an attack must not change.
type raftView struct {
	leader raft.ServerID
	terms  []string
	last   []uint64
}

func viewOf(c *cluster) raftView {
	var v raftView
	for _, n := range c.live() {
		_, id := n.raft.LeaderWithID()
		if n.IsLeader() {
			v.leader = id
		}
		v.terms = append(v.terms, n.raft.Stats()["term"])
		v.last = append(v.last, n.raft.LastIndex())
	}
	return v
}

// attackTerm is added to the current term in the attacker's AppendEntries (and twice
// it in InstallSnapshot): a node that accepted either would be at a term no election
// of this test reaches.
const attackTerm = 1000

// attackRaft sends TimeoutNow, AppendEntries and InstallSnapshot to a follower through
// a transport dialling with dial, each as convincing as raft's own (a later term, the
// follower's real position in the log), and returns the errors.
func attackRaft(t *testing.T, c *cluster, dial func(addr string, timeout time.Duration) (net.Conn, error)) []error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: &dialStream{Listener: ln, dial: dial}, MaxPool: 1, Timeout: 2 * time.Second,
		Logger: newHCLogger("attacker", testLogger(), 0),
	})
	defer trans.Close()
	li := c.leader()
	fi := (li + 1) % 3
	f := c.live()[fi]
	target, addr := raft.ServerID(c.cfgs[fi].NodeID), raft.ServerAddress(c.member(fi).RaftAddr)
	term, _ := strconv.ParseUint(f.raft.Stats()["term"], 10, 64)
	last := f.raft.LastIndex()
	hdr := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(c.cfgs[li].NodeID), Addr: []byte(c.member(li).RaftAddr)}
	var errs []error
	errs = append(errs, trans.TimeoutNow(target, addr, &raft.TimeoutNowRequest{RPCHeader: hdr}, &raft.TimeoutNowResponse{}))
	errs = append(errs, trans.AppendEntries(target, addr, &raft.AppendEntriesRequest{
		RPCHeader: hdr, Term: term + attackTerm, PrevLogEntry: last, PrevLogTerm: term,
		Entries:           []*raft.Log{{Index: last + 1, Term: term + attackTerm, Type: raft.LogNoop}},
		LeaderCommitIndex: last + 1,
	}, &raft.AppendEntriesResponse{}))
	snap := []byte("not a snapshot")
	errs = append(errs, trans.InstallSnapshot(target, addr, &raft.InstallSnapshotRequest{
		RPCHeader: hdr, SnapshotVersion: raft.SnapshotVersionMax, Term: term + 2*attackTerm,
		LastLogIndex: last + 1000, LastLogTerm: term + 2*attackTerm, Size: int64(len(snap)),
	}, &raft.InstallSnapshotResponse{}, bytesReader(snap)))
	return errs
}

// TestRaftRefusesPeerWithoutCert: with raft over mutual TLS, nothing that reaches a
// raft port without a member's certificate moves leadership, appends an entry or
// installs a snapshot — plain TCP, TLS without a client certificate, a certificate of
// another CA naming a member, a valid certificate of another group's node, a router's.
// Every RPC fails (the handshake is refused before raft decodes a byte; on the plain
// TCP transport TimeoutNow answered and moved leadership, and the forged snapshot
// panicked the follower); no node reaches the attacker's terms; every replica keeps
// the leader's state; the group keeps working over TLS (the control). Elections of
// the loaded machine's own are not counted against the test: the timeouts are long,
// and the attacker's terms are 1000 ahead.
func TestRaftRefusesPeerWithoutCert(t *testing.T) {
	ca := tlstest.MustCA("deployment")
	c := newCluster(t, clusterOpts{mode: exchsim.Strict, mutate: func(cfg *Config) {
		cfg.TLS = ca.Store(tlsconf.NodeIdentity(uint32(cfg.Group), cfg.NodeID))
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = time.Second, time.Second, 500*time.Millisecond
	}})
	c.seed(raftfsm.AccountID(1), 3, 1000)
	c.settled(10 * time.Second)
	before := viewOf(c)
	hashBefore, _ := c.leaderNode().StateHash()

	tlsDial := func(cfg *tls.Config) func(string, time.Duration) (net.Conn, error) {
		return func(addr string, timeout time.Duration) (net.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
		}
	}
	withCert := func(s *tlsconf.Store) *tls.Config {
		cc := s.ClientConfig(nil)
		cc.VerifyConnection = nil // the attacker trusts any server
		return cc
	}
	other := tlstest.MustCA("another deployment")
	attackers := map[string]func(string, time.Duration) (net.Conn, error){
		"plain TCP": func(addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("tcp", addr, timeout)
		},
		"TLS without a certificate":             tlsDial(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}),
		"another CA's certificate of member n1": tlsDial(withCert(other.Store(tlsconf.NodeIdentity(1, "n1")))),
		"group 2's node n1":                     tlsDial(withCert(ca.Store(tlsconf.NodeIdentity(2, "n1")))),
		"a router's certificate":                tlsDial(withCert(ca.Store(tlsconf.RoleIdentity("router", "r1")))),
	}
	for name, dial := range attackers {
		for i, err := range attackRaft(t, c, dial) {
			if err == nil {
				t.Errorf("%s: RPC %d (TimeoutNow, AppendEntries, InstallSnapshot) answered", name, i)
			}
		}
	}
	// The group goes on as if nothing happened: a write commits, no node took an entry
	// or a snapshot from the attackers.
	c.fill(raftfsm.AccountID(1), 1, raftfsm.Buy, raftfsm.Long, "1")
	c.settled(10 * time.Second)
	after := viewOf(c)
	for i := range after.terms {
		b, _ := strconv.ParseUint(before.terms[i], 10, 64)
		a, _ := strconv.ParseUint(after.terms[i], 10, 64)
		if a >= b+attackTerm {
			t.Errorf("node %d: term %d → %d: it took the attacker's term", i, b, a)
		} else if a != b {
			t.Logf("node %d: term %d → %d (an election of the machine's own)", i, b, a)
		}
	}
	hashAfter, _ := c.leaderNode().StateHash()
	if hashAfter == hashBefore {
		t.Error("the control write did not change the state")
	}
	for i, n := range c.live() {
		if h, _ := n.StateHash(); h != hashAfter {
			t.Errorf("node %d's state differs from the leader's", i)
		}
	}

	// A member's certificate completes the handshake (the refusals above are about the
	// credentials, not TLS itself).
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", c.member(0).RaftAddr,
		withCert(ca.Store(tlsconf.NodeIdentity(1, "n2"))))
	if err == nil {
		err = conn.Handshake()
		if err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, err = conn.Read(make([]byte, 1))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = nil // accepted: the server waits for an RPC
			}
		}
		conn.Close()
	}
	if err != nil {
		t.Errorf("member certificate: %v", err)
	}
}

// TestNodeRefusesPlaintextOffLoopback: without TLS, raft and RPC serve on loopback
// only, unless Insecure; a TLS certificate must name this node of this group.
func TestNodeRefusesPlaintextOffLoopback(t *testing.T) {
	base := DefaultConfig()
	base.NodeID, base.Group, base.DataDir = "n1", 1, t.TempDir()
	base.GatewayAddrs = []string{"127.0.0.1:7400"}
	for _, tc := range []struct {
		raft, rpc string
		insecure  bool
		ok        bool
	}{
		{"127.0.0.1:7001", "127.0.0.1:7101", false, true},
		{"localhost:7001", "[::1]:7101", false, true},
		{"0.0.0.0:7001", "127.0.0.1:7101", false, false},
		{"127.0.0.1:7001", ":7101", false, false},
		{"10.0.0.5:7001", "10.0.0.5:7101", false, false},
		{"10.0.0.5:7001", "10.0.0.5:7101", true, true},
	} {
		cfg := base
		cfg.RaftBindAddr, cfg.RPCAddr, cfg.Insecure = tc.raft, tc.rpc, tc.insecure
		cfg.Members = []Member{{ID: "n1", RaftAddr: tc.raft, RPCAddr: tc.rpc}}
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("raft %s rpc %s insecure %v: %v, want ok=%v", tc.raft, tc.rpc, tc.insecure, err, tc.ok)
		}
	}
	ca := tlstest.MustCA("deployment")
	cfg := base
	cfg.RaftBindAddr, cfg.RPCAddr = "10.0.0.5:7001", "10.0.0.5:7101"
	cfg.Members = []Member{{ID: "n1", RaftAddr: cfg.RaftBindAddr, RPCAddr: cfg.RPCAddr}}
	cfg.TLS = ca.Store(tlsconf.NodeIdentity(1, "n1"))
	if err := cfg.Validate(); err != nil {
		t.Errorf("TLS off loopback: %v", err)
	}
	cfg.TLS = ca.Store(tlsconf.NodeIdentity(1, "n2"))
	if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("another node's certificate: %v", err)
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
