package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/shard"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestNodeRefusesToStartWithoutKeys: a node serves only with a key file, or with
// -insecure said out loud.
func TestNodeRefusesToStartWithoutKeys(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runNode(context.Background(), []string{"--id", "n1", "--group", "1", "--data", t.TempDir(),
		"--members", "n1=127.0.0.1:1/127.0.0.1:2", "--bootstrap"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "-keys is required") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

// TestNodeEnforcesTokens: a node started by the command with -keys refuses a call
// without a token and one signed by an unknown key, and answers a signed one.
func TestNodeEnforcesTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft node")
	}
	dir := t.TempDir()
	key, err := auth.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "keys.json")
	if err := auth.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
	raftAddr, rpcAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- runNode(ctx, []string{"--id", "n1", "--group", "1", "--data", filepath.Join(dir, "n1"),
			"--raft", raftAddr, "--rpc", rpcAddr, "--members", "n1=" + raftAddr + "/" + rpcAddr,
			"--bootstrap", "--keys", keyFile, "--mark-interval", "0", "--settlement", "off", "--log-level", "error"}, &out, &errOut)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("node exit %d: %s", code, errOut.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("node did not stop")
		}
	}()
	cli, err := shard.NewClient([]string{rpcAddr})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, "ops", auth.RoleAdmin, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.WithToken(context.Background(), tok)
	deadline := time.Now().Add(15 * time.Second)
	for {
		cctx, c := context.WithTimeout(admin, time.Second)
		_, err := cli.GroupStatus(cctx, &ct.GroupStatusRequest{})
		c()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("signed GroupStatus never answered: %v (stderr %s)", err, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	if _, err := cli.GroupStatus(context.Background(), &ct.GroupStatusRequest{}); convert.CodeOf(err) != ct.ErrorCode_UNAUTHENTICATED {
		t.Errorf("no token: got %v, want UNAUTHENTICATED", err)
	}
	other, _ := auth.GenerateKey("k1")
	forged, _ := auth.Mint(other, "ops", auth.RoleAdmin, time.Minute)
	if _, err := cli.GroupStatus(auth.WithToken(context.Background(), forged), &ct.GroupStatusRequest{}); convert.CodeOf(err) != ct.ErrorCode_UNAUTHENTICATED {
		t.Errorf("forged token: got %v, want UNAUTHENTICATED", err)
	}
}

// TestNodeStartFailureExits: a node whose HTTP port is taken exits 1 promptly. Start
// fails after the RPC server was launched, and Kill must stop that server even when
// Kitex's Run had not built its transport yet (it used to hang there: 2 tries in 3).
func TestNodeStartFailureExits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft node")
	}
	for try := range 3 {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		raftAddr, rpcAddr := freeAddr(t), freeAddr(t)
		done := make(chan int, 1)
		var out, errOut bytes.Buffer
		go func() {
			done <- runNode(context.Background(), []string{"--id", "n1", "--group", "1", "--data", filepath.Join(dir, "n1"),
				"--raft", raftAddr, "--rpc", rpcAddr, "--http", taken.Addr().String(),
				"--members", "n1=" + raftAddr + "/" + rpcAddr, "--bootstrap", "--insecure",
				"--mark-interval", "0", "--settlement", "off", "--log-level", "error"}, &out, &errOut)
		}()
		select {
		case code := <-done:
			if code != 1 || !strings.Contains(errOut.String(), "listen") {
				t.Fatalf("try %d: exit %d, stderr %q; want 1 naming the listen failure", try, code, errOut.String())
			}
		case <-time.After(30 * time.Second): // exits in well under a second; this only bounds a hang
			t.Fatalf("try %d: node with a taken HTTP port did not exit", try)
		}
		_ = taken.Close()
	}
}
