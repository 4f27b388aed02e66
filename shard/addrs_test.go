package shard

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/bytedance/sonic"
)

// portZeroConfig is a single node (no bootstrap) whose listeners all bind port 0.
func portZeroConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.NodeID, cfg.Group, cfg.DataDir = "n1", 1, t.TempDir()
	cfg.RaftBindAddr, cfg.RPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Members = []Member{{ID: "n1", RaftAddr: "127.0.0.1:7001"}}
	cfg.GatewayAddrs = []string{"127.0.0.1:7400"}
	cfg.Logger = testLogger()
	return cfg
}

// TestNodeAddrsPortZero: a node binds port 0 itself and reports the ports it got; the
// raft address it advertises is the bound one unless one is configured, and each
// reported address accepts connections. WriteAddrFile writes them as JSON.
func TestNodeAddrsPortZero(t *testing.T) {
	n, err := New(portZeroConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Kill() })
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	a := n.Addrs()
	if a.RaftAdvertise != a.Raft {
		t.Errorf("advertises %s, bound %s: without RaftAdvertiseAddr they are the same", a.RaftAdvertise, a.Raft)
	}
	for name, addr := range map[string]string{"raft": a.Raft, "rpc": a.RPC, "http": a.HTTP} {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
			t.Errorf("%s address %q: want a bound port", name, addr)
			continue
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("%s address %s: %v", name, addr, err)
			continue
		}
		c.Close()
	}
	if a.Pprof != "" {
		t.Errorf("pprof %q reported, but it is off", a.Pprof)
	}

	path := filepath.Join(t.TempDir(), "n1.addrs")
	if err := WriteAddrFile(path, a); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Addrs
	if err := sonic.Unmarshal(b, &back); err != nil || back != a {
		t.Fatalf("address file %s reads back as %+v (%v), want %+v", b, back, err, a)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("address file mode %v (%v), want 0600", st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".n1.addrs.*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestNodeAdvertiseConfigured: with RaftAdvertiseAddr set (a proxy, a NAT) the node
// advertises it and still binds port 0; an unspecified bound address without one is
// refused, since no peer could dial it.
func TestNodeAdvertiseConfigured(t *testing.T) {
	cfg := portZeroConfig(t)
	cfg.RaftAdvertiseAddr = "127.0.0.1:7001"
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Kill() })
	if a := n.Addrs(); a.RaftAdvertise != "127.0.0.1:7001" || a.Raft == "" || a.Raft == a.RaftAdvertise {
		t.Errorf("addrs %+v: want the configured advertise address and a bound port", a)
	}

	cfg = portZeroConfig(t)
	cfg.RaftBindAddr, cfg.Insecure = "0.0.0.0:0", true
	if n, err := New(cfg, nil); !errors.Is(err, ErrInvalidConfig) {
		if err == nil {
			_ = n.Kill()
		}
		t.Fatalf("bound to 0.0.0.0 without an advertise address: %v, want ErrInvalidConfig", err)
	}
}
