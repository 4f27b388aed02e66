package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bytedance/sonic"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
	"github.com/copytrade/copytrade/shard"
	"github.com/copytrade/copytrade/tools/loopport"
)

// Cluster is what the bench talks to: a router, a gateway and, when the bench started
// them, the processes behind them.
type Cluster struct {
	RouterAddr  string
	GatewayAddr string
	// AdminToken seeds and probes; FillToken (role trading-system) submits fills.
	AdminToken, FillToken string
	// Groups are the shard groups (IDs and members).
	Groups []Group
	// RouterHTTP and ExchsimHTTP serve /metrics ("" when unknown).
	RouterHTTP, ExchsimHTTP string
	// RouterPprof and ExchsimPprof serve /debug/pprof/ ("" when unknown): the HTTP
	// address, or a listener of its own where the binary has a --pprof flag.
	RouterPprof, ExchsimPprof string
	// Dir holds data and logs of started processes ("" when attached).
	Dir string
	// CA is the run's certificate authority with Config.TLS (every hop over mutual
	// TLS), else nil.
	CA *tlstest.CA

	sup    *Supervisor
	router *Proc
	exch   *Proc
}

// Group is one shard group.
type Group struct {
	ID    uint32
	Nodes []*Node
}

// Node is one member of a group.
type Node struct {
	ID, RaftAddr, RPCAddr, HTTPAddr string
	// PprofAddr serves /debug/pprof/ ("" when unknown).
	PprofAddr string
	// Proc is nil when attached.
	Proc *Proc
}

// Started reports whether the bench started the cluster's processes.
func (c *Cluster) Started() bool { return c.sup != nil }

// NodeByID finds a node of group g.
func (c *Cluster) NodeByID(g uint32, id string) *Node {
	for _, grp := range c.Groups {
		if grp.ID != g {
			continue
		}
		for _, n := range grp.Nodes {
			if n.ID == id || n.RPCAddr == id || n.RaftAddr == id {
				return n
			}
		}
	}
	return nil
}

// Pids lists every process the bench started.
func (c *Cluster) Pids() []int {
	if c.sup == nil {
		return nil
	}
	return c.sup.Pids()
}

// Stop stops every started process (SIGTERM, then SIGKILL after a grace period) and
// waits for all of them.
func (c *Cluster) Stop() {
	if c.sup != nil {
		c.sup.StopAll()
	}
}

// freePorts reserves n distinct loopback ports below the kernel's ephemeral range
// (loopport) for the children to bind: a raft member's address is in its peers'
// configuration before it starts.
func freePorts(n int) ([]string, error) {
	out, err := loopport.Reserve(n)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return out, nil
}

// flagsOf lists the flags a subcommand of bin accepts, from its -h output, so the
// bench passes only flags the binary knows (key files, tuning) as the subcommands grow.
func flagsOf(bin, sub string) map[string]bool {
	out, _ := exec.Command(bin, sub, "-h").CombinedOutput()
	flags := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], "-") {
			flags[strings.TrimLeft(f[0], "-")] = true
		}
	}
	return flags
}

