package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/shard"
)

// TestConfigFile: `config check` accepts a valid node or router file and names the bad
// setting of an invalid one; a flag on the command line overrides the file; a node
// started with only --config serves.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	key, err := auth.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "keys.json")
	if err := auth.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
	// The node binds port 0 and reports its ports in addr_file; in a one-member group
	// its advertised raft address (and the members' addresses) are names nobody dials.
	raftAddr, rpcAddr := "127.0.0.1:7001", "127.0.0.1:7101"
	addrFile := filepath.Join(dir, "n1.addrs")
	nodeTOML := fmt.Sprintf(`role = "node"
id = "n1"
group = 1
data = %q
raft = "127.0.0.1:0"
raft_advertise = %q
rpc = "127.0.0.1:0"
addr_file = %q
keys = %q
gateway = ["127.0.0.1:7400"]
election_timeout = "300ms"
mark_interval = "0s"
settlement = "off"
bootstrap = true

[[members]]
id = "n1"
raft = %q
rpc = %q
`, filepath.Join(dir, "n1"), raftAddr, addrFile, keyFile, raftAddr, rpcAddr)
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(path string) (int, string) {
		var out, errOut bytes.Buffer
		code := runConfig(context.Background(), []string{"check", path}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	good := write("node.toml", nodeTOML)
	if code, out := check(good); code != 0 || !strings.Contains(out, "valid node config") {
		t.Fatalf("valid node file: exit %d: %s", code, out)
	}
	topo := write("topology.json", fmt.Sprintf(`{"groups":[{"id":1,"members":[{"id":"n1","raft_addr":%q,"rpc_addr":%q}]}]}`, raftAddr, rpcAddr))
	routerTOML := fmt.Sprintf("role = \"router\"\nlisten = \"127.0.0.1:0\"\ntopology = %q\nkeys = %q\nrefresh_interval = \"2s\"\n", topo, keyFile)
	if code, out := check(write("router.toml", routerTOML)); code != 0 {
		t.Fatalf("valid router file: exit %d: %s", code, out)
	}

	for name, c := range map[string]struct{ body, want string }{
		"bad duration":   {strings.Replace(nodeTOML, `"300ms"`, `"fast"`, 1), "election_timeout"},
		"unknown key":    {"rpc_adr = \"x\"\n" + nodeTOML, "rpc_adr: unknown setting"},
		"no role":        {strings.Replace(nodeTOML, `role = "node"`, "", 1), "role"},
		"bad member":     {strings.Replace(nodeTOML, "[[members]]\nid = \"n1\"", "[[members]]\nid = \"n1\"\nweight = 3", 1), "members: member #1: unknown key \"weight\""},
		"syntax":         {"group = = 2\n" + nodeTOML, "line 1"},
		"invalid config": {strings.Replace(nodeTOML, "group = 1", "group = 0", 1), "Group"},
		"router setting": {"topology = \"t.json\"\n" + nodeTOML, "topology: unknown setting for node"},
	} {
		code, out := check(write(strings.ReplaceAll(name, " ", "_")+".toml", c.body))
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, want an error naming %q: %s", name, code, c.want, out)
		}
	}

	// The command line overrides the file: a bad value in the file is not used.
	bad := write("bad.toml", strings.Replace(nodeTOML, `"300ms"`, `"fast"`, 1))
	var errOut bytes.Buffer
	if code := runNode(context.Background(), []string{"--config", bad, "--election-timeout", "400ms", "--check"}, &bytes.Buffer{}, &errOut); code != 0 {
		t.Fatalf("flag over file: exit %d: %s", code, errOut.String())
	}

	// A node runs from the file alone.
	if testing.Short() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out syncBuffer
	go func() { done <- runNode(ctx, []string{"--config", good, "--log-level", "warn"}, &out, &out) }()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("node exit %d: %s", code, out.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("node did not stop")
		}
	}()
	cli, err := shard.NewClient([]string{readAddrFile(t, addrFile, done).RPC})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := auth.Mint(key, "ops", auth.RoleAdmin, time.Minute)
	waitFor(t, 20*time.Second, func() bool {
		cctx, c := context.WithTimeout(auth.WithToken(context.Background(), tok), time.Second)
		defer c()
		st, err := cli.GroupStatus(cctx, &ct.GroupStatusRequest{})
		return err == nil && st.GetLeaderId() == "n1"
	}, func() string { return "the node from node.toml never led: " + out.String() })
}
