package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/shard"
)

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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	addrFile := filepath.Join(dir, "n1.addrs")
	go func() {
		// Port 0 everywhere, the bound ports read from --addr-file. In a one-member
		// group the advertised raft address is a name nobody dials.
		done <- runNode(ctx, []string{"--id", "n1", "--group", "1", "--data", filepath.Join(dir, "n1"),
			"--raft", "127.0.0.1:0", "--raft-advertise", "127.0.0.1:7001", "--rpc", "127.0.0.1:0", "--addr-file", addrFile,
			"--members", "n1=127.0.0.1:7001/127.0.0.1:7101",
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
	cli, err := shard.NewClient([]string{readAddrFile(t, addrFile, done).RPC})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
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
		done := make(chan int, 1)
		var out, errOut bytes.Buffer
		go func() {
			done <- runNode(context.Background(), []string{"--id", "n1", "--group", "1", "--data", filepath.Join(dir, "n1"),
				"--raft", "127.0.0.1:0", "--raft-advertise", "127.0.0.1:7001", "--rpc", "127.0.0.1:0", "--http", taken.Addr().String(),
				"--members", "n1=127.0.0.1:7001/127.0.0.1:7101", "--bootstrap", "--insecure",
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

// readAddrFile waits for a node's --addr-file (done: the node's exit code, if it ends
// first; buffered, the code is put back).
func readAddrFile(t *testing.T, path string, done chan int) shard.Addrs {
	t.Helper()
	var a shard.Addrs
	waitAddrFile(t, path, func() bool {
		select {
		case code := <-done:
			done <- code
			return true
		default:
			return false
		}
	}, &a)
	return a
}

// waitAddrFile waits up to 30 s for path, written atomically by a process's
// --addr-file, and decodes it into v; exited reports whether the process ended first.
func waitAddrFile(t *testing.T, path string, exited func() bool, v any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			if err := sonic.Unmarshal(b, v); err != nil {
				t.Fatalf("%s: %v: %s", path, err, b)
			}
			return
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if exited() {
			t.Fatalf("the process exited before writing %s", path)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNodeAddrFile: a node given port 0 for raft, RPC, HTTP and pprof binds ports the
// kernel picks and writes them to --addr-file once all are bound; each answers there.
// The file is removed at exit, and a stale one from an earlier run at start, even when
// the node then fails to bind.
func TestNodeAddrFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft node")
	}
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "n1.addrs")
	args := []string{"--id", "n1", "--group", "1", "--data", filepath.Join(dir, "n1"),
		"--rpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--pprof", "127.0.0.1:0",
		"--addr-file", addrFile, "--members", "n1=127.0.0.1:7001/127.0.0.1:7101", "--insecure",
		"--mark-interval", "0", "--settlement", "off", "--log-level", "error"}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if err := os.WriteFile(addrFile, []byte(`{"raft":"127.0.0.1:1","rpc":"127.0.0.1:2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := runNode(context.Background(), append([]string{"--raft", taken.Addr().String()}, args...), &out, &errOut); code != 1 {
		t.Fatalf("raft port taken: exit %d (%s), want 1", code, errOut.String())
	}
	if _, err := os.Stat(addrFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a stale address file survived a failed start: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	out.Reset()
	errOut.Reset()
	go func() { done <- runNode(ctx, append([]string{"--raft", "127.0.0.1:0"}, args...), &out, &errOut) }()
	a := readAddrFile(t, addrFile, done)
	if a.RaftAdvertise != a.Raft {
		t.Errorf("advertised %s, bound %s: without --raft-advertise they are one", a.RaftAdvertise, a.Raft)
	}
	for name, addr := range map[string]string{"raft": a.Raft, "rpc": a.RPC, "http": a.HTTP, "pprof": a.Pprof} {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
			t.Errorf("%s: %q is not a bound address", name, addr)
		}
	}
	resp, err := http.Get("http://" + a.HTTP + "/livez")
	if err != nil {
		t.Fatalf("livez on the reported HTTP address: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("livez: %s", resp.Status)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("node exit %d: %s", code, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("node did not stop")
	}
	if !strings.Contains(out.String(), "rpc "+a.RPC) {
		t.Errorf("stdout %q does not name the bound RPC address %s", out.String(), a.RPC)
	}
	if _, err := os.Stat(addrFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the address file outlived the node: %v", err)
	}
}