// StartCluster starts exchsim, cfg.Groups groups of 3 nodes and a router from bin, as
// separate processes under sup, with data and logs under dir, and waits until the
// router reaches a leader in every group.
func StartCluster(ctx context.Context, cfg *Config, bin, dir string, sup *Supervisor, log *slog.Logger) (*Cluster, error) {
	c := &Cluster{Dir: dir, sup: sup}
	var err error
	if c.CA, err = newCA(cfg); err != nil {
		return nil, err
	}
	key, err := auth.GenerateKey("bench")
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "keys.json")
	// A fresh key each run: the previous run's file (a kept --data-dir) goes first, as
	// WriteKeyFile never overwrites.
	if err := os.Remove(keyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("bench: old key file: %w", err)
	}
	if err := auth.WriteKeyFile(keyFile, key); err != nil {
		return nil, err
	}
	if c.AdminToken, err = auth.Mint(key, "bench-admin", auth.RoleAdmin, 24*time.Hour); err != nil {
		return nil, err
	}
	if c.FillToken, err = auth.Mint(key, "bench-trading-system", auth.RoleTradingSystem, 24*time.Hour); err != nil {
		return nil, err
	}

	// exchsim and router: listen + http; each node: raft, rpc, http.
	ports, err := freePorts(4 + cfg.Groups*3*3 + 2 + cfg.Groups*3) // + a pprof port for each
	if err != nil {
		return nil, err
	}
	next := func() string { p := ports[0]; ports = ports[1:]; return p }
	c.GatewayAddr, c.ExchsimHTTP = next(), next()
	c.RouterAddr, c.RouterHTTP = next(), next()

	exArgs := []string{"--listen", c.GatewayAddr, "--mode", cfg.ExchsimMode, "--seed", strconv.FormatUint(cfg.Seed, 10),
		"--log-level", "warn"}
	if cfg.VenueFaults {
		exArgs = append(exArgs, "--venue-faults", "--fault-seed", strconv.FormatUint(cfg.Seed, 10))
	}
	exFlags := flagsOf(bin, "exchsim")
	if exFlags["http"] {
		exArgs = append(exArgs, "--http", c.ExchsimHTTP)
	} else {
		c.ExchsimHTTP = ""
	}
	tf, err := c.tlsFiles("exchsim", tlsconf.RoleIdentity(shard.GatewayRole, "exchsim"))
	if err != nil {
		return nil, err
	}
	exArgs = append(exArgs, tf...)
	c.ExchsimPprof = c.ExchsimHTTP
	if exFlags["pprof"] {
		c.ExchsimPprof = next()
		exArgs = append(exArgs, "--pprof", c.ExchsimPprof)
	}
	if c.exch, err = sup.Start("exchsim", bin, append([]string{"exchsim"}, exArgs...), filepath.Join(dir, "exchsim.log")); err != nil {
		return nil, err
	}
	if err := waitListening(ctx, c.GatewayAddr, 10*time.Second, c.exch); err != nil {
		return nil, fmt.Errorf("bench: exchsim did not start (log %s): %w", c.exch.LogPath, err)
	}

	nodeFlags := flagsOf(bin, "node")
	topo := router.Topology{}
	slotsPer := 16384 / cfg.Groups
	for g := 1; g <= cfg.Groups; g++ {
		grp := Group{ID: uint32(g)}
		var members []string
		for i := 1; i <= 3; i++ {
			n := &Node{ID: fmt.Sprintf("g%dn%d", g, i), RaftAddr: next(), RPCAddr: next(), HTTPAddr: next()}
			grp.Nodes = append(grp.Nodes, n)
			members = append(members, fmt.Sprintf("%s=%s/%s", n.ID, n.RaftAddr, n.RPCAddr))
		}
		from, to := (g-1)*slotsPer, g*slotsPer-1
		if g == cfg.Groups {
			to = 16383
		}
		spec := router.GroupSpec{ID: uint32(g)}
		for _, n := range grp.Nodes {
			data := filepath.Join(dir, n.ID)
			if err := os.MkdirAll(data, 0o700); err != nil {
				return nil, fmt.Errorf("bench: data dir: %w", err)
			}
			args := []string{"node", "--id", n.ID, "--group", strconv.Itoa(g), "--data", data,
				"--raft", n.RaftAddr, "--rpc", n.RPCAddr, "--http", n.HTTPAddr, "--gateway", c.GatewayAddr,
				"--members", strings.Join(members, ","), "--bootstrap", "--log-level", "warn"}
			if cfg.Groups > 1 {
				args = append(args, "--slots", fmt.Sprintf("%d-%d", from, to))
			}
			switch {
			case nodeFlags["keys"]:
				args = append(args, "--keys", keyFile)
			case nodeFlags["key-file"]:
				args = append(args, "--key-file", keyFile)
			}
			n.PprofAddr = n.HTTPAddr
			if nodeFlags["pprof"] {
				n.PprofAddr = next()
				args = append(args, "--pprof", n.PprofAddr)
			}
			if nodeFlags["settlement"] {
				args = append(args, "--settlement", "off")
			}
			if cfg.NoSync && nodeFlags["no-sync"] {
				args = append(args, "--no-sync")
			}
			args = append(args, benchLimits(nodeFlags)...)
			tf, err := c.tlsFiles(n.ID, tlsconf.NodeIdentity(uint32(g), n.ID))
			if err != nil {
				return nil, err
			}
			args = append(args, tf...)
			if n.Proc, err = sup.Start(n.ID, bin, args, filepath.Join(dir, n.ID+".log")); err != nil {
				return nil, err
			}
			spec.Members = append(spec.Members, router.MemberSpec{ID: n.ID, RaftAddr: n.RaftAddr, RPCAddr: n.RPCAddr})
		}
		topo.Groups = append(topo.Groups, spec)
		c.Groups = append(c.Groups, grp)
	}
	topoFile := filepath.Join(dir, "topology.json")
	data, err := sonic.ConfigStd.MarshalIndent(&topo, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: topology: %w", err)
	}
	if err := os.WriteFile(topoFile, data, 0o644); err != nil {
		return nil, fmt.Errorf("bench: topology: %w", err)
	}

	routerFlags := flagsOf(bin, "router")
	rArgs := []string{"router", "--listen", c.RouterAddr, "--topology", topoFile}
	if routerFlags["http"] {
		rArgs = append(rArgs, "--http", c.RouterHTTP)
	} else {
		c.RouterHTTP = ""
	}
	c.RouterPprof = c.RouterHTTP
	if routerFlags["pprof"] {
		c.RouterPprof = next()
		rArgs = append(rArgs, "--pprof", c.RouterPprof)
	}
	switch {
	case routerFlags["keys"]:
		rArgs = append(rArgs, "--keys", keyFile)
	case routerFlags["key-file"]:
		rArgs = append(rArgs, "--key-file", keyFile)
	case routerFlags["insecure"]:
		rArgs = append(rArgs, "--insecure")
	}
	if routerFlags["log-level"] {
		rArgs = append(rArgs, "--log-level", "warn")
	}
	rArgs = append(rArgs, benchLimits(routerFlags)...)
	if tf, err = c.tlsFiles("router", tlsconf.RoleIdentity("router", "bench")); err != nil {
		return nil, err
	}
	rArgs = append(rArgs, tf...)
	if c.router, err = sup.Start("router", bin, rArgs, filepath.Join(dir, "router.log")); err != nil {
		return nil, err
	}
	if err := waitListening(ctx, c.RouterAddr, 15*time.Second, c.router); err != nil {
		return nil, fmt.Errorf("bench: router did not start (log %s): %w", c.router.LogPath, err)
	}
	log.Info("cluster started", "dir", dir, "router", c.RouterAddr, "gateway", c.GatewayAddr, "groups", cfg.Groups)
	return c, nil
}

