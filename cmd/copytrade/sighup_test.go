package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/shard"
)

// TestSIGHUPReloadKeepsServing runs a node and a router as real processes and sends
// each ten SIGHUPs (the documented reload of keys and topology) while a client calls
// both without pause: every call before, during and after the reloads succeeds, and
// both processes are still running at the end. Kitex's default exit signals include
// SIGHUP, so a server run with the defaults closes its port on the first reload.
func TestSIGHUPReloadKeepsServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a node and a router")
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
	// Both bind port 0 and report their ports (--addr-file); the one-member group's
	// advertised raft address is a name nobody dials.
	nodeFile, rtFile := filepath.Join(dir, "n1.addrs"), filepath.Join(dir, "router.addrs")
	node := startProc(t, "node", "--id", "n1", "--group", "1", "--data", filepath.Join(dir, "n1"),
		"--raft", "127.0.0.1:0", "--raft-advertise", "127.0.0.1:7001", "--rpc", "127.0.0.1:0", "--addr-file", nodeFile,
		"--members", "n1=127.0.0.1:7001/127.0.0.1:7101", "--bootstrap",
		"--keys", keyFile, "--mark-interval", "0", "--settlement", "off", "--admin-rate", "0")
	var na shard.Addrs
	waitAddrFile(t, nodeFile, func() bool { return !node.alive() }, &na)
	rpcAddr := na.RPC
	topoFile := filepath.Join(dir, "topology.json")
	topo := fmt.Sprintf(`{"groups":[{"id":1,"members":[{"id":"n1","raft_addr":%q,"rpc_addr":%q}]}]}`, na.RaftAdvertise, rpcAddr)
	if err := os.WriteFile(topoFile, []byte(topo), 0o600); err != nil {
		t.Fatal(err)
	}
	// The test calls as admin as fast as it can: its budget is lifted (0: unlimited).
	rt := startProc(t, "router", "--listen", "127.0.0.1:0", "--addr-file", rtFile, "--topology", topoFile, "--keys", keyFile, "--admin-rate", "0")
	var ra routerAddrs
	waitAddrFile(t, rtFile, func() bool { return !rt.alive() }, &ra)
	routerAddr := ra.RPC

	tok, err := auth.Mint(key, "ops", auth.RoleAdmin, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.WithToken(context.Background(), tok)
	nodeCli, err := shard.NewClient([]string{rpcAddr})
	if err != nil {
		t.Fatal(err)
	}
	routerCli, err := shard.NewClient([]string{routerAddr})
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		name string
		cli  copytrade.Client
		ctx  context.Context
		p    *proc
	}
	targets := []target{
		{"node", nodeCli, admin, node},
		{"router", routerCli, router.WithGroup(admin, 1), rt},
	}
	call := func(tg target) error {
		ctx, cancel := context.WithTimeout(tg.ctx, 3*time.Second)
		defer cancel()
		resp, err := tg.cli.GroupStatus(ctx, &ct.GroupStatusRequest{})
		if err == nil && resp.GetLeaderId() != "n1" {
			err = fmt.Errorf("leader %q, want n1", resp.GetLeaderId())
		}
		return err
	}

	// Before: both answer (the node needs a moment to elect itself).
	for _, tg := range targets {
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := call(tg)
			if err == nil {
				break
			}
			if time.Now().After(deadline) || !tg.p.alive() {
				t.Fatalf("%s never answered: %v\n%s", tg.name, err, tg.p.out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// During: a caller per process that never pauses.
	var calls, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if err := call(tg); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", tg.name, err))
				}
			}
		}()
	}
	for i := range 10 {
		for _, tg := range targets {
			if err := tg.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatalf("SIGHUP %d to %s: %v", i+1, tg.name, err)
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	// After: every process still answers, once the reload logs are all out.
	waitFor(t, 20*time.Second, func() bool {
		return strings.Count(rt.out.String(), "topology reloaded") == 10 &&
			strings.Count(node.out.String(), "keys reloaded") == 10
	}, func() string {
		return "ten reloads logged\nrouter:\n" + rt.out.String() + "\nnode:\n" + node.out.String()
	})
	for range 5 {
		for _, tg := range targets {
			if err := call(tg); err != nil {
				t.Errorf("%s after the reloads: %v", tg.name, err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d calls failed during the reloads; first: %v", n, calls.Load(), firstErr.Load())
	} else {
		t.Logf("%d calls to the node and the router during ten SIGHUPs each, none failed", calls.Load())
	}
	for _, tg := range targets {
		if !tg.p.alive() {
			t.Errorf("%s exited during the reloads:\n%s", tg.name, tg.p.out.String())
		}
	}
	if t.Failed() {
		t.Logf("router output:\n%s\nnode output:\n%s", rt.out.String(), node.out.String())
	}
}

// waitFor polls cond every 20 ms until it holds or d passes, then fails with what().
func waitFor(t *testing.T, d time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
