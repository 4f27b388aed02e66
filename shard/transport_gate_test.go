package shard

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestHeartbeatGateDrainsBeforeStoresClose: a heartbeat raft is handling when the node
// stops holds closeHeartbeats until it is done (so the stores are still open under it),
// and a heartbeat arriving after it is refused without reaching raft. Without the gate,
// raft wrote the current term of a late heartbeat into a closed bolt store and panicked.
func TestHeartbeatGateDrainsBeforeStoresClose(t *testing.T) {
	newTrans := func() *raft.NetworkTransport {
		tr, err := raft.NewTCPTransport("127.0.0.1:0", nil, 2, 2*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	srv := &gatedTransport{NetworkTransport: newTrans()}
	cli := newTrans()

	var calls atomic.Int32
	entered, release := make(chan struct{}, 4), make(chan struct{})
	srv.SetHeartbeatHandler(func(rpc raft.RPC) {
		calls.Add(1)
		entered <- struct{}{}
		<-release
		rpc.Respond(&raft.AppendEntriesResponse{Term: 1, Success: true}, nil)
	})
	heartbeat := func() error {
		req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{Addr: cli.EncodePeer("c", cli.LocalAddr())}, Term: 1}
		var resp raft.AppendEntriesResponse
		return cli.AppendEntries("s", srv.LocalAddr(), req, &resp)
	}

	first := make(chan error, 1)
	go func() { first <- heartbeat() }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the heartbeat never reached the handler")
	}
	closed := make(chan struct{})
	go func() { srv.closeHeartbeats(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("closeHeartbeats returned while a heartbeat was still being handled")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("closeHeartbeats did not return after the heartbeat finished")
	}
	if err := <-first; err != nil {
		t.Fatalf("the heartbeat in progress was not answered: %v", err)
	}
	if err := heartbeat(); err == nil {
		t.Fatal("a heartbeat after closeHeartbeats was answered as a success")
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the handler ran %d times, want 1 (none after the gate closed)", n)
	}
}