// waitListening waits until addr accepts connections, p exits, or the timeout.
func waitListening(ctx context.Context, addr string, timeout time.Duration, p *Proc) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited: %v", p.Name, p.Err())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// AttachCluster describes a running cluster from cfg (no processes of its own).
func AttachCluster(cfg *Config) (*Cluster, error) {
	c := &Cluster{RouterAddr: cfg.Router, GatewayAddr: cfg.Gateway, AdminToken: cfg.Token, FillToken: cfg.Token}
	if cfg.Topology == "" {
		c.Groups = []Group{{ID: 1}}
		return c, nil
	}
	topo, err := router.LoadTopology(cfg.Topology)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	for _, g := range topo.Groups {
		grp := Group{ID: g.ID}
		for _, m := range g.Members {
			grp.Nodes = append(grp.Nodes, &Node{ID: m.ID, RaftAddr: m.RaftAddr, RPCAddr: m.RPCAddr})
		}
		c.Groups = append(c.Groups, grp)
	}
	if len(c.Groups) == 0 {
		return nil, errors.New("bench: the topology lists no groups")
	}
	return c, nil
}

// tailLog returns the last n bytes of a child's log, for error messages.
func tailLog(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	return string(buf)
}

// benchLimits lifts the rate limits of the bench's own identities (its admin seeds
// the population, its trading system drives the load): a benchmark measures the
// system, not its limiter. Account budgets stay as configured.
func benchLimits(flags map[string]bool) []string {
	var out []string
	for _, k := range []string{"admin", "trading-system"} {
		if flags[k+"-rate"] {
			out = append(out, "--"+k+"-rate", "0")
		}
	}
	return out
}
