package kitexopt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
)

// noopOnly answers Noop; any other method would panic on the nil interface, and no
// test calls one.
type noopOnly struct{ ct.CopyTrade }

func (*noopOnly) Noop(context.Context, *ct.NoopRequest) (*ct.NoopResponse, error) {
	return &ct.NoopResponse{}, nil
}

func serve(t *testing.T) (*kitexopt.Running, string) {
	t.Helper()
	ln, err := kitexopt.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	run := kitexopt.Serve(copytrade.NewServer(&noopOnly{}, kitexopt.Server(ln, "copytrade", 200*time.Millisecond)...), ln)
	return run, ln.Addr().String()
}

func client(t *testing.T, addr string) copytrade.Client {
	t.Helper()
	conns := kitexopt.NewConns("copytrade")
	t.Cleanup(func() { _ = conns.Close() })
	cli, err := copytrade.NewClient("copytrade", append(kitexopt.Client(time.Second, addr), conns.Option())...)
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// waitServing calls Noop until the server answers (Run starts in the background).
func waitServing(t *testing.T, cli copytrade.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := cli.Noop(context.Background(), &ct.NoopRequest{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never answered: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServerStopClosesOnlyItsOwnDescriptors: raft-boltdb stores opened while a server
// is stopping still read and write after Stop returns. On netpoll's transport the
// listener's descriptor number was closed again 100–150 ms after it was freed, which
// destroyed whatever the process had opened on that number meanwhile ("mmap stat
// error: bad file descriptor", or a write failing later).
func TestServerStopClosesOnlyItsOwnDescriptors(t *testing.T) {
	for round := range 3 {
		run, addr := serve(t)
		waitServing(t, client(t, addr))

		stopped := make(chan error, 1)
		go func() { stopped <- run.Stop() }()
		var stores []*raftboltdb.BoltStore
		t.Cleanup(func() {
			for _, s := range stores {
				_ = s.Close()
			}
		})
		var stopErr error
		var stopAt time.Time
		for i := 0; ; i++ {
			s, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(t.TempDir(), fmt.Sprintf("raft-%d-%d.db", round, i)), NoSync: true})
			if err != nil {
				t.Fatalf("round %d: store %d opened while the server stopped: %v", round, i, err)
			}
			stores = append(stores, s)
			if stopAt.IsZero() {
				select {
				case stopErr = <-stopped:
					stopAt = time.Now()
				default:
				}
			} else if time.Since(stopAt) > 300*time.Millisecond || len(stores) > 400 {
				break // past the window in which a late close used to land
			}
		}
		if stopErr != nil {
			t.Fatalf("round %d: Stop: %v", round, stopErr)
		}
		for i, s := range stores {
			log := &raft.Log{Index: 1, Term: 1, Type: raft.LogCommand, Data: []byte("entry")}
			if err := s.StoreLog(log); err != nil {
				t.Fatalf("round %d: store %d: write after Stop: %v", round, i, err)
			}
			var got raft.Log
			if err := s.GetLog(1, &got); err != nil || string(got.Data) != "entry" {
				t.Fatalf("round %d: store %d: read after Stop: %q, %v", round, i, got.Data, err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("round %d: store %d: close: %v", round, i, err)
			}
		}
		stores = nil
	}
}

// TestStopBeforeRunReturns: Stop right after Serve, before Kitex's Run has built its
// transport, returns and leaves nothing serving. Kitex's own Stop did nothing then and
// Run went on serving forever, so whoever waited on Run hung.
func TestStopBeforeRunReturns(t *testing.T) {
	for i := range 20 {
		run, addr := serve(t)
		done := make(chan error, 1)
		go func() { done <- run.Stop() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("try %d: Stop: %v", i, err)
			}
		case <-time.After(5 * time.Second): // it returns in milliseconds; this only bounds a hang
			t.Fatalf("try %d: Stop did not return", i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := client(t, addr).Noop(ctx, &ct.NoopRequest{})
		cancel()
		if err == nil {
			t.Fatalf("try %d: a stopped server answered", i)
		}
	}
}

// TestKillAnswersNothingMore: after Kill, a client whose pooled connection was open
// gets no answer: the server closed every connection it accepted, as a crash would.
func TestKillAnswersNothingMore(t *testing.T) {
	run, addr := serve(t)
	cli := client(t, addr)
	waitServing(t, cli) // leaves a pooled connection open
	if err := run.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := run.Stop(); err != nil { // a later Stop returns Kill's result
		t.Fatal(err)
	}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Noop(ctx, &ct.NoopRequest{})
		cancel()
		if err == nil {
			t.Fatalf("call %d answered after Kill", i)
		}
	}
}

// TestStopIsClean: a graceful Stop with idle pooled connections open returns no error
// (the exit wait running out on idle connections is not a failure) and closes them.
func TestStopIsClean(t *testing.T) {
	run, addr := serve(t)
	cli := client(t, addr)
	waitServing(t, cli)
	if err := run.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := cli.Noop(ctx, &ct.NoopRequest{}); err == nil {
		t.Fatal("answered after Stop")
	}
	if errors.Is(run.Stop(), kitexopt.ErrStopTimeout) {
		t.Fatal("second Stop reports a timeout")
	}
}
