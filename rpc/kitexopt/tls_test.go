package kitexopt_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
)

// peerEcho answers GetTrader with the caller's certificate identity.
type peerEcho struct{ ct.CopyTrade }

func (peerEcho) GetTrader(ctx context.Context, req *ct.GetTraderRequest) (*ct.GetTraderResponse, error) {
	id, ok := tlsconf.PeerFrom(ctx)
	if !ok {
		return nil, errors.New("no peer identity")
	}
	return &ct.GetTraderResponse{Trader: &ct.Trader{Trader: req.Trader, Reason: id.String()}}, nil
}

// TestKitexMutualTLS: a Kitex server and client over Go-net with mutual TLS; the
// server's handlers see the caller's certificate identity; a client without a
// certificate, with another CA's, or one that does not trust the server gets nowhere.
func TestKitexMutualTLS(t *testing.T) {
	ca := tlstest.MustCA("deployment")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvStore := ca.Store(tlsconf.RoleIdentity("router", "r1"))
	ln := kitexopt.TLSListener(raw, srvStore, nil)
	svr := copytrade.NewServer(&peerEcho{}, append(kitexopt.Server(ln, "copytrade", 100*time.Millisecond), kitexopt.TLSServer(ln)...)...)
	go func() { _ = svr.Run() }()
	t.Cleanup(func() { _ = svr.Stop() })
	addr := raw.Addr().String()

	call := func(store *tlsconf.Store, check tlsconf.Check) (*ct.GetTraderResponse, error) {
		cli, err := copytrade.NewClient("copytrade", append(kitexopt.Client(time.Second, addr), kitexopt.TLSClient(store, check)...)...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cli.GetTrader(ctx, &ct.GetTraderRequest{Trader: 7})
	}
	wantRouter := func(id tlsconf.Identity) error {
		if id != tlsconf.RoleIdentity("router", "r1") {
			return errors.New("not router r1")
		}
		return nil
	}
	var resp *ct.GetTraderResponse
	deadline := time.Now().Add(10 * time.Second)
	for { // the server starts in the background
		resp, err = call(ca.Store(tlsconf.RoleIdentity("admin", "ops")), wantRouter)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || resp.Trader.Reason != "admin ops" {
		t.Fatalf("valid client: %v %+v", err, resp)
	}
	if _, err := call(tlstest.MustCA("other").Store(tlsconf.RoleIdentity("admin", "ops")), nil); err == nil {
		t.Error("a client of another CA was served")
	}
	if _, err := call(ca.Store(tlsconf.RoleIdentity("admin", "ops")), func(tlsconf.Identity) error { return errors.New("no") }); err == nil {
		t.Error("a client that refuses the server's identity went on")
	}
	// A client with no certificate: plain Kitex over TCP to the TLS port.
	cli, err := copytrade.NewClient("copytrade", kitexopt.Client(time.Second, addr)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := cli.GetTrader(ctx, &ct.GetTraderRequest{Trader: 7}); err == nil {
		t.Error("a plaintext client was served")
	}
}
